"""Agent forwarding (``tokendeck ssh``): what a forwarded socket may ask of the agent.

A forward is one SSH session's restricted view of the agent.  It serves only the reads a
remote shell needs (``token``, ``tokens`` for ``exec``, ``list`` and ``git`` for the
credential helper), only for the credentials the user named with ``--only``, and only
until its time is up.  Nothing that manages the vault is served (no add, remove, rename,
export, lock or unlock), nor anything that gives the key; every request through it is
audited with the session's host.  The remote never refreshes: :meth:`Vault.token` runs
here, in the agent that owns every refresh.

This module is the rule, written once (:func:`serve_call` answers one request through a
forward); :class:`vault.agent.server.Agent` serves it on each forward's own socket.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vault.agent.consent import DENIED, NO_ANSWER, Confirmations
from vault.agent.ops import OPS, listing
from vault.agent.wire import FALL_BACK, VERSION
from vault.core.masking import echo
from vault.core.peers import same_process
from vault.errors import NotForwarded
from vault.services.consent_setting import consent_needed
from vault.services.tokens import Vault

if TYPE_CHECKING:
    from vault.agent.switchboard import Call

Clock = Callable[[], float]

SERVED_OPS = ("token", "tokens", "list", "git")
"""The agent's requests a forward passes on; every other one is refused."""


def names_read(vault: Vault, op: str, args: list[str]) -> list[str]:
    """The credentials request ``op`` hands out tokens of (a git host maps to its credential):
    what a forward or session checks, and what the agent audits as read."""
    if op in ("token", "refresh"):
        return list(args[:1])  # a proxy's ``token NAME HOST`` names what the read is for after it
    if op == "tokens":
        return list(args)
    if op == "git":
        from vault.services.gitcred import mapping

        _protocol, host, _path = args
        found = mapping(vault, host)
        return [found[0]] if found else []
    return []


def new_forward_id() -> str:
    """A new forward's id: random, so its socket names (here and on the remote) are new too."""
    return secrets.token_hex(8)


@dataclass
class Forward:
    """One session's view: ``host`` (for the audit log and the user), the names it may read,
    and when it ends (a time of ``clock``; None: when the session does)."""

    host: str
    allowed: frozenset[str]
    ends_at: float | None = None
    served: int = 0
    """Requests answered so far (refusals not counted)."""
    confirm: bool = False
    """With ``--confirm``: the user is asked before each use of a credential (:class:`Confirmations`)."""
    once: bool = False
    """With ``--confirm=once`` (sessions): one yes per credential, for as long as the view lasts."""
    consented: set[str] = field(default_factory=set)
    """The credentials a yes was given for (``once``)."""
    session: str | None = None
    """Set for a local session (:mod:`vault.agent.sessions`): its id.  The same view, the same
    rule; only the words and the audit's action differ (``host`` is then what it runs)."""
    audit: Callable[[str, str, str | None, str], None] | None = None
    """Where its served reads go (action, outcome, credential, detail): the agent's read log,
    written once a second (:mod:`vault.services.read_log`); None writes each at once.  Refusals
    and denials are always written at once."""
    root: tuple[int, int] | None = None
    """A session's root process (pid, start time): once it has exited, the view serves nothing,
    whether or not housekeeping has closed its socket yet."""
    direct: bool = False
    """A reader in no forward or session, asked about a credential that asks before each use
    (:mod:`vault.agent.consent_host`): ``host`` is the reader; only :meth:`deny` is used."""
    closed: bool = False
    """Set when its forward is closed (``tokendeck sessions --end``, the TUI): it serves nothing more,
    on any socket."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def who(self) -> str:
        """How messages name the view's reader: ``devbox`` (a forward), ``session 3 (claude)``."""
        return self.host if self.session is None else f"session {self.session} ({self.host})"  # a reader: itself

    def ended(self) -> NotForwarded:
        """The refusal of a request to a view that is over (its time, its command, or ended)."""
        if self.session is None:
            return NotForwarded(f"the forward to {self.host} has ended (its --ttl is up)")
        if self.closed:
            why = "it was ended"
        elif self.root is None or same_process(*self.root):
            why = "its --ttl is up"
        else:
            why = "its command has ended"
        return NotForwarded(f"{self.who} has ended ({why})")

    def summary(self, forward_id: str) -> dict[str, object]:
        """What ``tokendeck ssh`` and the TUI show of it (no secret is in a forward)."""
        return {
            "id": forward_id, "host": self.host, "names": sorted(self.allowed), "served": self.served,
            "ends_at": self.ends_at, "confirm": self.confirm, "session": self.session,
        }  # fmt: skip

    def over(self, now: float) -> bool:
        if self.closed or (self.root is not None and not same_process(*self.root)):
            return True
        return self.ends_at is not None and now >= self.ends_at

    def check(self, vault: Vault, op: str, args: list[str], reader: str | None = None) -> list[str]:
        """The credentials ``op`` would read, once the forward may serve it (a refusal is audited,
        with ``reader``: the program that asked, as a served read names it).
        With :attr:`confirm`, each still needs the user's yes before :meth:`serve`.

        Raises:
            NotForwarded: the forward is over, the request is not one it serves, or it
                names a credential it does not.
        """
        if self.over(vault.clock.now()):
            raise self.ended()
        if op not in SERVED_OPS:
            if self.session is None:
                passed = "only token, exec, list and git"
                raise NotForwarded(f"tokendeck ssh does not pass {op!r} on to {self.host}: {passed}")
            self._audit(vault, "refused", None, op, reader)
            raise NotForwarded(f"{self.who} may read tokens only (token, exec, list, git), not {op!r}")
        names = names_read(vault, op, args)
        refused = [n for n in names if n not in self.allowed]
        if refused:
            self._audit(vault, "refused", refused[0], op, reader)
            shown = echo(refused[0], quoted=False)
            if self.session is None:
                hint = "tokendeck ssh --only NAME,... names what is"
                raise NotForwarded(f"{shown} is not forwarded to {self.host} ({hint})")
            if not self.allowed:  # a proxy run's session: its tokens go through the proxy
                raise NotForwarded(
                    f"{shown} is not read directly inside {self.who}: its requests get it through the proxy"
                )
            given = ", ".join(sorted(self.allowed))
            raise NotForwarded(f"{shown} was not given to {self.who}, which may read {given} only")
        return names

    def serve(self, vault: Vault, op: str, args: list[str], names: list[str], reader: str | None = None) -> list[str]:
        """The fields of the answer to ``op`` (outcome first is the caller's), as the agent gives
        them, for the allowed credentials only (``names``: what :meth:`check` found); audited
        (with their ``reader``: a session's program, a forward's local ``ssh``)."""
        if self.over(vault.clock.now()):  # it may have ended while the user was asked
            raise self.ended()
        answer = listing(vault, args, only=self.allowed) if op == "list" else OPS[op](vault, args)
        read: list[str | None] = list(names) or [None]  # a list, or a git host mapped to nothing, is audited too
        for credential in read:
            self._audit(vault, "served", credential, op, reader)
        with self._lock:
            self.served += 1
        return answer

    def answer(self, vault: Vault, op: str, args: list[str]) -> list[str]:
        """:meth:`check`, then :meth:`serve`: for a forward that asks nobody.

        Raises:
            NotForwarded: as :meth:`check`.
        """
        return self.serve(vault, op, args, self.check(vault, op, args))

    def to_ask(self, names: list[str], required: Collection[str] = (), once: Collection[str] = ()) -> list[str]:
        """Of the credentials ``names`` a request reads, those that need the user's yes first:
        every one with ``--confirm`` (with ``once``: those not allowed yet), any that asks before
        each use whoever reads it (``required``), and any that asks once per session not allowed
        in this view yet (``once``; :mod:`vault.services.consent_setting`)."""
        with self._lock:
            consented = set(self.consented)

        def needs(name: str) -> bool:
            if name in required or (name in once and name not in consented):
                return True
            return self.confirm and not (self.once and name in consented)

        return [n for n in names if needs(n)]

    def allowed_once(self, name: str) -> None:
        """The user said yes to ``name`` in this view (what ``once`` asks no more about)."""
        with self._lock:
            self.consented.add(name)

    def deny(self, vault: Vault, name: str, op: str, why: str = DENIED, reader: str | None = None) -> NotForwarded:
        """The refusal of a use the user did not allow (audited: ``unanswered`` when nobody
        answered in time, else ``denied``; a session's with its reader)."""
        self._audit(vault, "unanswered" if why == NO_ANSWER else "denied", name, op, reader)
        if self.direct:
            return NotForwarded(f"the use of {name} was not allowed ({why}): it asks before each use")
        if self.session is None:
            where = "on the machine with the vault"
            return NotForwarded(f"the use of {name} by {self.host} was not allowed {where} ({why})")
        return NotForwarded(f"the use of {name} by {self.who} was not allowed ({why})")

    def _where(self) -> tuple[str, str]:
        """The audit's action for this view and how its rows begin: ``forward host=devbox``,
        ``session session=3f9c0a command=claude``; a reader in no session: ``read`` alone."""
        if self.direct:
            return "read", ""
        if self.session is None:
            return "forward", f"host={self.host}"
        return "session", f"session={self.session} command={self.host}"

    def note_end(self, why: str) -> None:
        """Audit that the view serves nothing more (its closer calls this once)."""
        if self.audit is not None and not self.direct:
            action, where = self._where()
            self.audit(action, "ended", None, f"{where} why={why}")

    def _audit(self, vault: Vault, outcome: str, credential: str | None, op: str, reader: str | None = None) -> None:
        action, where = self._where()
        detail = f"{where} op={op}".lstrip() + (f" reader={reader}" if reader else "")
        if outcome == "served" and self.audit is not None:
            self.audit(action, outcome, credential, detail)
        else:
            vault.records.record(action, outcome, credential=credential, detail=detail)


Run = Callable[[str, Callable[[Vault], list[str]]], list[str]]
"""How the agent runs a handler on its vault: the answer's fields, outcome first (an error
answer for a VaultError, :data:`~vault.agent.wire.FALL_BACK` when locked)."""


def serve_call(forward_id: str, forward: Forward, confirmations: Confirmations, run: Run, call: Call) -> None:
    """Answer a request that came through a forward (on a worker): what the forward allows,
    once the user said yes to each credential it reads that asks first."""
    fields = call.fields
    if len(fields) < 3 or fields[0] != VERSION:  # fields[1], the remote's home, means nothing here
        call.reply([FALL_BACK])
        return
    op, args = fields[2], fields[3:]
    reader = _reader(forward, call)

    def check(vault: Vault) -> list[str]:
        return needing_fields(vault, forward.check(vault, op, args, reader))

    checked = run(op, check)
    if checked[0] != "0":
        call.reply(checked)
        return
    names, required, once = split_needing(checked)

    def go(again: Call) -> None:
        again.reply(run(op, lambda vault: forward.serve(vault, op, args, names, reader)))

    asking = Asking(forward_id, forward, confirmations, run, op, reader, _program(forward, call), pid=call.peer_pid)
    ask_first(asking, call, names, required, go, once)


def needing_fields(vault: Vault, names: list[str]) -> list[str]:
    """``names`` and, of them, those that ask before each use and those that ask once per session,
    as answer fields (three runs split by an empty field): :func:`split_needing` reads them."""
    each, once = consent_needed(vault, names)
    return [*names, "", *each, "", *once]


def split_needing(checked: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The three runs :func:`needing_fields` wrote (after the outcome field)."""
    first = checked.index("", 1)
    second = checked.index("", first + 1)
    return checked[1:first], checked[first + 1 : second], checked[second + 1 :]


@dataclass
class Asking:
    """One request's questions: whose (the forward, or session), about what, and who reads."""

    forward_id: str
    forward: Forward
    confirmations: Confirmations
    run: Run
    op: str
    reader: str | None
    program: str
    purpose: str = "a token read"
    pid: int | None = None
    """The reading process (its terminal may ask, when nothing else does)."""


def ask_first(
    asking: Asking, call: Call, names: list[str], required: Collection[str], go: Callable[[Call], None],
    once: Collection[str] = (),
) -> None:  # fmt: skip
    """Ask the user about each of ``names`` that needs a yes first (:meth:`Forward.to_ask`), one
    after another, then ``go``; the first no (or no answer in time) refuses the request.  The
    request waits parked meanwhile, holding no worker."""
    left = asking.forward.to_ask(names, required, once)
    if not left:
        go(call)
        return
    _ask(asking, call, left, go)


def _ask(asking: Asking, call: Call, left: list[str], go: Callable[[Call], None]) -> None:
    forward, name = asking.forward, left[0]

    def answered(allowed: bool, why: str) -> None:
        if not allowed:
            call.resume(lambda again: _refuse(asking, again, name, why))
            return
        forward.allowed_once(name)
        call.resume((lambda again: _ask(asking, again, left[1:], go)) if left[1:] else go)

    call.park()
    asked = asking.confirmations.ask(
        asking.forward_id, forward.host, name, asking.op, answered, program=asking.program,
        purpose=asking.purpose, session=forward.session, join=forward.once, pid=asking.pid,
    )  # fmt: skip
    if not asked:
        waiting = f"{asking.confirmations.limit} uses by {forward.who} were already waiting for an answer"
        _refuse(asking, call, name, waiting)


def _reader(forward: Forward, call: Call) -> str | None:
    """The reader, as the audit names it: in a session, the program that asked; for a forward, the
    local ``ssh`` that carried the remote machine's request (the remote program is not knowable
    here: the row's ``host=`` says where it ran)."""
    from vault.services.read_log import reader_of

    return reader_of(call.peer_pid) if call.peer_pid is not None else None


def _program(forward: Forward, call: Call) -> str:
    """Who a question names as asking: a session's process as :meth:`Peer.shown` does (with its
    working directory); a forward's, its host (its peer is sshd)."""
    from vault.core.peers import peer

    found = peer(call.peer_pid) if forward.session is not None and call.peer_pid is not None else None
    return found.shown() if found is not None else forward.who


def _refuse(asking: Asking, call: Call, name: str, why: str) -> None:
    def refuse(vault: Vault) -> list[str]:
        raise asking.forward.deny(vault, name, asking.op, why, asking.reader)

    call.reply(asking.run(asking.op, refuse))


def request_forward(host: str, names: list[str], ttl: float | None, *, confirm: bool) -> tuple[str, str]:
    """Ask the running agent for a forward to ``host`` owned by this process (it ends when this
    process does): its id and local socket path.

    Raises:
        VaultError: the agent refused (a name not stored, locked), or stopped answering.
    """
    import os

    from vault.agent import wire
    from vault.errors import VaultLocked

    fields = ("" if ttl is None else str(ttl), str(os.getpid()), "confirm" if confirm else "-")
    opened = wire.call("forward-open", host, *fields, *names, opt_out=False)
    if opened is None:
        raise VaultLocked("the agent stopped answering; nothing was forwarded")
    if opened[0] != "0":
        raise wire.error_from(opened)
    return opened[1], opened[2]


def active_forwards(home: str | None = None) -> list[dict[str, object]] | None:
    """The running agent's forwards (:meth:`Forward.summary` each), or None when no agent answers."""
    import json

    from vault.agent import wire

    answer = wire.call("forwards", home=home, opt_out=False)
    if answer is None or answer[0] != "0":
        return None
    return [json.loads(row) for row in answer[1:]]


def end_forward(forward_id: str, home: str | None = None) -> bool:
    """Close forward ``forward_id`` (its socket goes, its session's remote reads fail); whether
    an agent answered."""
    from vault.agent import wire

    return wire.call("forward-close", forward_id, home=home, opt_out=False) == ["0"]
