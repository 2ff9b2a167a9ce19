"""The two proxy.py plugins the engine runs: TLS interception with our certificates, and the rules.

`Interceptor` is proxy.py's own HttpProxyPlugin with three seams changed: the upstream address
(a test maps a provider's hostname to loopback), the leaf certificate (ours, from memory files, not
proxy.py's `openssl` shell-out into a directory), and nothing else. `Placeholders` holds the rules:
the proxy's own credentials on every connection, and the placeholder swapped for the token only on
an HTTPS request to a host the credential is for.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import itertools
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from proxy.common.utils import build_http_response
from proxy.core.connection import TcpServerConnection
from proxy.http.exception import HttpRequestRejected, ProxyAuthenticationFailed, ProxyConnectionFailed
from proxy.http.handler import HttpProtocolHandler
from proxy.http.proxy import HttpProxyBasePlugin, HttpProxyPlugin

from vault.errors import NeedsSignIn, VaultError
from vault.proxy.engine_events import ProxyEvent, Rule
from vault.services.proxy_hosts import host_allowed

if TYPE_CHECKING:
    from proxy.http.parser import HttpParser

    from vault.proxy.engine_certs import LeafCertificates

logging.getLogger("proxy").setLevel(logging.CRITICAL)  # the engine's own log lines name hosts and errors


@dataclass(frozen=True)
class RunConfig:
    """What one run's plugins share (carried on proxy.py's flags, which every plugin gets)."""

    rules: Mapping[str, Rule]
    token_for: Callable[[str, str], str]
    on_event: Callable[[ProxyEvent], None]
    proxy_credentials: bytes  # user:password, as Basic carries them
    certificates: LeafCertificates
    resolve: Mapping[str, tuple[str, int]]


def _config(flags: Any) -> RunConfig:
    config = flags.tokendeck_run
    if not isinstance(config, RunConfig):
        raise TypeError("proxy.py's flags lack this run's configuration")
    return config


class Interceptor(HttpProxyPlugin):
    """proxy.py's HTTP proxy, with the leaf certificates and upstream addresses of this run."""

    def connect_upstream(self) -> None:
        host = (self.request.host or b"").decode("ascii", "replace").lower()
        target = _config(self.flags).resolve.get(host)
        if target is None:
            super().connect_upstream()
            self._no_delay()
            return
        port = self.request.port or 443
        self.upstream = TcpServerConnection(host, port)
        try:
            self.upstream.connect(addr=target)
        except OSError as e:
            raise ProxyConnectionFailed(host, port, type(e).__name__) from None
        self.upstream.connection.setblocking(False)
        self._no_delay()

    def _no_delay(self) -> None:
        """Each write goes out at once, as proxy.py's own listener sets for the client side: an answer
        forwarded in two pieces would otherwise wait on a delayed ACK (about 40 ms)."""
        if self.upstream is not None:
            with contextlib.suppress(OSError):
                self.upstream.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def wrap_server(self) -> bool:
        """TLS to the upstream, its certificate verified; when that fails, the client is told why in a 502
        (proxy.py closed the tunnel without a word: curl said only "Proxy CONNECT aborted") and gets no
        certificate of ours."""
        teardown = super().wrap_server()
        if teardown:
            host = (self.request.host or b"").decode("ascii", "replace").lower()
            why = f"tokendeck proxy: TLS to {host} failed or its certificate could not be verified; nothing was sent"
            answer = build_http_response(
                502,
                reason=b"Upstream TLS not verified",
                headers={b"Content-Type": b"text/plain; charset=utf-8"},
                body=why.encode() + b"\n",
                conn_close=True,
            )
            self.client.buffer.clear()  # the "200 Connection established" queued before the handshake
            self.client._num_buffer = 0  # noqa: SLF001 - proxy.py 2.4.10 counts its queue beside it
            with contextlib.suppress(OSError):  # a few hundred bytes on a socket that has sent nothing yet
                self.client.connection.sendall(answer)
        return teardown

    def generate_upstream_certificate(self, certificate: dict[str, Any]) -> str:
        host = (self.request.host or b"").decode("ascii", "replace").lower()
        return _config(self.flags).certificates.cert_path(host)


def _method_path(request: HttpParser) -> tuple[str, str]:
    method = (request.method or b"").decode("ascii", "replace")
    path = (request.path or b"/").decode("ascii", "replace")
    if "://" in path:  # a plain-HTTP request line carries the whole URL
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    return method, path.split("?", 1)[0].split("#", 1)[0]


def _swap(value: bytes, placeholder: bytes, token: bytes) -> bytes | None:
    """value with the placeholder replaced where clients put tokens, or None when it is not there."""
    if value == placeholder:
        return token
    scheme, _, rest = value.partition(b" ")
    lowered = scheme.lower()
    if lowered in (b"bearer", b"token") and rest.strip() == placeholder:
        return scheme + b" " + token
    if lowered == b"basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        user, colon, password = decoded.partition(b":")
        if colon and placeholder in (user, password):
            user = token if user == placeholder else user
            password = token if password == placeholder else password
            return scheme + b" " + base64.b64encode(user + b":" + password)
    return None


def _basic_credentials(value: bytes) -> bytes:
    """user:password from a Basic header value (scheme in any case), or b"" when it is not one."""
    scheme, _, rest = value.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return b""
    try:
        return base64.b64decode(rest.strip(), validate=True)
    except (binascii.Error, ValueError):
        return b""


def _mentions(request: HttpParser, placeholder: bytes) -> bool:
    if placeholder in (request.path or b""):
        return True
    for key, (_, value) in (request.headers or {}).items():
        if key == b"proxy-authorization":
            continue
        if placeholder in value:
            return True
        if value[:6].lower() == b"basic ":
            try:
                if placeholder in base64.b64decode(value[6:].strip(), validate=True):
                    return True
            except (binascii.Error, ValueError):
                continue
    return False


_CONNECTIONS = itertools.count(1)


class Placeholders(HttpProxyBasePlugin):
    """The proxy's own credentials, and each placeholder swapped only where its credential may go."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tunnel_host: str | None = None
        self._watch: list[tuple[str, str, str, str]] = []  # the last request's tokens: whose, where
        self._serial = next(_CONNECTIONS)  # names this connection in its events (ports are reused)

    def _emit(self, event: ProxyEvent) -> None:
        """Tell the run, with the local port of the client's end (which names the process asking)."""
        addr = getattr(self.client, "addr", None)
        port = addr[1] if isinstance(addr, tuple) and len(addr) > 1 and isinstance(addr[1], int) else None
        _config(self.flags).on_event(replace(event, client_port=port, connection=self._serial))

    def _refuse(self, event: ProxyEvent, why: str, status: int = 403) -> HttpRequestRejected:
        self._emit(event)
        body = (why + "\n").encode()
        reason = b"Forbidden"
        return HttpRequestRejected(
            status_code=status, reason=reason, headers={b"Content-Type": b"text/plain; charset=utf-8"}, body=body
        )

    def _check_proxy_auth(self, request: HttpParser) -> None:
        config = _config(self.flags)
        got = request.header(b"proxy-authorization") if request.has_header(b"proxy-authorization") else b""
        if not hmac.compare_digest(_basic_credentials(got), config.proxy_credentials):
            host = (request.host or b"").decode("ascii", "replace").lower()
            method, path = _method_path(request)
            self._emit(ProxyEvent("unauthenticated", None, host, method, path, "no or wrong proxy credentials"))
            raise ProxyAuthenticationFailed()

    def before_upstream_connection(self, request: HttpParser) -> HttpParser | None:
        self._check_proxy_auth(request)
        if request.is_https_tunnel:
            self._tunnel_host = (request.host or b"").decode("ascii", "replace").lower()
        else:
            self._check_placeholders(request)
        return request

    def handle_client_request(self, request: HttpParser) -> HttpParser | None:
        if request.is_https_tunnel:
            return request
        if self._tunnel_host is None:
            self._check_proxy_auth(request)
        self._check_placeholders(request)
        return request

    def _check_placeholders(self, request: HttpParser) -> None:
        config = _config(self.flags)
        tls = self._tunnel_host is not None
        host = self._tunnel_host or (request.host or b"").decode("ascii", "replace").lower()
        method, path = _method_path(request)
        self._watch = []
        for placeholder, rule in config.rules.items():
            needle = placeholder.encode()
            if not _mentions(request, needle):
                continue
            if not tls:
                why = f"tokendeck proxy: refused: {rule.credential}'s token is never sent over plain http"
                raise self._refuse(ProxyEvent("refused", rule.credential, host, method, path, "plain http"), why)
            if not host_allowed(host, rule.hosts):
                why = f"tokendeck proxy: refused: {rule.credential}'s token is not allowed for {host}"
                raise self._refuse(ProxyEvent("refused", rule.credential, host, method, path, "host not allowed"), why)
            try:
                token = config.token_for(rule.credential, host).encode()
            except NeedsSignIn:  # revoked, expired: the placeholder goes as it is, and the host answers
                self._emit(ProxyEvent("unsubstituted", rule.credential, host, method, path, "needs sign-in"))
                continue
            except VaultError as exc:  # the vault locked, the credential gone: the run goes on
                why = f"tokendeck proxy: refused: no token for {rule.credential}: {exc.message}"
                event = ProxyEvent("refused", rule.credential, host, method, path, "no token")
                raise self._refuse(event, why) from None
            except Exception:  # anything else: the same, without words from inside
                why = f"tokendeck proxy: refused: no token for {rule.credential} (is the vault unlocked?)"
                raise self._refuse(  # noqa: B904 - the cause names vault internals, not for the client
                    ProxyEvent("refused", rule.credential, host, method, path, "no token"), why
                ) from None
            swapped = False
            headers = request.headers or {}
            for key, (name, value) in list(headers.items()):
                new = _swap(value, needle, token)
                if new is not None:
                    headers[key] = (name, new)
                    swapped = True
            if not swapped:
                why = f"tokendeck proxy: refused: {rule.credential}'s placeholder is only swapped in headers"
                raise self._refuse(ProxyEvent("refused", rule.credential, host, method, path, "not in a header"), why)
            self._emit(ProxyEvent("substituted", rule.credential, host, method, path, ""))
            self._watch.append((rule.credential, host, method, path))

    def handle_upstream_chunk(self, chunk: memoryview) -> memoryview:
        """The answer to a request that carried a token: a 401 or 403 is an event (the credential
        may be revoked, or lack a scope); it passes to the client as it is.  Only the first bytes
        after the request are read (a status line); a pipelined client's later answers are not."""
        if self._watch and bytes(chunk[:5]) == b"HTTP/":
            parts = bytes(chunk[:16]).split(b" ", 2)
            code = parts[1].decode("ascii", "replace") if len(parts) > 1 else ""
            if code.startswith("1") and code != "101":
                return chunk  # an interim answer (100 Continue): the final one follows
            watched, self._watch = self._watch, []
            if code in ("401", "403"):
                for credential, host, method, path in watched:
                    event = ProxyEvent("upstream-refused", credential, host, method, path, f"HTTP {code}")
                    self._emit(event)
        return chunk


class Handler(HttpProtocolHandler):
    """proxy.py's connection handler for one thread, with a teardown that always finishes.

    proxy.py's own threaded `run` skips closing its selector and event loop when its `shutdown`
    raises (a KeyError from re-registering the client socket, after an upstream's certificate
    failed verification): the thread's event loop and sockets leak. Here every step runs.
    """

    def run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            self.initialize()
            while not self.is_inactive():
                if loop.run_until_complete(self._run_once()):
                    break
        except Exception:  # noqa: S110 - a broken connection ends it; the client sees it closed
            pass
        finally:
            with contextlib.suppress(Exception):
                self.shutdown()
            if self.selector is not None:
                with contextlib.suppress(Exception):
                    self.selector.close()
            loop.close()
            with contextlib.suppress(OSError):
                self.work.connection.close()


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
