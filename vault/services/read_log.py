"""Who read which token (issue 36): every token the agent hands out is audited with its reader.

The agent learns each client's pid from its socket; :meth:`ReadLog.note` keeps one row per
credential read (``read``/``served``, ``op=token reader=python3 sync.py (pid 4242)``), and
:meth:`ReadLog.flush` writes what has gathered in one transaction, from the agent's
housekeeping (once a second) and before it locks: a read costs the reader no disk write (a
``tokendeck token`` answered from memory stays fast), and the audit has every read within a
second.  A vault that cannot be written keeps the rows for the next flush, up to
:data:`PENDING_LIMIT`; past that the oldest are dropped, and the next flush says how many.

The reader is named by :meth:`vault.core.peers.Peer.brief`: its command line cut short, any
secret-shaped word masked; a process that is already gone is named by its pid alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vault.core.repository import Repository
from vault.errors import VaultError

PENDING_LIMIT = 10_000
"""Rows kept while the vault cannot be written."""


@dataclass(frozen=True)
class Read:
    action: str
    outcome: str
    credential: str | None
    detail: str
    at: float
    """When it was read: the row keeps that time, however late the flush."""


def reader_of(pid: int | None) -> str:
    """How the audit names process ``pid``: ``python3 sync.py (pid 4242)``."""
    from vault.core.peers import peer

    if pid is None:
        return "unknown"
    found = peer(pid)
    return found.brief() if found is not None else f"pid {pid}"


class ReadLog:
    """The reads not written yet (thread-safe: the agent's workers note, its housekeeping flushes)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._pending: list[Read] = []
        self._dropped = 0
        self._lock = threading.Lock()

    def note(self, names: list[str], op: str, reader: str) -> None:
        """The agent handed ``reader`` the tokens of ``names`` for request ``op``."""
        for name in dict.fromkeys(names):
            self.add("read", "served", name, f"op={op} reader={reader}")

    def add(self, action: str, outcome: str, credential: str | None, detail: str) -> None:
        """Any audit row to write with the next flush (a forward's or a session's served read)."""
        with self._lock:
            self._pending.append(Read(action, outcome, credential, detail, self._clock()))
            over = len(self._pending) - PENDING_LIMIT
            if over > 0:
                del self._pending[:over]
                self._dropped += over

    def flush(self, records: Repository) -> int:
        """Write every pending row in one transaction (:meth:`Repository.record_many`, each at the
        time it was noted); how many were written (0 when the vault
        cannot be written now: the rows wait for the next flush)."""
        with self._lock:
            rows, self._pending = self._pending, []
            dropped, self._dropped = self._dropped, 0
        if not rows and not dropped:
            return 0
        lost = f"{dropped} reads were not audited (the vault could not be written)"
        try:
            records.record_many(
                [("read", "dropped", None, lost, self._clock())] * bool(dropped)
                + [(r.action, r.outcome, r.credential, r.detail, r.at) for r in rows]
            )
        except VaultError:
            with self._lock:
                self._pending[:0] = rows
                self._dropped += dropped
            return 0
        return len(rows)
