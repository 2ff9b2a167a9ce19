"""Consent: a use of a credential waiting for the user's yes (``tokendeck ssh --confirm``, and
sessions'): the questions the agent holds (:class:`Confirmations`), and what a front end (the
TUI, a terminal) asks it for and answers with.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vault.settings import CONFIRM_TIMEOUT, FORWARD_PENDING_QUESTIONS

if TYPE_CHECKING:
    from vault.agent.desktop import Desktop

Clock = Callable[[], float]


NO_ANSWER = "no answer in time"
"""Why a use was refused when nobody answered within :attr:`Confirmations.timeout` (audited as
``unanswered``, not ``denied``)."""
DENIED = "denied"
ENDED = "its forward or session ended first"
TUI_FRESH = 3.0
"""Seconds since a TUI last asked for questions during which it counts as the one asking (it polls
every second): a session's terminal leaves the questions to it meanwhile."""
LATE_KEPT = 256
"""Questions that timed out remembered, so a late answer is told it came too late."""


def configured_timeout() -> float:
    """:data:`CONFIRM_TIMEOUT`, or the consent tests' own (``$TOKENDECK_CONFIRM_TIMEOUT``)."""
    import os

    from vault.settings import CONFIRM_TIMEOUT_ENV

    try:
        seconds = float(os.environ.get(CONFIRM_TIMEOUT_ENV, ""))
    except ValueError:
        return CONFIRM_TIMEOUT
    return seconds if seconds > 0 else CONFIRM_TIMEOUT


Then = Callable[[bool, str], None]
"""What a question calls once: allowed, and why not (:data:`DENIED`, :data:`NO_ANSWER`, ...)."""


@dataclass
class Question:
    """One use waiting for the user's yes or no (``--confirm``, a credential that asks first)."""

    id: str
    forward_id: str
    host: str
    credential: str
    op: str
    then: list[Then] = field(repr=False)
    asked_at: float = 0.0
    program: str = ""
    """Who wants it: :meth:`vault.core.peers.Peer.shown` (executable, command line, directory)."""
    purpose: str = ""
    """What for: ``a token read``, ``a proxied request to api.github.com``."""
    session: str | None = None
    pid: int | None = None
    """The reading process: its own terminal may ask (``questions terminal reader-PID``)."""
    desktop: bool = False
    """Put up as a desktop notification: a session's terminal leaves it to that."""

    def summary(self, timeout: float = CONFIRM_TIMEOUT) -> dict[str, str]:
        return {
            "id": self.id,
            "forward": self.forward_id,
            "host": self.host,
            "credential": self.credential,
            "op": self.op,
            "program": self.program,
            "purpose": self.purpose,
            "session": self.session or "",
            "kind": "session" if self.session else "reader" if self.forward_id.startswith("reader-") else "forward",
            "timeout": f"{timeout:.0f}",
        }


class Confirmations:
    """The questions waiting for the user; whoever the user answers with (the TUI, a desktop
    notification, the ``tokendeck ssh`` or session's terminal) answers through :meth:`answer`;
    no answer in :attr:`timeout` seconds is no (:meth:`expire`), and an answer after that is told
    it came too late (:meth:`status`).  Nobody waits on a question: it holds callbacks, so a use
    waiting for the user holds no thread.  A forward (or session) has at most :attr:`limit`
    questions waiting, and front ends are shown its oldest only (:meth:`front`): one at a time."""

    def __init__(
        self, timeout: float | None = None, limit: int = FORWARD_PENDING_QUESTIONS, clock: Clock = time.monotonic
    ) -> None:
        self.timeout = configured_timeout() if timeout is None else timeout
        self.limit = limit
        self._clock = clock
        self._pending: dict[str, Question] = {}
        self._late: dict[str, str] = {}
        self._tui_seen: float | None = None
        self.desktop: Desktop | None = None
        """Desktop notifications (:mod:`vault.agent.desktop`), when the agent has a session bus."""
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def ask(
        self, forward_id: str, host: str, credential: str, op: str, then: Then, *,
        program: str = "", purpose: str = "", session: str | None = None, join: bool = False,
        pid: int | None = None,
    ) -> bool:  # fmt: skip
        """Put the question to the user: ``then(allowed, why)`` is called once, from the thread that
        answers it (or expires or cancels it).  With ``join``, a question already waiting about the
        same credential for the same forward answers this use too (``--confirm=once``).  False:
        the forward already has :attr:`limit` questions waiting, and nothing was asked.  With no TUI
        asking, a :attr:`desktop` notification is put up too."""
        desktop = self.desktop if self.desktop is not None and self.desktop.available and not self.tui_here() else None
        with self._lock:
            mine = [q for q in self._pending.values() if q.forward_id == forward_id]
            same = [q for q in mine if q.credential == credential] if join else []
            if same:
                same[0].then.append(then)
                return True
            if len(mine) >= self.limit:
                return False
            question = Question(
                str(next(self._ids)), forward_id, host, credential, op, [then], self._clock(),
                program=program, purpose=purpose, session=session, pid=pid, desktop=desktop is not None,
            )  # fmt: skip
            self._pending[question.id] = question
        if desktop is not None:
            desktop.ask(question)
        return True

    def pending(self) -> list[Question]:
        with self._lock:
            return list(self._pending.values())

    def front(self) -> list[Question]:
        """The oldest waiting question of each forward: what the user is asked now, one at a time."""
        first: dict[str, Question] = {}
        for question in sorted(self.pending(), key=lambda q: int(q.id)):
            first.setdefault(question.forward_id, question)
        return list(first.values())

    def tui_polled(self) -> None:
        """A TUI asked for the questions: it is the one asking, for :data:`TUI_FRESH` seconds."""
        with self._lock:
            self._tui_seen = self._clock()

    def tui_here(self) -> bool:
        with self._lock:
            return self._tui_seen is not None and self._clock() - self._tui_seen < TUI_FRESH

    def expire(self) -> None:
        """Refuse what has waited longer than :attr:`timeout` (:data:`NO_ANSWER`)."""
        cutoff = self._clock() - self.timeout
        with self._lock:
            late = [q.id for q in self._pending.values() if q.asked_at <= cutoff]
        for question_id in late:
            self.answer(question_id, allow=False, why=NO_ANSWER)

    def cancel(self, forward_id: str | None = None) -> None:
        """Deny at once what waits for forward ``forward_id`` (every forward: None), as when it
        closes or the agent stops: nobody is left to be served."""
        with self._lock:
            waiting = [q.id for q in self._pending.values() if forward_id is None or q.forward_id == forward_id]
        for question_id in waiting:
            self.answer(question_id, allow=False, why=ENDED)

    def answer(self, question_id: str, allow: bool, why: str = DENIED) -> bool:
        """Answer a waiting question; whether it was still waiting."""
        with self._lock:
            question = self._pending.pop(question_id, None)
            if question is not None and why == NO_ANSWER:
                self._late[question_id] = question.credential
                while len(self._late) > LATE_KEPT:
                    self._late.pop(next(iter(self._late)))
        if question is None:
            return False
        if question.desktop and self.desktop is not None:
            self.desktop.answered(question)
        for then in question.then:
            then(allow, "" if allow else why)
        return True

    def status(self, question_id: str) -> str:
        """Of a question no longer waiting: ``late`` (it timed out: no answer was no) or ``gone``."""
        with self._lock:
            return "late" if question_id in self._late else "gone"


def pending_questions(home: str | None = None, *asker: str) -> list[dict[str, str]]:
    """The ``--confirm`` questions waiting for the user (:meth:`Question.summary` each).  ``asker``:
    ``tui`` (a TUI polling: the agent leaves questions to it while it does, and shows it one per
    forward at a time) or ``terminal FORWARD_ID`` (a session's own terminal: its forward's front
    question, unless a TUI or a desktop notification is asking it); none: every waiting one."""
    import json

    from vault.agent import wire

    answer = wire.call("questions", *asker, home=home, opt_out=False)
    return [json.loads(row) for row in answer[1:]] if answer is not None and answer[0] == "0" else []


def new_questions(
    asked: set[str], *, forward_id: str | None = None, home: str | None = None, asker: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """The waiting questions (of forward ``forward_id``, or of every one) not in ``asked``, each
    added to it: what a front end puts to the user, each once, polling."""
    waiting = pending_questions(home, *asker)
    fresh = [q for q in waiting if q["id"] not in asked and forward_id in (None, q["forward"])]
    asked.update(q["id"] for q in fresh)
    return fresh


def answer_question(question_id: str, allow: bool, home: str | None = None) -> str:
    """Allow or deny a waiting use: ``answered``; ``late`` when it had timed out (no answer in time
    was no); ``gone`` when it was answered elsewhere, or the agent did not answer."""
    from vault.agent import wire

    answer = wire.call("answer", question_id, "allow" if allow else "deny", home=home, opt_out=False)
    return answer[1] if answer is not None and answer[0] == "0" and len(answer) == 2 else "gone"
