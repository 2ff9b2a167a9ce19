"""Agent forwarding (``tokendeck ssh``): what a forwarded socket may ask of the agent.

A forward is one SSH session's restricted view of the agent.  It serves only the reads a
remote shell needs (``token``, ``tokens`` for ``exec``, ``list`` and ``git`` for the
credential helper), only for the credentials the user named with ``--only``, and only
until its time is up.  Nothing that manages the vault is served (no add, remove, rename,
export, lock or unlock), nor anything that gives the key; every request through it is
audited with the session's host.  The remote never refreshes: :meth:`Vault.token` runs
here, in the agent that owns every refresh.

This module is the rule, written once; :class:`vault.agent.server.Agent` serves it on each
forward's own socket.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from vault.agent.ops import OPS, listing
from vault.errors import NotForwarded
from vault.services.tokens import Vault
from vault.settings import CONFIRM_TIMEOUT

SERVED_OPS = ("token", "tokens", "list", "git")
"""The agent's requests a forward passes on; every other one is refused."""


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
    confirm: Callable[[str, str], bool] | None = None
    """With ``--confirm``: asks the user whether this host may use a credential for an op."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def summary(self, forward_id: str) -> dict[str, object]:
        """What ``tokendeck ssh`` and the TUI show of it (no secret is in a forward)."""
        return {
            "id": forward_id, "host": self.host, "names": sorted(self.allowed), "served": self.served,
            "ends_at": self.ends_at, "confirm": self.confirm is not None,
        }  # fmt: skip

    def over(self, now: float) -> bool:
        return self.ends_at is not None and now >= self.ends_at

    def answer(self, vault: Vault, op: str, args: list[str]) -> list[str]:
        """The fields of the answer to ``op`` (outcome first is the caller's), as the agent
        gives them, for the allowed credentials only; audited.

        Raises:
            NotForwarded: the forward is over, the request is not one it serves, or it
                names a credential it does not.
        """
        if self.over(vault.clock.now()):
            raise NotForwarded(f"the forward to {self.host} has ended (its --ttl is up)")
        if op not in SERVED_OPS:
            raise NotForwarded(f"tokendeck ssh does not pass {op!r} on to {self.host}: only token, exec, list and git")
        names = self._names(vault, op, args)
        refused = [n for n in names if n not in self.allowed]
        if refused:
            self._audit(vault, "refused", refused[0], op)
            raise NotForwarded(
                f"{refused[0]} is not forwarded to {self.host} (tokendeck ssh --only NAME,... names what is)"
            )
        if self.confirm is not None:
            for name in names:
                if not self.confirm(name, op):
                    self._audit(vault, "denied", name, op)
                    raise NotForwarded(
                        f"the use of {name} by {self.host} was not allowed on the machine with the vault "
                        "(denied, or no answer in time)"
                    )
        answer = listing(vault, args, only=self.allowed) if op == "list" else OPS[op](vault, args)
        read: list[str | None] = list(names) or [None]  # a list, or a git host mapped to nothing, is audited too
        for credential in read:
            self._audit(vault, "served", credential, op)
        with self._lock:
            self.served += 1
        return answer

    def _audit(self, vault: Vault, outcome: str, credential: str | None, op: str) -> None:
        vault.record("forward", outcome, credential=credential, detail=f"host={self.host} op={op}")

    def _names(self, vault: Vault, op: str, args: list[str]) -> list[str]:
        """The credentials ``op`` would read (a git host maps to its credential)."""
        if op in ("token", "tokens"):
            return list(args)
        if op == "git":
            from vault.services.gitcred import mapping

            _protocol, host, _path = args
            found = mapping(vault, host)
            return [found[0]] if found else []
        return []


@dataclass
class Question:
    """One use waiting for the user's yes or no (``--confirm``)."""

    id: str
    forward_id: str
    host: str
    credential: str
    op: str
    answered: threading.Event = field(default_factory=threading.Event, repr=False)
    allowed: bool = False

    def summary(self) -> dict[str, str]:
        return {
            "id": self.id,
            "forward": self.forward_id,
            "host": self.host,
            "credential": self.credential,
            "op": self.op,
        }


class Confirmations:
    """The questions of every ``--confirm`` forward; whoever the user answers with (the
    ``tokendeck ssh`` prompt, the TUI) answers through :meth:`answer`; no answer in time is no."""

    def __init__(self, timeout: float = CONFIRM_TIMEOUT) -> None:
        self.timeout = timeout
        self._pending: dict[str, Question] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def ask(self, forward_id: str, host: str, credential: str, op: str) -> bool:
        """Block until the user answers (or :attr:`timeout`); whether the use is allowed."""
        with self._lock:
            question = Question(str(next(self._ids)), forward_id, host, credential, op)
            self._pending[question.id] = question
        try:
            question.answered.wait(self.timeout)
            return question.allowed
        finally:
            with self._lock:
                self._pending.pop(question.id, None)

    def pending(self) -> list[Question]:
        with self._lock:
            return list(self._pending.values())

    def cancel(self, forward_id: str | None = None) -> None:
        """Deny at once what waits for forward ``forward_id`` (every forward: None), as when it
        closes or the agent stops: nobody is left to be served."""
        with self._lock:
            waiting = [q for q in self._pending.values() if forward_id is None or q.forward_id == forward_id]
        for question in waiting:
            self.answer(question.id, allow=False)

    def answer(self, question_id: str, allow: bool) -> bool:
        """Answer a waiting question; whether it was still waiting."""
        with self._lock:
            question = self._pending.get(question_id)
            if question is None or question.answered.is_set():
                return False
            question.allowed = allow
            question.answered.set()
            return True


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


def pending_questions(home: str | None = None) -> list[dict[str, str]]:
    """The ``--confirm`` questions waiting for the user (:meth:`Question.summary` each)."""
    import json

    from vault.agent import wire

    answer = wire.call("questions", home=home, opt_out=False)
    return [json.loads(row) for row in answer[1:]] if answer is not None and answer[0] == "0" else []


def new_questions(asked: set[str], *, forward_id: str | None = None, home: str | None = None) -> list[dict[str, str]]:
    """The waiting questions (of forward ``forward_id``, or of every one) not in ``asked``, each
    added to it: what a front end puts to the user, each once, polling."""
    fresh = [q for q in pending_questions(home) if q["id"] not in asked and forward_id in (None, q["forward"])]
    asked.update(q["id"] for q in fresh)
    return fresh


def answer_question(question_id: str, allow: bool, home: str | None = None) -> bool:
    """Allow or deny a waiting use; whether it was still waiting (not timed out or answered elsewhere)."""
    from vault.agent import wire

    answer = wire.call("answer", question_id, "allow" if allow else "deny", home=home, opt_out=False)
    return answer == ["0", "answered"]
