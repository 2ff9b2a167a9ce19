"""The agent: one process per user and vault that holds the unlocked vault, answers
clients over a Unix socket, and owns refreshing.

Its socket lives in a 0700 directory of this user's (:func:`vault.agent.wire.runtime_dir`),
is itself 0600, and every connection's peer credentials are checked: a process of
another user is dropped before a byte is read.  Connections are served by a
:class:`~vault.agent.switchboard.Switchboard`: one thread reads every request (bounded by
:data:`~vault.agent.wire.MAX_REQUEST`, with a deadline for the whole of it) and writes every
answer, and workers see complete requests only, so a client that sends garbage, too much,
slowly or nothing holds no worker and cannot stall the others; limits per client process and
per forward keep one from crowding out the rest, and a forward's requests run on a pool of
their own.  A ``--confirm`` forward's request waiting for the user holds no worker either.

Every request reads the vault afresh, so changes by other processes are seen at once.  The
:class:`~vault.services.refresher.BackgroundRefresher` runs here (each refresh still takes its
credential's lock, and re-writes plaintext export bindings).  Locking closes the vault and
forgets the key, and the log names why: ``tokendeck lock``, the TUI's Ctrl+L (a request's
reason, with its pid), idle after the vault's ``lock_after`` (:mod:`vault.core.policy`:
"idle" is no request from any client, and a request in flight is not idle), or a key
changed under it.  A TUI joins an unlocked agent with ``join`` (:mod:`vault.agent.joining`).
:meth:`Agent.stop` (SIGTERM) lets requests and refreshes in flight finish, then closes the
vault.  Housekeeping (the idle lock, other processes' writes, forwards that are over,
questions nobody answered, a removed socket) runs on a thread of its own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from vault.agent import forwarding, joining
from vault.agent.consent import Confirmations
from vault.agent.consent_host import ConsentHost
from vault.agent.forward_host import FORWARD_OPS, ForwardHost, OpenedForward, listening_socket
from vault.agent.ops import OPS
from vault.agent.sessions import SESSION_OPS, OpenedSession, SessionHost
from vault.agent.switchboard import Call, Switchboard
from vault.agent.wire import FALL_BACK, VERSION
from vault.core.timefmt import duration_text
from vault.errors import VaultCorrupt, VaultError, WrongPassphrase, to_fields
from vault.services.read_log import ReadLog, reader_of
from vault.services.tokens import Vault
from vault.settings import (
    AGENT_CLIENT_TIMEOUT,
    AGENT_FORWARD_WORKERS,
    AGENT_IN_FLIGHT_WAIT,
    AGENT_MAX_CONNECTIONS,
    AGENT_SOURCE_CONNECTIONS,
    AGENT_WORKERS,
    FORWARD_PENDING_QUESTIONS,
    REFRESH_INTERVAL,
)

if TYPE_CHECKING:
    from vault.services.refresher import BackgroundRefresher

Log = Callable[[str], None]
READ_OPS = ("token", "tokens", "refresh", "git")
"""The requests that hand out a token: each is audited with its reader."""
LOCK_REASONS = {"cli": "tokendeck lock", "tui": "the TUI's Ctrl+L"}  # ``lock``'s argument, as the log says it


class Agent(ForwardHost, SessionHost, ConsentHost):
    """Serve ``vault`` on ``socket_path`` until :meth:`stop`.

    Args:
        vault: the unlocked vault (the agent closes it when it locks or stops).
        socket_path: where to listen (its directory must exist, 0700).
        reopen: unlocks the vault again from a passphrase (None for keyring and
            environment keys); used by ``tokendeck agent start`` on a locked agent.
        lock_after: lock after this many seconds without a request (None: never).
        client_timeout: seconds a client has to send its whole request, and to take its answer.
        max_clients: requests from the agent's own socket worked on at once.
        forward_workers: requests from every forward together worked on at once.
        source_connections, max_connections: the switchboard's limits
            (:mod:`vault.agent.switchboard`).
        pending_questions: questions one ``--confirm`` forward may have waiting.
        refresher: run a background refresher (closed while locked).
        refresh_interval: its timer; None runs it only by hand (``agent.refresher.run_once()``, in tests).
        allowed_uid: the only user served (default: the agent's own).
    """

    def __init__(
        self,
        vault: Vault,
        socket_path: str,
        *,
        reopen: Callable[[str | None], Vault],
        lock_after: float | None = None,
        client_timeout: float = AGENT_CLIENT_TIMEOUT,
        max_clients: int = AGENT_WORKERS,
        forward_workers: int = AGENT_FORWARD_WORKERS,
        source_connections: int = AGENT_SOURCE_CONNECTIONS,
        max_connections: int = AGENT_MAX_CONNECTIONS,
        pending_questions: int = FORWARD_PENDING_QUESTIONS,
        refresher: bool = True,
        refresh_interval: float | None = REFRESH_INTERVAL,
        watch_interval: float = 1.0,
        allowed_uid: int | None = None,
        notify: Callable[[str], None] | None = None,
        log: Log = lambda line: None,
    ) -> None:
        self.home = os.path.abspath(vault.paths.home)
        self.socket_path = socket_path
        self.lock_after = lock_after
        self.client_timeout = client_timeout
        self.watch_interval = watch_interval
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self.started_at = time.time()
        self._reopen = reopen
        self._vault: Vault | None = vault
        self._use_refresher = refresher
        self._refresh_interval = refresh_interval
        self._notify = notify
        self._log = log
        self._board = Switchboard(
            client_timeout=client_timeout, workers=max_clients, forward_workers=forward_workers,
            source_connections=source_connections, max_connections=max_connections,
            allowed_uid=self.allowed_uid, log=log,
        )  # fmt: skip
        self._state = threading.Condition()
        self._unlocking = threading.Lock()
        self._in_flight = 0
        self._last_request = time.monotonic()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._data_version: int | None = None
        self._forwards: dict[str, OpenedForward] = {}
        self._sessions: dict[str, OpenedSession] = {}
        self.reads = ReadLog()
        """The tokens handed out and not yet in the audit log (written once a second, and on locking)."""
        self.confirmations = Confirmations(limit=pending_questions)
        """The questions of ``--confirm`` forwards, waiting for the user."""
        self.refresher = self._new_refresher(vault)

    # ------------------------------------------------------------ lifecycle

    def listen(self) -> None:
        """Listen on the socket (a dead agent's is replaced: the pid lock proved it dead); call before :meth:`serve`."""
        listener = listening_socket(self.socket_path)
        previous, self._listener = self._listener, listener
        self._inode = os.stat(self.socket_path).st_ino
        self._board.listen(listener, self._serve_local, busy=[FALL_BACK])  # turned away: do it yourself
        if previous is not None:
            self._board.unlisten(previous)

    def serve(self) -> None:
        """Serve clients until :meth:`stop`; then shut down cleanly."""
        if self._listener is None:
            self.listen()
        self._start_refresher(self.refresher)
        from vault.agent.desktop import Desktop

        self.confirmations.desktop = Desktop.from_environment(self.confirmations.answer, self._log)
        self._log(f"serving {self.home} on {self.socket_path}")
        housekeeper = threading.Thread(target=self._keep_house, name="tokendeck-agent-housekeeping", daemon=True)
        housekeeper.start()
        try:
            self._board.run(self._stopping)
        finally:
            self._shut_down()

    def stop(self) -> None:
        """Ask :meth:`serve` to finish (safe from a signal handler or another thread)."""
        self._stopping.set()
        self._board.wake()

    @property
    def connections(self) -> int:
        """Connections held open now, every socket's (for tests and benchmarks)."""
        return self._board.held()

    @property
    def locked(self) -> bool:
        return self._vault is None

    def lock(self, why: str = "locked") -> None:
        """Close the vault and forget its key, once requests in flight are done."""
        with self._state:
            vault, self._vault = self._vault, None
            refresher, self.refresher = self.refresher, None
            if vault is None:
                return
            self._state.wait_for(lambda: self._in_flight == 0, timeout=AGENT_IN_FLIGHT_WAIT)
        if refresher is not None:
            # A refresh in flight must store what the provider sent (a rotated refresh
            # token is only valid once): wait for it as long as a refresh may take.
            refresher.stop(timeout=AGENT_IN_FLIGHT_WAIT)
        self.reads.flush(vault.records)  # the reads of this unlocked time, before the key goes
        try:
            vault.close()
        except VaultError as exc:  # refreshed tokens the vault could not store are lost now: said loudly
            self._log(f"LOST: {exc.message}")
        self._log(f"locked ({why})")

    def unlock(self, passphrase: str | None) -> None:
        """Open the vault again (a passphrase vault needs ``passphrase``).

        Raises:
            VaultLocked, WrongPassphrase: as opening the vault does.
        """
        with self._unlocking:
            if self._vault is not None:
                return
            vault = self._reopen(passphrase)
            refresher = self._new_refresher(vault)
            with self._state:
                self._vault, self.refresher = vault, refresher
                self._last_request = time.monotonic()
            self._start_refresher(refresher)
            self._log("unlocked")

    def _start_refresher(self, refresher: BackgroundRefresher | None) -> None:
        if refresher is not None and self._refresh_interval is not None:
            refresher.start()

    def _new_refresher(self, vault: Vault) -> BackgroundRefresher | None:
        if not self._use_refresher:
            return None
        from vault.services.refresher import BackgroundRefresher, RefreshEvent

        def on_event(event: RefreshEvent) -> None:
            self._log(f"refresh {event.credential}: {event.kind} ({event.detail})")
            if event.kind in ("expiring", "needs_login") and self._notify is not None:
                self._notify(f"{event.credential}: {event.detail}")

        return BackgroundRefresher(vault, interval=self._refresh_interval or REFRESH_INTERVAL, on_event=on_event)

    def _shut_down(self) -> None:
        self._listener = None
        with contextlib.suppress(OSError):
            if os.stat(self.socket_path).st_ino == self._inode:
                os.unlink(self.socket_path)
        with self._state:
            forwards = list(self._forwards)
        for forward_id in forwards:
            self.close_forward(forward_id, "the agent stopped")
        self.confirmations.cancel()  # no forward's use waits for a yes that cannot come
        if self.confirmations.desktop is not None:
            self.confirmations.desktop.stop()
        self._board.drain(AGENT_IN_FLIGHT_WAIT)  # answers to requests in flight still go out
        self.lock("stopped")
        self._log("stopped")

    # -------------------------------------------------------------- clients

    def _serve_local(self, call: Call) -> None:
        """A request on the agent's own socket (on a worker).  ``lock`` and ``join`` here, where the
        peer's pid is known; ``join`` (the key) nowhere else, not even in :meth:`answer`."""
        fields = call.fields
        inside = self.session_view(call.peer_pid) if self._sessions else None
        if inside is not None:  # before anything else: a session never reaches join (the key) or lock
            forwarding.serve_call(*inside, self.confirmations, self._run, call)
            return
        run = self.proxy_root(call.peer_pid) if self._sessions else None
        if run is not None and len(fields) >= 3 and fields[2] in READ_OPS:
            if run.view.closed:  # an ended run's proxy
                refused = run.view.ended()
                call.reply([str(refused.exit_code), *to_fields(refused)])
                return
            if len(fields) >= 4:  # a proxy run's token for a request
                self.proxy_read(run.forward_id, run.view, call)
                return
        if self.ours(fields) and fields[2] in READ_OPS and self.direct_read(call):  # a credential that asks first
            return
        if len(fields) >= 3 and fields[0] == VERSION and os.path.abspath(fields[1]) == self.home:
            if fields[2] in SESSION_OPS:
                call.reply(self.answer_session_open(fields[3:], call.peer_pid))
                return
            if fields[2] == "join":
                call.reply(self._answer_join(fields[3:], call.peer_pid))
                return
            if fields[2] == "lock":
                call.reply(self._answer_lock(fields[3:], call.peer_pid))
                return
        call.reply(self.answer(fields, reader=call.peer_pid))

    def ours(self, fields: list[str]) -> bool:
        """Whether a request is one this agent serves (its version, this vault)."""
        return len(fields) >= 3 and fields[0] == VERSION and os.path.abspath(fields[1]) == self.home

    def answer(self, fields: list[str], reader: int | None = None) -> list[str]:
        """The answer to one request's fields (see :mod:`vault.agent.wire`); a token handed out
        is audited with ``reader``, the asking process (:mod:`vault.services.read_log`)."""
        if len(fields) < 3 or fields[0] != VERSION or os.path.abspath(fields[1]) != self.home:
            return [FALL_BACK]
        op, args = fields[2], fields[3:]
        if op == "ping":
            if args[:1] == ["active"]:  # an open TUI: its user is here, so the agent stays unlocked
                with self._state:
                    self._last_request = time.monotonic()
            return ["0", str(os.getpid()), "locked" if self.locked else "unlocked", self.home, self._status()]
        if op == "stop":
            self.stop()
            return ["0"]
        if op == "lock":
            return self._answer_lock(args, None)
        if op == "unlock":
            return self._answer_unlock(args)
        if op in FORWARD_OPS:
            return self._answer_forwards(op, args)
        handler = OPS.get(op)
        if handler is None:  # a newer client than this agent: it does the work itself
            return [FALL_BACK]
        if op in READ_OPS:
            return self._run(op, lambda vault: self._hand_out(vault, handler, op, args, reader))
        if op == "audit":  # the reads of the last second are in it too

            def flushed_first(vault: Vault) -> list[str]:
                self.reads.flush(vault.records)
                return handler(vault, args)

            return self._run(op, flushed_first)
        return self._run(op, lambda vault: handler(vault, args))

    def write_reads(self) -> int:
        """Write the reads gathered since the last write (housekeeping does, once a second); how many."""
        vault = self._vault
        return self.reads.flush(vault.records) if vault is not None else 0

    def _hand_out(
        self, vault: Vault, handler: Callable[[Vault, list[str]], list[str]], op: str, args: list[str], pid: int | None
    ) -> list[str]:
        """``handler``'s answer, its reads noted for the audit (an error hands nothing out)."""
        answer = handler(vault, args)
        self.reads.note(forwarding.names_read(vault, op, args), op, reader_of(pid))
        return answer

    def _run(self, op: str, handler: Callable[[Vault], list[str]]) -> list[str]:
        """``handler`` on the open vault: its answer, an error answer, or FALL_BACK when locked."""
        with self._state:
            vault = self._vault
            if vault is None:
                return [FALL_BACK]
            self._in_flight += 1
            self._last_request = time.monotonic()
        try:
            return ["0", *handler(vault)]
        except (WrongPassphrase, VaultCorrupt) as exc:  # re-keyed or damaged under us
            self._log(f"{op}: {type(exc).__name__}; locking")
            threading.Thread(target=self.lock, args=("the vault changed its key",), daemon=True).start()
            return [FALL_BACK]
        except VaultError as exc:
            return [str(exc.exit_code), *to_fields(exc)]
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the agent; the client falls back
            self._log(f"{op}: unexpected {type(exc).__name__}")
            return [FALL_BACK]
        finally:
            with self._state:
                self._in_flight -= 1
                self._last_request = time.monotonic()  # idle counts from a request's end: a long one is not idle
                self._state.notify_all()

    def _answer_lock(self, args: list[str], pid: int | None) -> list[str]:
        """``lock [cli|tui]``: lock now, the log naming who asked (and the asking process)."""
        who = LOCK_REASONS.get(args[0], "a lock request") if args else LOCK_REASONS["cli"]
        self.lock(who if pid is None else f"{who}, pid {pid}")
        return ["0"]

    def _answer_join(self, args: list[str], pid: int | None) -> list[str]:
        """``join tui`` (:mod:`vault.agent.joining`); FALL_BACK while locked; a request (the user is here)."""
        with self._state:
            vault = self._vault
            if vault is None:
                return [FALL_BACK]
            self._last_request = time.monotonic()
        return joining.hand_over(vault, args, pid, self._log)

    def _answer_unlock(self, args: list[str]) -> list[str]:
        try:
            self.unlock(args[0] if args else None)
        except VaultError as exc:
            return [str(exc.exit_code), *to_fields(exc)]
        return ["0"]

    def _status(self) -> str:
        refresher = self.refresher
        last = getattr(refresher, "last_run", None)
        parts = [f"started={self.started_at:.0f}", f"lock_after={self.lock_after or ''}"]
        if self.lock_after is not None and not self.locked:
            parts.append(f"locks_in={self.lock_after - (time.monotonic() - self._last_request):.0f}")
        parts.append(f"last_refresh_run={'' if last is None else f'{last:.0f}'}")
        return " ".join(parts)

    # -------------------------------------------------------- housekeeping

    def _wake_on_change(self) -> None:
        """Another process committed (a new credential, a sign-in, a removal): plan the next
        refresh again at once, instead of when the refresher next wakes by itself."""
        vault, refresher = self._vault, self.refresher
        if vault is None or refresher is None:
            self._data_version = None
            return
        try:
            version = vault.records.data_version()
        except VaultError:
            return
        if self._data_version is not None and version != self._data_version:
            refresher.wake()
        self._data_version = version

    def _keep_house(self) -> None:
        while not self._stopping.wait(self.watch_interval):
            try:
                self._housekeeping()
            except Exception as exc:  # noqa: BLE001 - the next round tries again; the agent serves on
                self._log(f"housekeeping: unexpected {type(exc).__name__}")

    def _housekeeping(self) -> None:
        with self._state:  # a request in flight (a bridge's call, a slow refresh) is not idle
            idle = 0.0 if self._in_flight else time.monotonic() - self._last_request
        if self.lock_after is not None and not self.locked and idle > self.lock_after:
            self.lock(f"idle after {duration_text(self.lock_after)} without a request")
        self._wake_on_change()
        self.confirmations.expire()
        self.end_sessions()
        self._end_forwards()
        self.write_reads()
        try:
            present = os.stat(self.socket_path).st_ino == self._inode
        except OSError:
            present = False
        if not present and not self._stopping.is_set():
            self._log("the socket file was removed or replaced; listening again")
            self.listen()
