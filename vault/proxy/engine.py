"""The placeholder proxy's engine: proxy.py, in this process, on loopback.

`start_proxy` listens on 127.0.0.1 (a port the kernel picks), and hands each accepted connection
to proxy.py's HttpProtocolHandler on a thread of its own (proxy.py's threaded mode, without its
acceptor processes, so `token_for` and `on_event` run in this process). Why proxy.py, and what
was measured: docs/proxy-engine.md.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from vault.core.secret import Secret
from vault.proxy.engine_certs import LeafCertificates
from vault.proxy.engine_events import ProxyEvent, Rule
from vault.proxy.engine_plugins import Handler, Interceptor, Placeholders, RunConfig, close_quietly

__all__ = ["ProxyEvent", "Rule", "RunningProxy", "start_proxy"]

_IDLE_SECONDS = 900
"""A connection with no bytes either way for this long is closed (proxy.py's default, 10 s, would cut
an idle WebSocket or event stream)."""
_JOIN_SECONDS = 5.0  # a connection's thread sees its closed socket within one select (25 ms)


class RunningProxy:
    """A started proxy: `.port` on 127.0.0.1, `.stop()` closes it and every connection through it."""

    def __init__(self, listener: socket.socket, flags: Any, certificates: LeafCertificates) -> None:
        self._listener = listener
        self._flags = flags
        self._certificates = certificates
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.port: int = listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="tokendeck-proxy", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, addr = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as proxy.py's own listener does
            with self._lock:
                if self._stopped.is_set():
                    close_quietly(conn)
                    return
                # stop's own handle on the connection: proxy.py wraps the client's TLS in a new socket
                # object that takes conn's descriptor (conn is left detached), so stop shuts this one down
                handle = conn.dup()
                work = Handler(Handler.create(conn, addr), flags=self._flags, event_queue=None, upstream_conn_pool=None)
                thread = threading.Thread(
                    target=self._serve, args=(handle, work), name="tokendeck-proxy-conn", daemon=True
                )
                self._connections[handle] = thread
            thread.start()

    def _serve(self, handle: socket.socket, work: Handler) -> None:
        try:
            work.run()
        finally:
            with self._lock:
                self._connections.pop(handle, None)
            handle.close()

    def stop(self) -> None:
        """Stops listening, closes every open connection, and forgets the leaf key and certificates."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join()
        with self._lock:
            connections = list(self._connections.items())
        for conn, _ in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for _, thread in connections:
            thread.join(_JOIN_SECONDS)
        self._certificates.close()

    def __enter__(self) -> RunningProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_UNUSED = "unused: leaf certificates come from engine_certs"
"""proxy.py intercepts only when its CA flags are set; the methods that would read them are ours."""


def _flags(parser: Any, **opts: Any) -> Any:
    """proxy.py's flags, without its side effects on this process: a root log handler, and the
    directories it makes (its data directory ~/.proxy, its certificate and cache directories)."""
    import logging
    import tempfile

    root = logging.getLogger()
    quiet = logging.NullHandler()
    root.addHandler(quiet)  # proxy.py calls logging.basicConfig, a no-op while the root has a handler
    try:
        with tempfile.TemporaryDirectory(prefix="tokendeck-proxy-") as scratch:
            args = ["--disable-http-proxy", "--threaded", "--num-acceptors", "1", "--cache-dir", scratch]
            args += ["--timeout", str(_IDLE_SECONDS)]
            flags = parser.initialize(args, data_dir=scratch, ca_cert_dir=scratch, **opts)
    finally:
        root.removeHandler(quiet)
    flags.ca_cert_dir = _UNUSED
    return flags


def start_proxy(
    *,
    ca_cert_pem: bytes,
    ca_key_pem: Secret,
    rules: Mapping[str, Rule],
    token_for: Callable[[str, str], str],
    on_event: Callable[[ProxyEvent], None],
    auth: tuple[str, str],
    upstream_cafile: str | None = None,
    resolve: Mapping[str, tuple[str, int]] | None = None,
) -> RunningProxy:
    """Starts the placeholder proxy on 127.0.0.1.

    Args:
        ca_cert_pem: the vault's proxy CA certificate (the child trusts it).
        ca_key_pem: its private key, PEM; kept in memory only.
        rules: placeholder string -> the credential and the hosts it may go to.
        token_for: the credential's current token, by name and the host the request goes to (may
            raise: the request is refused).
        on_event: told of every substitution and refusal (called on the proxy's threads).
        auth: the user name and password the child's proxy URL carries; checked on every connection.
        upstream_cafile: the CAs upstream servers are verified against (default: the system's).
        resolve: hostname -> (host, port) to connect to instead (tests: loopback stand-ins).
    """
    from proxy.common.flag import FlagParser

    certificates = LeafCertificates(ca_cert_pem=ca_cert_pem, ca_key_pem=ca_key_pem)
    try:
        user, password = auth
        config = RunConfig(
            rules={p: Rule(r.credential, frozenset(h.lower() for h in r.hosts)) for p, r in rules.items()},
            token_for=token_for,
            on_event=on_event,
            proxy_credentials=f"{user}:{password}".encode(),
            certificates=certificates,
            resolve={k.lower(): v for k, v in (resolve or {}).items()},
        )
        flags = _flags(
            FlagParser,
            plugins=[Interceptor, Placeholders],
            ca_cert_file=_UNUSED,
            ca_key_file=_UNUSED,
            ca_signing_key_file=certificates.key_path,
            ca_file=upstream_cafile,
        )
        flags.tokendeck_run = config
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
        except OSError:
            listener.close()
            raise
    except BaseException:
        certificates.close()
        raise
    return RunningProxy(listener, flags, certificates)
