"""The werkzeug side: a quiet request handler and the connection tracking that lets close() end idle ones."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from typing import cast

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

TIMEOUT = 10.0
"""Seconds: idle keep-alive connections, and joining threads on close."""


class _Handler(WSGIRequestHandler):
    """werkzeug's handler, quiet, with bounded idle time and tracked connections."""

    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def setup(self) -> None:
        super().setup()
        cast(_TrackedServer, self.server).tracker.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_TrackedServer, self.server).tracker.discard(self.connection)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Request lines carry codes and tokens: never log them."""


class _ConnectionTracker:
    """Open client connections, so close() can end idle keep-alive handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closing = False

    def add(self, connection: socket.socket) -> None:
        with self._lock:
            if self._closing:
                _shutdown(connection)
            self._open.add(connection)

    def discard(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def close_all(self) -> None:
        with self._lock:
            self._closing = True
            for connection in self._open:
                _shutdown(connection)


def _shutdown(connection: socket.socket) -> None:
    with suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class _TrackedServer(BaseWSGIServer):
    tracker: _ConnectionTracker
