#!/usr/bin/env python3
"""A stand-in for the user's browser, for ``$BROWSER`` in sign-in integration tests.

Python's :mod:`webbrowser` runs ``$BROWSER`` (no shell) with ``%s`` replaced by the URL and
waits for it to exit, so this script does the user's part over plain HTTP (httpx, no
JavaScript) and finishes promptly::

    BROWSER="<venv python> <this file> %s"     # see browser_command()

It opens the authorization URL and walks the server's pages as a user without JavaScript
would: it follows redirects (keeping cookies for the run) and submits each form it meets
(the consent form of the test authorization server, ``tests/support/authserver/``; the
sign-in page of the interoperability tier's ``oidc-provider``, ``tests/interop/oidc_server.mjs``;
``oidc-provider``'s auto-submitting form_post pages), until a redirect points at the sign-in's
``redirect_uri`` (the authorization URL's query parameter); it visits that callback.  A page
with no form to submit, or whose form it has already submitted (the same page again), is
where the user is stuck: it is the final page.  On a form, "allow" and "deny" click the
button named ``confirm`` with that value (``yes``/``no``); "deny" clicks an ``abort`` button
where there is no such ``confirm`` button (``oidc-provider``'s device confirmation page).
``FAKE_BROWSER_MODE`` picks the user's behaviour:

========== ==================================================================================
approve    (default) allow, then visit the callback
deny       deny (the server redirects with ``error=access_denied``), then visit the callback
tamper-state  allow, change ``state`` in the callback URL, visit it
drop-state allow, remove ``state`` from the callback URL, visit it
forged-first  allow, visit the callback with a forged ``state`` and ``code``, then the real one
twice      allow, visit the callback, then visit the same URL again
wrong-path allow, visit ``/other`` (same host, port and query) instead, and stop there
never      record the URL and do nothing else (the user never comes back)
device     the URL is a verification URI: fill in the user code (``FAKE_BROWSER_USER_CODE``,
           else the URL's ``user_code`` query parameter) where a form asks for it, and allow
           on every page until one with no form left (the server's result page)
device-deny  the same, but deny
========== ==================================================================================

Other environment variables: ``FAKE_BROWSER_LOG`` (file to append one JSON line per run
to; nothing is logged without it), ``FAKE_BROWSER_USER`` (sign in as this user instead of
the server's default: sent as ``username`` with every form), ``FAKE_BROWSER_TIMEOUT``
(seconds per request, default 10).  A run takes at most ``MAX_STEPS`` requests before the
callback.

The log line holds the URL opened, every request made (method, URL, status), each callback
visit (URL, status, body) and the final page the user saw (status, HTML and its text). It is
the only output: nothing is written to stdout, and stderr gets at most an exception class
name (URLs carry the authorization code, so they are never printed).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

MODES = (
    "approve",
    "deny",
    "tamper-state",
    "drop-state",
    "forged-first",
    "twice",
    "wrong-path",
    "never",
    "device",
    "device-deny",
)
BODY_LIMIT = 100_000
"""Characters of a page body kept in the log."""
MAX_STEPS = 20
"""Requests (redirects followed and forms submitted) a run makes before it gives up."""


def browser_command(python: str = sys.executable) -> str:
    """The ``$BROWSER`` value that runs this script with ``python``."""
    return f"{shlex.quote(python)} {shlex.quote(str(Path(__file__).resolve()))} %s"


def read_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All runs recorded in a ``FAKE_BROWSER_LOG`` file, oldest first (``[]`` if none)."""
    log = Path(path)
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Page:
    """A response as the user saw it."""

    url: str
    status: int | None
    body: str = ""
    text: str = ""
    error: str | None = None


@dataclass
class Run:
    """Everything one invocation did; written to the log as one JSON object."""

    mode: str
    url: str
    started: float = field(default_factory=time.time)
    requests: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[Page] = field(default_factory=list)
    final: Page | None = None
    error: str | None = None


class _FormParser(HTMLParser):
    """The first ``<form>`` of a page: its action, method, named fields, and the named
    buttons that submit it (inside it, or outside it naming its id with ``form=``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = False
        self.done = False
        self.action = ""
        self.method = "get"
        self.id = ""
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self._outside: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and not self.found:
            self.found = True
            self.action = values.get("action", "")
            self.method = values.get("method", "get").lower()
            self.id = values.get("id", "")
        elif tag in ("button", "input") and values.get("name") and self._is_submit(tag, values):
            button = (values["name"], values.get("value", ""))
            if self.found and not self.done and "form" not in values:
                self.buttons.append(button)
            elif "form" in values:
                self._outside.append((values["form"], *button))
        elif self.found and not self.done and tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")

    @staticmethod
    def _is_submit(tag: str, values: dict[str, str]) -> bool:
        kind = values.get("type", "submit" if tag == "button" else "text").lower()
        return kind == "submit" or (tag == "input" and kind == "button")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.found:
            self.done = True

    def close(self) -> None:
        super().close()
        if self.id:
            self.buttons += [(name, value) for form, name, value in self._outside if form == self.id]

    def key(self, url: str) -> tuple[str, str, tuple[str, ...]]:
        """What makes two forms the same form: where it posts and which fields it has."""
        return (self.method, urljoin(url, self.action or url), tuple(sorted(self.fields)))


class _TextParser(HTMLParser):
    """The visible text of a page, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def page_text(body: str) -> str:
    """The text a user would read on an HTML (or plain text) page."""
    parser = _TextParser()
    parser.feed(body)
    parser.close()
    return parser.text()


class Browser:
    """Does the user's part of one sign-in."""

    def __init__(self, run: Run, timeout: float, user: str | None) -> None:
        self.run = run
        self.user = user
        self.http = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        response = self.http.request(method, url, data=data)
        self.run.requests.append({"method": method, "url": url, "status": response.status_code})
        return response

    def see(self, response: httpx.Response) -> Page:
        body = response.text[:BODY_LIMIT]
        page = Page(url=str(response.url), status=response.status_code, body=body, text=page_text(body))
        self.run.final = page
        return page

    def submit_form(
        self, response: httpx.Response, form: _FormParser, choice: str, user_code: str | None
    ) -> httpx.Response:
        """Fill in ``form`` as the user would and press the button for ``choice`` (yes/no)."""
        data = dict(form.fields)
        if user_code is not None and "user_code" in data:
            data["user_code"] = user_code
        if self.user is not None:
            data["username"] = self.user
        confirm = [value for name, value in form.buttons if name == "confirm"]
        abort = next((value for name, value in form.buttons if name == "abort"), None)
        if choice in confirm:
            data["confirm"] = choice
        elif choice == "no" and abort is not None:
            data["abort"] = abort
        action = urljoin(str(response.url), form.action or str(response.url))
        if form.method == "post":
            return self.request("POST", action, data)
        return self.request("GET", f"{action}{'&' if '?' in action else '?'}{urlencode(data)}")

    def walk(
        self, response: httpx.Response, choice: str, *, until: str | None, user_code: str | None = None
    ) -> str | None:
        """Follow redirects and submit forms from ``response`` on.  Return the first redirect
        target at the ``until`` URL (scheme, host, port and path; with ``until`` None, the
        first redirect after a form); None when the user is stuck on a page (then seen)."""
        submitted: set[tuple[str, str, tuple[str, ...]]] = set()
        for _ in range(MAX_STEPS):
            location = response.headers.get("Location")
            if response.is_redirect and location:
                target: str = urljoin(str(response.url), location)
                if (until is None and submitted) or (until is not None and _same_endpoint(target, until)):
                    return target
                response = self.request("GET", target)
                continue
            form = _FormParser()
            if response.status_code == 200 and "<form" in response.text:
                form.feed(response.text)
                form.close()
            if not form.found or form.key(str(response.url)) in submitted:
                self.see(response)  # a result or an error page: the user is stuck here
                return None
            submitted.add(form.key(str(response.url)))
            response = self.submit_form(response, form, choice, user_code)
        self.see(response)
        raise RuntimeError(f"no end after {MAX_STEPS} requests")

    def visit_callback(self, url: str) -> Page:
        """The loopback callback: follow its redirects; a refused connection is a page too."""
        try:
            response = self.http.get(url, follow_redirects=True)
        except httpx.HTTPError as error:
            page = Page(url=url, status=None, error=type(error).__name__)
            self.run.requests.append({"method": "GET", "url": url, "status": None, "error": page.error})
            self.run.callbacks.append(page)
            self.run.final = page
            return page
        self.run.requests.append({"method": "GET", "url": url, "status": response.status_code})
        page = self.see(response)
        self.run.callbacks.append(page)
        return page

    def sign_in(self, mode: str) -> None:
        redirect_uri = dict(parse_qsl(urlsplit(self.run.url).query)).get("redirect_uri")
        response = self.request("GET", self.run.url)
        if redirect_uri is None and not (response.status_code == 200 and "<form" in response.text):
            # No redirect_uri to recognise the callback by, and no form first: the first
            # redirect is the callback.
            location = response.headers.get("Location")
            if not response.is_redirect or not location:
                self.see(response)
                return
            callback: str | None = urljoin(str(response.url), location)
        else:
            callback = self.walk(response, "no" if mode == "deny" else "yes", until=redirect_uri)
        if callback is None:
            return
        if mode == "tamper-state":
            callback = _with_query(callback, state=lambda v: "tampered-" + (v or ""))
        elif mode == "drop-state":
            callback = _with_query(callback, state=None)
        elif mode == "wrong-path":
            callback = urlunsplit(urlsplit(callback)._replace(path="/other"))
        elif mode == "forged-first":  # another page sends a forged answer before the real one comes
            self.visit_callback(_with_query(callback, state=lambda v: "forged", code=lambda v: "forged-code"))
        self.visit_callback(callback)
        if mode == "twice":
            self.visit_callback(callback)

    def approve_device(self, mode: str) -> None:
        user_code = os.environ.get("FAKE_BROWSER_USER_CODE") or dict(parse_qsl(urlsplit(self.run.url).query)).get(
            "user_code", ""
        )
        response = self.request("GET", self.run.url)
        self.walk(response, "no" if mode == "device-deny" else "yes", until=_NOWHERE, user_code=user_code)


_NOWHERE = "about:nowhere"
"""A device sign-in has no callback: its walk ends on the server's result page."""


def _same_endpoint(url: str, endpoint: str) -> bool:
    """Whether ``url`` is at ``endpoint`` (scheme, host, port and path; the query aside)."""
    a, b = urlsplit(url), urlsplit(endpoint)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


def _with_query(url: str, **changes: Any) -> str:
    """``url`` with query parameters changed: a callable maps the old value (``None`` when
    absent) to the new one, ``None`` removes the parameter."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    for name, change in changes.items():
        old = next((value for key, value in params if key == name), None)
        params = [(key, value) for key, value in params if key != name]
        if change is not None:
            params.append((name, change(old)))
    return urlunsplit(parts._replace(query=urlencode(params)))


def _write_log(run: Run) -> None:
    path = os.environ.get("FAKE_BROWSER_LOG")
    if not path:
        return
    line = json.dumps(asdict(run), ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as log:
        log.write(line)


def main(argv: list[str]) -> int:
    """Run once for the URL in ``argv``; 0 when the user's part ran (whatever it found)."""
    mode = os.environ.get("FAKE_BROWSER_MODE", "approve") or "approve"
    if len(argv) != 1:
        print("usage: fake_browser.py URL", file=sys.stderr)
        return 2
    run = Run(mode=mode, url=argv[0])
    if mode not in MODES:
        run.error = f"unknown FAKE_BROWSER_MODE (one of {', '.join(MODES)})"
        _write_log(run)
        print(f"fake_browser: {run.error}", file=sys.stderr)
        return 2
    if mode == "never":
        _write_log(run)
        return 0
    browser = Browser(
        run,
        timeout=float(os.environ.get("FAKE_BROWSER_TIMEOUT") or 10),
        user=os.environ.get("FAKE_BROWSER_USER") or None,
    )
    try:
        if mode in ("device", "device-deny"):
            browser.approve_device(mode)
        else:
            browser.sign_in(mode)
    except (httpx.HTTPError, RuntimeError) as error:
        run.error = type(error).__name__ + (f": {error}" if isinstance(error, RuntimeError) else "")
        print(f"fake_browser: {type(error).__name__}", file=sys.stderr)
    finally:
        browser.close()
        _write_log(run)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
