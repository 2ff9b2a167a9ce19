"""HTTP for the OAuth code: one httpx2 transport with a response cap and one deadline.

Every exchange goes through :class:`CappedTransport`, so a provider (or anything
pretending to be one) cannot make tokendeck read an unbounded body, nor keep it
waiting past one deadline (:data:`~vault.settings.PROVIDER_TIMEOUT`, from connecting
to the last byte): httpx2's timeouts count each read on its own, so a server that
drips its answer a byte at a time would otherwise hold a reader for minutes.  The
deadline reaches every socket operation through the connection pool's network
backend (:class:`DeadlineBackend`), each read waiting at most what is left of it.
Tests swap the transport for ``httpx2.MockTransport`` or point at a loopback
server; nothing here knows which.

httpx2 (pydantic's maintained fork of httpx, with its connection layer httpcore2) is
the one HTTP stack of the product: the MCP SDK that ``mcp-bridge`` is built on requires
it, so the OAuth code uses it too (docs/dependencies.md).  What tokendeck trusts for TLS
did not change with it: :func:`ssl_context` is what httpx's default was.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore2
import httpx2

from vault.core.outside import TooDeep, Unparsable, load_json
from vault.errors import ProviderError
from vault.settings import PROVIDER_CONNECT_TIMEOUT, PROVIDER_TIMEOUT

MAX_RESPONSE_BYTES = 1024 * 1024
"""No token, discovery or identity response is legitimately bigger than this."""

TIMEOUT = httpx2.Timeout(PROVIDER_TIMEOUT, connect=PROVIDER_CONNECT_TIMEOUT)
USER_AGENT = "tokendeck/0.1 (+https://github.com/tokendeck)"


class ResponseTooLarge(httpx2.TransportError):
    """The body went past :data:`MAX_RESPONSE_BYTES`."""


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process (building one costs tens of milliseconds): the
    CA file ``SSL_CERT_FILE`` or directory ``SSL_CERT_DIR`` names, else certifi's Mozilla
    bundle.  That is httpx's default, which the OAuth code has always used; httpx2's own
    default would be the operating system's store instead (truststore on macOS and Windows,
    OpenSSL's paths on Linux), so a provider call trusts the same CAs as before the move."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def connection_pool() -> httpx2.HTTPTransport:
    """httpx2's transport as tokendeck uses it: verified TLS, proxies from the environment, no
    retries, and every socket operation bounded by the exchange's deadline."""
    transport = httpx2.HTTPTransport(retries=0, verify=ssl_context(), trust_env=True)
    pool = getattr(transport, "_pool", None)  # httpcore2's pool: its backend opens every connection
    backend = getattr(pool, "_network_backend", None)
    if pool is not None and isinstance(backend, httpcore2.NetworkBackend):
        pool._network_backend = DeadlineBackend(backend)
    return transport


_deadline = threading.local()
"""The deadline (``time.monotonic()``) of the exchange this thread is in, if any: a request's
reads and writes all happen on the thread that sent it."""


class DeadlinePassed(httpcore2.ReadTimeout):
    """The exchange's one deadline passed (a timeout: httpx2 says ``ReadTimeout``)."""


def _left(timeout: float | None, error: type[httpcore2.TimeoutException]) -> float | None:
    """``timeout``, shortened to what is left of this thread's exchange deadline."""
    at: float | None = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error(f"no complete answer within {PROVIDER_TIMEOUT:g} s")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore2.NetworkStream):
    """A connection whose every read and write waits at most what is left of the deadline."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, DeadlinePassed))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore2.ConnectTimeout))
        return DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore2.NetworkBackend):
    """httpcore2's network backend, each connection a :class:`DeadlineStream`."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        left = _left(timeout, httpcore2.ConnectTimeout)
        return DeadlineStream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        left = _left(timeout, httpcore2.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Within:
    """Holds this thread's exchange deadline while a request is sent and its body read."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __enter__(self) -> None:
        self._outer = getattr(_deadline, "at", None)
        _deadline.at = self.at if self._outer is None else min(self.at, self._outer)

    def __exit__(self, *exc: object) -> None:
        _deadline.at = self._outer


class CappedStream(httpx2.SyncByteStream):
    """A response body that refuses to go past ``cap`` bytes, or past the exchange's deadline,
    as it is read."""

    def __init__(self, inner: httpx2.SyncByteStream, cap: int, request: httpx2.Request, deadline: float) -> None:
        self._inner = inner
        self._cap = cap
        self._request = request
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        with _Within(self._deadline):
            for chunk in self._inner:
                size += len(chunk)
                if size > self._cap:
                    raise ResponseTooLarge(f"response body over {self._cap} bytes", request=self._request)
                if time.monotonic() > self._deadline:
                    raise httpx2.ReadTimeout(f"no complete answer within {PROVIDER_TIMEOUT:g} s", request=self._request)
                yield chunk

    def close(self) -> None:
        self._inner.close()


class CappedTransport(httpx2.BaseTransport):
    """Wraps a transport so that no response body can be read past ``cap`` bytes, and no
    exchange go on past ``deadline`` seconds from its start: the client reads the body as it
    always does, through :class:`CappedStream` (no second response object, no copy of the body)."""

    def __init__(
        self, inner: httpx2.BaseTransport | None = None, cap: int = MAX_RESPONSE_BYTES, deadline: float | None = None
    ) -> None:
        self._inner = inner or connection_pool()
        self._cap = cap
        self._seconds = PROVIDER_TIMEOUT if deadline is None else deadline

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        deadline = time.monotonic() + self._seconds
        with _Within(deadline):
            response = self._inner.handle_request(request)
        if response.is_stream_consumed:  # a body given whole (httpx2 reads those at once): measure it
            if len(response.content) > self._cap:
                raise ResponseTooLarge(f"response body over {self._cap} bytes", request=request)
        else:
            response.stream = CappedStream(response.stream, self._cap, request, deadline)  # type: ignore[arg-type]
        return response

    def close(self) -> None:
        self._inner.close()


class KeepAliveTransport(httpx2.BaseTransport):
    """One pool of keep-alive connections for everything a long-lived vault asks its providers
    (the agent's and the TUI's refreshes): the clients built on it come and go, and closing one
    leaves the pool open; :meth:`shutdown` closes it.  Thread-safe, as httpx2's pool is.

    A background run of 500 refreshes against one token endpoint then opens a handful of
    connections (TLS handshakes included), not 500.  Idle connections are dropped after
    httpx2's keep-alive expiry."""

    def __init__(self) -> None:
        self._inner = connection_pool()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Kept open: a client built on the pool is closing, not its owner."""

    def shutdown(self) -> None:
        self._inner.close()


def client_kwargs(transport: httpx2.BaseTransport | None = None) -> dict[str, Any]:
    """The settings every tokendeck HTTP client uses (for Authlib's client too)."""
    return {
        "transport": CappedTransport(transport),
        "timeout": TIMEOUT,
        "headers": {"User-Agent": USER_AGENT},
        "follow_redirects": False,
        "trust_env": True,
    }


def basic_auth(client_id: str, client_secret: str) -> str:
    """An ``Authorization: Basic`` value per RFC 6749 §2.3.1: form-encode, then Base64."""
    import base64
    from urllib.parse import quote_plus

    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def new_client(transport: httpx2.BaseTransport | None = None) -> httpx2.Client:
    return httpx2.Client(**client_kwargs(transport))


def shared_client(transport: httpx2.BaseTransport | None = None) -> httpx2.Client:
    """One client for every refresh of a vault's credentials, from any thread (httpx2 clients
    are thread-safe): it keeps no cookies, so no credential's request carries another's."""
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    return httpx2.Client(**client_kwargs(transport), cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])))


def describe_failure(exc: httpx2.HTTPError) -> str:
    """A short, secret-free reason for a failed request."""
    if isinstance(exc, ResponseTooLarge):
        return "response too large"
    if isinstance(exc, httpx2.TimeoutException):
        return f"no complete answer within {PROVIDER_TIMEOUT:g} s"
    if isinstance(exc, httpx2.ConnectError):
        return "could not connect"
    return type(exc).__name__


def json_object(response: httpx2.Response, provider: str, what: str) -> dict[str, Any]:
    """The body as a JSON object (:func:`vault.core.outside.load_json`: nesting bounded), or a
    ProviderError that says what came instead."""
    try:
        data = load_json(response.content)
    except Unparsable as exc:
        kind = response.headers.get("content-type", "unknown type").split(";")[0]
        if isinstance(exc, TooDeep):
            reason = f"{what} {exc.reason}"
        else:
            reason = f"{what} is not JSON (HTTP {response.status_code}, {kind})"
        raise ProviderError(provider, "bad_response", reason) from None
    if not isinstance(data, dict):
        raise ProviderError(provider, "bad_response", f"{what} is a JSON {type(data).__name__}, not an object")
    return data


def get_json(
    client: httpx2.Client,
    url: str,
    provider: str,
    what: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """Request ``url`` and return its JSON object; HTTP errors become ProviderError."""
    try:
        response = client.request(method, url, headers=headers, content=body)
    except httpx2.HTTPError as exc:
        raise ProviderError(provider, "network", f"{what}: {describe_failure(exc)}") from None
    if response.status_code >= 400:
        raise ProviderError(provider, f"http_{response.status_code}", f"{what} failed")
    return json_object(response, provider, what)
