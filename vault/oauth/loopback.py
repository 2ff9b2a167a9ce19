"""The one-shot HTTP listener on 127.0.0.1 that receives the browser's redirect.

RFC 8252 §7.3: the redirect URI is ``http://127.0.0.1:{port}/callback`` on a
random free port (or the provider's fixed one); only the loopback interface is
bound.  A request to ``/callback`` without this sign-in's ``state`` is not its
answer (RFC 6749 §10.12, RFC 9700 §4.7): it gets an error page and is ignored,
so a forged or stale callback cannot end the sign-in the user is finishing (any
local process or web page can send one).  The first request that carries the
state decides: an ``iss`` must match when the server promises one (RFC 9207),
and an ``error`` ends the sign-in.  Every request gets a page saying what
happened; later callbacks are told the sign-in is already over.
"""

from __future__ import annotations

import html
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from string import Template
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from vault.core.providers import CALLBACK_PATH, LOOPBACK_HOST, loopback_redirect_uri
from vault.core.resources import asset
from vault.errors import SignInFailed


@dataclass(frozen=True)
class Expectation:
    """What a genuine callback for this sign-in must carry.

    Attributes:
        provider: for messages and pages.
        state: the value sent in the authorization request.
        issuer: the expected ``iss`` (RFC 9207); ``None`` when the server does
            not advertise the parameter.
    """

    provider: str
    state: str
    issuer: str | None = None


def check_callback(params: Mapping[str, str], expected: Expectation) -> str:
    """Validate a redirect's query parameters and return the authorization code.

    Used for the listener and for a pasted redirect URL alike.

    Raises:
        SignInFailed: a state mismatch, an error response, an issuer mix-up, no code.
    """
    name = expected.provider
    if params.get("state") != expected.state:
        what = "had no state" if "state" not in params else "had a state that does not match this sign-in"
        raise SignInFailed(name, "state_mismatch", f"the redirect {what} (a stale tab, or forged)")
    if expected.issuer is not None and params.get("iss") != expected.issuer:
        raise SignInFailed(name, "issuer_mismatch", "the redirect came from a different authorization server")
    if "error" in params:
        raise SignInFailed(name, params["error"][:80], params.get("error_description"))
    code = params.get("code")
    if not code:
        raise SignInFailed(name, "no_code", "the redirect carried no authorization code")
    return code


def query_params(url: str) -> dict[str, str]:
    """The query parameters of a URL (the first value of each)."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        params.setdefault(key, value)
    return params


def render(page: str, provider: str, message: str) -> bytes:
    """Fill a page from ``assets/`` with HTML-escaped text."""
    template = Template(asset(page).read_text(encoding="utf-8"))
    return template.substitute(provider=html.escape(provider), message=html.escape(message)).encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    listener: LoopbackListener


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10
    server_version = "tokendeck"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.listener._handle(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Silence: request lines carry authorization codes."""

    def send_page(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)


class LoopbackListener:
    """Listens on 127.0.0.1 for one sign-in callback.

    Args:
        expected: what the callback must carry.
        port: 0 for a random free port, or the provider's fixed port.

    Raises:
        SignInFailed: the port is taken.
    """

    def __init__(self, expected: Expectation, port: int = 0) -> None:
        self.expected = expected
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._decided = False
        self._code: str | None = None
        self._error: SignInFailed | None = None
        self._ignored: SignInFailed | None = None
        """The first callback that did not carry this sign-in's state (ignored, said at the timeout)."""
        try:
            self._server = _Server((LOOPBACK_HOST, port), _Handler)
        except OSError as exc:
            reason = "is already in use" if exc.errno in (98, 48) else f"cannot be opened ({exc.strerror})"
            raise SignInFailed(
                expected.provider,
                "port_unavailable",
                f"port {port} on {LOOPBACK_HOST} {reason}; free it or pick another",
            ) from None
        self._server.listener = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="tokendeck-loopback", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return loopback_redirect_uri(self.port)

    def start(self) -> None:
        """Start accepting; returns once the socket is listening."""
        self._thread.start()

    def wait(self, timeout: float, cancel: threading.Event | None = None) -> str:
        """Block until the callback decides the sign-in; return the authorization code.

        Raises:
            SignInFailed: the callback was refused, nothing came within ``timeout``,
                or ``cancel`` was set.
        """
        deadline = time.monotonic() + timeout
        # Short waits, so the main thread returns to Python often enough to act on
        # Ctrl-C (a signal can land on another thread and only set a flag).
        while not self._done.wait(min(0.1, max(deadline - time.monotonic(), 0.0))):
            if cancel is not None and cancel.is_set():
                raise SignInFailed(self.expected.provider, "cancelled", "the sign-in was cancelled")
            if time.monotonic() >= deadline:
                if self._ignored is not None:  # only answers that were not this sign-in's came
                    ignored = self._ignored.description or "did not match"
                    reason = f"no answer for this sign-in within {int(timeout)} s; one that came was ignored: {ignored}"
                    raise SignInFailed(self.expected.provider, self._ignored.code, reason)
                reason = (
                    f"no answer from the browser within {int(timeout)} s (an error page there, such as "
                    f"invalid_redirect_uri, means the app does not accept {self.redirect_uri})"
                )
                raise SignInFailed(self.expected.provider, "timeout", reason)
        if self._error is not None:
            raise self._error
        if self._code is None:  # unreachable: _done is set only with one of the two
            raise SignInFailed(self.expected.provider, "no_code", "the listener stopped without an answer")
        return self._code

    def close(self) -> None:
        """Stop listening; the port is released."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> LoopbackListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self, request: _Handler) -> None:
        provider = self.expected.provider
        if request.headers.get("Host", "").strip().lower() != f"{LOOPBACK_HOST}:{self.port}":
            # DNS rebinding: a page elsewhere that resolves its own name to 127.0.0.1 sends its
            # own Host.  Only the address and port this listener advertised are answered.
            request.send_page(421, render("signin-failure.html", provider, "This request was not meant for tokendeck."))
            return
        if urlsplit(request.path).path != CALLBACK_PATH:
            message = "This is tokendeck's sign-in listener; the sign-in answer goes to /callback."
            request.send_page(404, render("signin-failure.html", provider, message))
            return
        params = query_params(request.path)
        if params.get("state") != self.expected.state and not self._decided:
            try:
                check_callback(params, self.expected)
            except SignInFailed as exc:  # a state mismatch: not this sign-in's answer
                self._ignored = self._ignored or exc
                message = f"{exc.message}. It was ignored: tokendeck still waits for the sign-in it started."
                request.send_page(400, render("signin-failure.html", provider, message))
                return
        with self._lock:
            decided, self._decided = self._decided, True
        if decided:
            message = "This sign-in is already over; this extra request was ignored."
            request.send_page(409, render("signin-failure.html", provider, message))
            return
        try:
            self._code = check_callback(params, self.expected)
        except SignInFailed as exc:
            self._error = exc
            status, page, message = 400, "signin-failure.html", exc.message
        else:
            status, page, message = 200, "signin-success.html", "tokendeck received the authorization."
        try:
            request.send_page(status, render(page, provider, message))
        finally:
            self._done.set()  # after the page is out: the CLI may exit as soon as this is set


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (for ``--no-browser``, where nothing listens)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK_HOST, 0))
        return int(s.getsockname()[1])
