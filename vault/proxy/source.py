"""Where a ``tokendeck proxy run`` gets its setup and tokens, and where its audit rows go.

The rule every command follows (:mod:`vault.cli.route`): a running, unlocked agent for this vault
does the vault's work (:class:`AgentSource`: no passphrase asked again), else the vault is opened
here (:class:`LocalSource`).  Either way the work itself is :mod:`vault.services.proxying` and
the agent's ``token`` request (:meth:`Vault.token <vault.services.tokens.Vault.token>`: refreshed
when due, once across processes).  A token is asked for on every request that needs one: nothing
is kept, so a revoke or a new sign-in counts from the next request.

The audit rows are written off the proxy's threads by one :class:`AuditWriter`: a queue, drained
by a thread of its own in batches (one commit each), flushed when the run ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from vault.errors import VaultLocked
from vault.services.proxying import Allowed, ProxySetup, Row

if TYPE_CHECKING:
    from vault.services.tokens import Vault

BATCH = 200
"""Audit rows per write at most (well inside the agent's request limit)."""
RETRY_SECONDS = 1.0
"""How soon rows that could not be written (the agent locked, the vault busy) are tried again."""


class AgentSource:
    """The agent does the vault's work (:meth:`start` says whether one can)."""

    def __init__(self, setup: ProxySetup) -> None:
        self.setup = setup

    @classmethod
    def start(cls, allowed: Allowed) -> AgentSource | None:
        """The run's setup from an unlocked agent serving this vault; None when there is none.

        Raises:
            VaultError: what the agent raised (no such credential, no host known...).
        """
        from vault.agent.wire import result
        from vault.services.proxying import allowed_to_field

        fields = result("proxy-setup", allowed_to_field(allowed))
        return None if fields is None else cls(ProxySetup.from_fields(fields))

    def token(self, name: str, host: str = "") -> str:
        """``name``'s token, valid now, from the agent (for a request to ``host``: a ``--confirm``
        run's question names it).

        Raises:
            VaultLocked: the agent is locked, or gone (the message says how to unlock).
            VaultError: what the agent raised (NeedsSignIn, NotFound...).
        """
        from vault.agent.wire import ask, error_from

        answer = ask("token", name, *([host] if host else []))
        if answer is None:
            from vault.agent.remedy import agent_remedy, agent_state

            state = agent_state()
            if state == "unlocked":  # it answered "do it yourself" for another reason: its log says
                raise VaultLocked("the agent could not answer (see tokendeck agent status)")
            raise VaultLocked(f"the vault is locked ({agent_remedy(state)})")
        if answer[0] != "0":
            raise error_from(answer)
        return answer[1]

    def write(self, rows: list[Row]) -> bool:
        """Hand ``rows`` to the agent; False when it cannot take them now (locked, gone)."""
        from vault.agent.wire import result
        from vault.services.proxying import rows_to_field

        return result("proxy-audit", rows_to_field(rows)) is not None


class LocalSource:
    """The vault opened by this command does the work (one request at a time)."""

    def __init__(self, vault: Vault, allowed: Allowed) -> None:
        from vault.services.proxying import setup

        self._vault = vault
        self._lock = threading.Lock()
        self.setup = setup(vault, allowed)

    def token(self, name: str, host: str = "") -> str:
        with self._lock:
            return self._vault.token(name)

    def write(self, rows: list[Row]) -> bool:
        from vault.services.proxying import record

        with self._lock:
            record(self._vault, rows)
        return True


class AuditWriter:
    """One thread that writes the run's audit rows, so no request waits for a commit.

    ``write`` takes a batch and says whether it was written (an exception counts as no); rows
    not written are kept and tried again.  :meth:`close` writes what is queued and returns the
    rows that still could not be written (the caller says so, or writes them another way).
    """

    def __init__(self, write: Callable[[list[Row]], bool]) -> None:
        self._write = write
        self._queue: queue.Queue[Row | None] = queue.Queue()
        self._pending: list[Row] = []
        self._thread = threading.Thread(target=self._drain, name="tokendeck-proxy-audit", daemon=True)
        self._thread.start()

    def put(self, row: Row) -> None:
        self._queue.put(row)

    def close(self) -> list[Row]:
        self._queue.put(None)
        self._thread.join()
        return self._pending

    def _drain(self) -> None:
        closing = False
        while not closing:
            try:  # wait for a row; with rows pending, only so long before trying them again
                item = self._queue.get(timeout=RETRY_SECONDS if self._pending else None)
            except queue.Empty:
                item = ("", "", None, None, 0.0)  # no new row: try the pending ones again
            while item is not None:
                if item[0]:
                    self._pending.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            closing = item is None
            self._flush()

    def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:BATCH]
            try:
                written = self._write(batch)
            except Exception:  # noqa: BLE001 - the vault busy or unwritable now: try again later
                written = False
            if not written:
                return
            del self._pending[: len(batch)]
