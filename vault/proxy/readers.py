"""Which program made a proxied request: the reader named in a proxy run's audit rows.

The proxy listens on loopback TCP, where the kernel gives no peer credentials.  The client's
end of a connection is a socket whose local port the proxy sees; the process holding it is
found among the processes below the run (:func:`vault.core.peers.loopback_client`: the run's
command and what it started, not the whole machine), once per connection, while the
connection is open (the client still holds it).  It is named as the agent names a reader
(:func:`vault.services.read_log.reader_of`), so ``tokendeck audit`` reads the same either way.
"""

from __future__ import annotations

import os

from vault.core.peers import descendants, loopback_client
from vault.services.read_log import reader_of

KEPT = 256
"""Connections remembered at most (the oldest is forgotten first)."""


class Readers:
    """The reader of each connection of one run, looked up on its first event."""

    def __init__(self, root: int | None = None) -> None:
        self._root = os.getpid() if root is None else root
        self._known: dict[int, str | None] = {}

    def of(self, connection: int, port: int | None) -> str | None:
        """The program at the client end of ``connection`` (its local ``port``), or None if unknown."""
        if port is None:
            return None
        if connection in self._known:
            return self._known[connection]
        pid = loopback_client(port, descendants(self._root))
        reader = reader_of(pid) if pid is not None else None
        if len(self._known) >= KEPT:
            self._known.pop(next(iter(self._known)))
        self._known[connection] = reader
        return reader
