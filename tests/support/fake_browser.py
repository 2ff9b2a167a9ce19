#!/usr/bin/env python3
"""A stand-in for the user's browser, for ``$BROWSER`` in sign-in integration tests.

Python's :mod:`webbrowser` runs ``$BROWSER`` (no shell) with ``%s`` replaced by the URL and
waits for it to exit, so this script does the user's part over plain HTTP (httpx, no
JavaScript) and finishes promptly::

    BROWSER="<venv python> <this file> %s"     # see browser_command()

It opens the authorization URL, submits the consent form of the test authorization server
(``tests/support/authserver.py``), then visits the loopback callback it was redirected to.
``FAKE_BROWSER_MODE`` picks the user's behaviour:

========== ==================================================================================
approve    (default) allow, then visit the callback
deny       deny (the server redirects with ``error=access_denied``), then visit the callback
tamper-state  allow, change ``state`` in the callback URL, visit it
drop-state allow, remove ``state`` from the callback URL, visit it
twice      allow, visit the callback, then visit the same URL again
wrong-path allow, visit ``/other`` (same host, port and query) instead, and stop there
never      record the URL and do nothing else (the user never comes back)
device     the URL is a verification URI: submit the user code (``FAKE_BROWSER_USER_CODE``,
           else the URL's ``user_code`` query parameter) and allow
device-deny  the same, but deny
========== ==================================================================================

Other environment variables: ``FAKE_BROWSER_LOG`` (file to append one JSON line per run
to; nothing is logged without it), ``FAKE_BROWSER_USER`` (sign in as this user instead of
the server's default), ``FAKE_BROWSER_TIMEOUT`` (seconds per request, default 10).

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
    "twice",
    "wrong-path",
    "never",
    "device",
    "device-deny",
)
BODY_LIMIT = 100_000
"""Characters of a page body kept in the log."""


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
    """The first ``<form>`` of a page: its action, method and named fields."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = False
        self.done = False
        self.action = ""
        self.method = "get"
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and not self.found:
            self.found = True
            self.action = values.get("action", "")
            self.method = values.get("method", "get").lower()
        elif (
            self.found
            and not self.done
            and tag == "input"
            and values.get("name")
            and values.get("type", "text") not in ("submit", "button")
        ):
            self.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.found:
            self.done = True


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

    def submit_first_form(self, response: httpx.Response, fields: dict[str, str]) -> httpx.Response:
        form = _FormParser()
        form.feed(response.text)
        form.close()
        if not form.found:
            raise RuntimeError("no form on the page")
        data = {**form.fields, **fields}
        if self.user is not None:
            data["username"] = self.user
        action = urljoin(str(response.url), form.action or str(response.url))
        if form.method == "post":
            return self.request("POST", action, data)
        return self.request("GET", f"{action}{'&' if '?' in action else '?'}{urlencode(data)}")

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
        response = self.request("GET", self.run.url)
        if response.status_code == 200 and "<form" in response.text:
            response = self.submit_first_form(response, {"confirm": "no" if mode == "deny" else "yes"})
        location = response.headers.get("Location")
        if not response.is_redirect or not location:
            self.see(response)  # an error page at the server: the user is stuck here
            return
        callback = urljoin(str(response.url), location)
        if mode == "tamper-state":
            callback = _with_query(callback, state=lambda v: "tampered-" + (v or ""))
        elif mode == "drop-state":
            callback = _with_query(callback, state=None)
        elif mode == "wrong-path":
            callback = urlunsplit(urlsplit(callback)._replace(path="/other"))
        self.visit_callback(callback)
        if mode == "twice":
            self.visit_callback(callback)

    def approve_device(self, mode: str) -> None:
        user_code = os.environ.get("FAKE_BROWSER_USER_CODE") or dict(parse_qsl(urlsplit(self.run.url).query)).get(
            "user_code", ""
        )
        response = self.request("GET", self.run.url)
        self.see(response)
        if response.status_code != 200:
            return
        fields = {"user_code": user_code, "confirm": "no" if mode == "device-deny" else "yes"}
        self.see(self.submit_first_form(response, fields))


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
