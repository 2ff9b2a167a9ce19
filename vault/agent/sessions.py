"""Local sessions (issue 36): a command run with only what it was given, applied by the agent.

A session is the forward's restricted view (:class:`~vault.agent.forwarding.Forward`: the
allowed names, a time limit, every use audited), given to a process tree on this machine
instead of a remote one.  ``tokendeck exec --session`` opens one for the process that becomes
COMMAND (the *root*, named by pid and start time: :mod:`vault.core.peers`, so a reused pid
inherits nothing), made a child subreaper first so that a double fork cannot leave the tree.

Two ways in, one view:

- the session's own socket (a forward's socket, in the same private directory as the agent's),
  which the command's environment names in ``$TOKENDECK_AGENT_SOCK``: every tokendeck command
  and library call inside asks there and nowhere else, and is never told to do the work itself;
- the agent's own socket, for a program inside that dropped the variable: each request there
  is from a process whose ancestry is checked, and one inside a session gets that session's
  view (checked before anything else, ``join`` and ``lock`` included: the key is never handed
  into a session).

A session ends when its root exits (or its ``--ttl`` is up): its socket goes, so a command
left running inside is refused in one line.  Opening a session from inside one is refused: a
session cannot widen itself.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from vault.agent.forwarding import Forward
from vault.core.peers import peer, same_process, within
from vault.errors import InvalidInput, NotForwarded, VaultError, to_fields

SESSION_OPS = ("session-open",)
"""Served on the agent's own socket only, where the asking process is known."""
KINDS = ("exec", "proxy", "parent")
"""``exec``: the root is COMMAND itself (``execvpe``), held to the same view as everything below it.
``proxy``: the root is ``tokendeck proxy run``, tokendeck's own proxy, which reads the run's tokens
as any process outside would; everything below it reads none directly (its requests get them
through the proxy).
``parent``: the root is ``tokendeck exec --session --confirm``, which stays COMMAND's parent to ask
on its terminal: it reads the session's tokens through the session's own socket (so they are the
session's reads, asked about), and everything below it is held to the view."""
ROOT_OUTSIDE = ("proxy", "parent")
"""The kinds whose root is tokendeck itself, outside the view it holds its command to."""
CONFIRM_MODES = ("each", "once")
"""``KIND:each`` (``--confirm``): a yes before each use; ``KIND:once`` (``--confirm=once``): one
yes per credential for the session's life.  In an exec session a use is a token read; in a proxy
run, a request the proxy puts a token in (the question names its host)."""


@dataclass
class OpenedSession:
    """A session the agent serves: its root process, its view, and the forward (socket) inside uses."""

    id: str
    kind: str
    root: tuple[int, int]
    view: Forward
    forward_id: str


class SessionHost:
    """The sessions half of the agent (mixed into :class:`vault.agent.server.Agent`, beside its
    forwards, whose sockets sessions use)."""

    _sessions: dict[str, OpenedSession]
    _state: threading.Condition
    _log: Callable[[str], None]

    open_forward: Callable[..., tuple[str, str]]  # vault.agent.forward_host.ForwardHost's
    close_forward: Callable[[str, str], None]
    forward_view: Callable[[str], Forward]

    def session_view(self, pid: int | None) -> tuple[str, Forward] | None:
        """The view (and its forward's id) of the session process ``pid`` is in, if any."""
        if pid is None:
            return None
        with self._state:
            sessions = list(self._sessions.values())
        for session in sessions:
            if session.kind in ROOT_OUTSIDE and pid == session.root[0] and same_process(*session.root):
                continue  # the proxy itself, or exec --confirm's tokendeck
            if within(pid, session.root):
                return session.forward_id, session.view
        return None

    def proxy_root(self, pid: int | None) -> OpenedSession | None:
        """The ``proxy run`` session whose proxy (its root) ``pid`` is, live or ended: the proxy reads
        its run's tokens for requests while it lasts; once it was ended (``tokendeck sessions
        --end``, the TUI) its reads are refused, so ending the session stops the run's tokens too."""
        if pid is None:
            return None
        with self._state:
            sessions = list(self._sessions.values())
        for session in sessions:
            if session.kind == "proxy" and pid == session.root[0] and same_process(*session.root):
                return session
        return None

    def answer_session_open(self, args: list[str], pid: int | None) -> list[str]:
        """``session-open KIND[:each|:once] TTL LABEL NAME...`` from the process that becomes the
        root: its id and the socket path its command is given."""
        try:
            kind, _, confirm = args[0].partition(":") if args else ("", "", "")
            if len(args) < 3 or kind not in KINDS or confirm not in ("", *CONFIRM_MODES):
                raise InvalidInput("not a session request this agent knows")
            ttl, label, names = args[1], args[2], args[3:]
            found = peer(pid) if pid is not None else None
            if found is None:
                raise InvalidInput("the agent cannot tell which process asked for a session (Linux only)")
            if self.session_view(found.pid) is not None:
                raise NotForwarded("a session cannot open another session: it has what it was given")
            root = (found.pid, found.start)
            session_id, path = self.open_session(kind, label, names, _seconds(ttl), root, confirm=confirm or None)
        except VaultError as exc:
            return [str(exc.exit_code), *to_fields(exc)]
        return ["0", session_id, path]

    def open_session(
        self, kind: str, label: str, names: list[str], ttl: float | None, root: tuple[int, int],
        confirm: str | None = None,
    ) -> tuple[str, str]:  # fmt: skip
        """A new session for the process tree under ``root``: its id and its socket path
        (``confirm``: one of :data:`CONFIRM_MODES`, or None).

        Raises:
            InvalidInput: a name that is not stored.  VaultLocked: the agent is locked.
        """
        session_id = secrets.token_hex(3)
        forward_id, path = self.open_forward(
            label, names, ttl, session=session_id, root=root, confirm=confirm is not None, once=confirm == "once"
        )
        opened = OpenedSession(session_id, kind, root, self.forward_view(forward_id), forward_id)
        with self._state:
            self._sessions[session_id] = opened
        if opened.view.audit is not None:
            given = ",".join(sorted(names)) or "-"
            detail = f"session={session_id} command={label} allow={given} pid={root[0]}"
            opened.view.audit("session", "opened", None, detail)
        self._log(f"session {session_id} ({label}): {', '.join(sorted(names)) or 'nothing'} for pid {root[0]}")
        return session_id, path

    def end_sessions(self) -> None:
        """End the sessions whose root has exited (their socket goes with their forward).  One ended
        early (``tokendeck sessions --end``) is kept until then, serving nothing: its programs are
        still running, and must not count as outside it."""
        with self._state:
            sessions = list(self._sessions.values())
        for session in sessions:
            if not same_process(*session.root):
                self.end_session(session.id, "its command ended")

    def end_session(self, session_id: str, why: str) -> bool:
        with self._state:
            session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        self.close_forward(session.forward_id, why)
        self._log(f"session {session_id} ({session.view.host}) ended: {why}")
        return True


def _seconds(ttl: str) -> float | None:
    """A session request's TTL field: seconds, or empty for none.

    Raises:
        InvalidInput: anything else (only a client that is not tokendeck sends it).
    """
    if not ttl:
        return None
    try:
        seconds = float(ttl)
    except ValueError:
        raise InvalidInput("a session's time limit is a number of seconds") from None
    if not seconds > 0:
        raise InvalidInput("a session's time limit is a number of seconds") from None
    return seconds
