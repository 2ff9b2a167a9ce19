"""The agent's forwards (``tokendeck ssh``): opening one on a socket of its own, closing it, and
ending those whose time is up or whose ``tokendeck ssh`` is gone.  Mixed into
:class:`vault.agent.server.Agent`; the rule a forward applies is :mod:`vault.agent.forwarding`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from vault.agent import forwarding
from vault.agent.consent import Confirmations, Question
from vault.agent.forwarding import Forward
from vault.agent.remedy import AGENT_LOCKED
from vault.agent.switchboard import Switchboard
from vault.agent.wire import FALL_BACK
from vault.core.masking import echo
from vault.errors import InvalidInput, VaultBusy, VaultError, VaultLocked, to_fields
from vault.services.read_log import ReadLog
from vault.services.tokens import Vault

FORWARD_OPS = ("forward-open", "forward-close", "forwards", "questions", "answer")
"""Managing forwards (``tokendeck ssh``): served on the agent's own socket, never through one."""
LISTEN_BACKLOG = 1024
"""Connections the kernel queues before the agent takes them (capped by ``net.core.somaxconn``)."""


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie counts as gone only once reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def listening_socket(path: str) -> socket.socket:
    """A Unix socket (0600 from the start) listening at ``path``, which it replaces: bound beside
    it and renamed once listening, so a client never finds the path and is refused."""
    listener, beside = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), path + "~"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(beside)  # a crashed agent's, half-made
    old_umask = os.umask(0o177)
    try:
        listener.bind(beside)
    finally:
        os.umask(old_umask)
    listener.listen(LISTEN_BACKLOG)
    os.rename(beside, path)
    return listener


@dataclass
class OpenedForward:
    """A forward the agent serves: its rule, its listening socket and path, and the process
    (``tokendeck ssh``) whose end ends it."""

    forward: Forward
    listener: socket.socket
    path: str
    owner: int | None


class ForwardHost:
    """The forwards half of the agent (what it needs of the agent is declared here)."""

    socket_path: str
    confirmations: Confirmations
    reads: ReadLog
    _state: threading.Condition
    _vault: Vault | None
    _board: Switchboard
    _forwards: dict[str, OpenedForward]
    _log: Callable[[str], None]
    _run: Callable[[str, Callable[[Vault], list[str]]], list[str]]

    def _answer_forwards(self, op: str, args: list[str]) -> list[str]:
        """``forward-open HOST TTL OWNER_PID confirm|- NAME...``, ``forward-close ID``, ``forwards``,
        ``questions`` and ``answer QUESTION allow|deny`` (on the agent's own socket only)."""
        if op == "forwards":
            with self._state:
                forwards = [(i, opened.forward) for i, opened in self._forwards.items()]
            return ["0", *(json.dumps(f.summary(i)) for i, f in forwards)]
        if op == "forward-close":
            forward_id = args[0] if args else ""
            with self._state:
                opened = self._forwards.get(forward_id)
            session = opened is not None and opened.forward.session is not None
            self.close_forward(forward_id, "ended by the user" if session else "its tokendeck ssh ended")
            return ["0"]
        if op == "questions":
            return ["0", *(json.dumps(q.summary(self.confirmations.timeout)) for q in self._questions(args))]
        if op == "answer":
            if len(args) != 2:
                return ["0", "gone"]
            found = self.confirmations.answer(args[0], args[1] == "allow")
            return ["0", "answered" if found else self.confirmations.status(args[0])]
        if len(args) < 4:
            return [FALL_BACK]  # not a request tokendeck ssh makes
        host, ttl, owner, confirm, names = args[0], args[1], args[2], args[3], args[4:]
        try:
            forward_id, path = self.open_forward(
                host, names, float(ttl) if ttl else None, owner=int(owner) if owner.isdigit() else None,
                confirm=confirm == "confirm",
            )  # fmt: skip
        except VaultError as exc:
            return [str(exc.exit_code), *to_fields(exc)]
        return ["0", forward_id, path]

    def _questions(self, args: list[str]) -> list[Question]:
        """``questions``: every waiting one; ``questions tui``: each forward's oldest (a TUI asks
        one at a time, and is the one asking while it polls); ``questions terminal ID``:
        that forward's (or session's) oldest, unless a TUI or a desktop notification is asking it."""
        confirmations = self.confirmations
        if args[:1] == ["tui"]:
            confirmations.tui_polled()
            return confirmations.front()
        if args[:1] == ["terminal"]:
            if confirmations.tui_here():
                return []
            wanted = args[1] if len(args) > 1 else ""
            mine = [q for q in confirmations.front() if wanted in (q.forward_id, q.session, f"reader-{q.pid}")]
            return [q for q in mine if not q.desktop]
        return confirmations.pending()

    def open_forward(
        self,
        host: str,
        names: list[str],
        ttl: float | None,
        *,
        owner: int | None = None,
        confirm: bool = False,
        once: bool = False,
        session: str | None = None,
        root: tuple[int, int] | None = None,
    ) -> tuple[str, str]:
        """A new forward for ``host``, serving ``names`` for ``ttl`` seconds (None: until it is
        closed, or until the process ``owner``, the ``tokendeck ssh`` that asked, is gone) on a
        socket of its own beside the agent's: its id and socket path.

        Raises:
            InvalidInput: no host, or a name that is not stored.  Locked: the agent is locked.
        """
        if not host:
            raise InvalidInput("a forward needs the remote host's name")
        with self._state:
            vault = self._vault
        if vault is None:
            raise VaultLocked(AGENT_LOCKED)
        missing = [name for name in names if not vault.records.exists(name)]
        if missing:
            raise InvalidInput(f"no credential named {echo(missing[0])} to forward (see tokendeck list)")
        forward_id = forwarding.new_forward_id()
        path = os.path.join(os.path.dirname(self.socket_path), f"forward-{forward_id}.sock")
        listener = listening_socket(path)
        ends_at = None if ttl is None else vault.clock.now() + ttl
        forward = Forward(
            host, frozenset(names), ends_at, confirm=confirm, once=once, session=session, root=root,
            audit=self.reads.add,
        )  # fmt: skip
        with self._state:
            self._forwards[forward_id] = OpenedForward(forward, listener, path, owner)
        busy = VaultBusy(f"the agent is busy with other requests from {host}; try again")
        serve = functools.partial(forwarding.serve_call, forward_id, forward, self.confirmations, self._run)
        self._board.listen(listener, serve, forward=forward_id, busy=[str(busy.exit_code), *to_fields(busy)])
        self._log(f"forwarding {', '.join(sorted(names)) or 'nothing'} to {host} on {path}")
        return forward_id, path

    def forward_view(self, forward_id: str) -> Forward:
        """The rule of open forward ``forward_id``."""
        with self._state:
            return self._forwards[forward_id].forward

    def close_forward(self, forward_id: str, why: str = "ended") -> None:
        """End a forward: its socket goes at once; requests already made are answered.  Audited
        once, with ``why``, as the forward's or session's ``ended`` row."""
        with self._state:
            opened = self._forwards.pop(forward_id, None)
        if opened is not None:
            opened.forward.closed = True  # a session's view serves nothing more on the agent's socket either
            opened.forward.note_end(why)
            self._board.unlisten(opened.listener)
            with contextlib.suppress(OSError):
                os.unlink(opened.path)
        self.confirmations.cancel(forward_id)  # a use still waiting for a yes gets its no now

    def _end_forwards(self) -> None:
        """Close the forwards whose --ttl is up, or whose ``tokendeck ssh`` is gone."""
        vault = self._vault
        with self._state:
            forwards = list(self._forwards.items())
        for forward_id, opened in forwards:
            if vault is not None and opened.forward.over(vault.clock.now()):
                self._log(f"the forward to {opened.forward.host} has ended (--ttl)")
                self.close_forward(forward_id, "its time limit is up")
            elif opened.owner is not None and not alive(opened.owner):
                self._log(f"the tokendeck ssh session to {opened.forward.host} is gone; its forward ends")
                self.close_forward(forward_id, "its tokendeck ssh is gone")
