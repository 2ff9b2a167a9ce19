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

from vault.settings import CONFIRM_TIMEOUT, FORWARD_PENDING_QUESTIONS

Clock = Callable[[], float]


@dataclass
class Question:
    """One use waiting for the user's yes or no (``--confirm``)."""

    id: str
    forward_id: str
    host: str
    credential: str
    op: str
    then: Callable[[bool], None] = field(repr=False)
    asked_at: float = 0.0

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
    ``tokendeck ssh`` prompt, the TUI) answers through :meth:`answer`; no answer in
    :attr:`timeout` seconds is no (:meth:`expire`).  Nobody waits on a question: it holds a
    callback, so a use waiting for the user holds no thread.  A forward has at most
    :attr:`limit` questions waiting."""

    def __init__(
        self, timeout: float = CONFIRM_TIMEOUT, limit: int = FORWARD_PENDING_QUESTIONS, clock: Clock = time.monotonic
    ) -> None:
        self.timeout = timeout
        self.limit = limit
        self._clock = clock
        self._pending: dict[str, Question] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def ask(self, forward_id: str, host: str, credential: str, op: str, then: Callable[[bool], None]) -> bool:
        """Put the question to the user: ``then(allowed)`` is called once, from the thread that
        answers it (or expires or cancels it).  False: the forward already has :attr:`limit`
        questions waiting, and nothing was asked."""
        with self._lock:
            if sum(q.forward_id == forward_id for q in self._pending.values()) >= self.limit:
                return False
            question = Question(str(next(self._ids)), forward_id, host, credential, op, then, self._clock())
            self._pending[question.id] = question
        return True

    def pending(self) -> list[Question]:
        with self._lock:
            return list(self._pending.values())

    def expire(self) -> None:
        """Deny what has waited longer than :attr:`timeout`."""
        cutoff = self._clock() - self.timeout
        with self._lock:
            late = [q.id for q in self._pending.values() if q.asked_at <= cutoff]
        for question_id in late:
            self.answer(question_id, allow=False)

    def cancel(self, forward_id: str | None = None) -> None:
        """Deny at once what waits for forward ``forward_id`` (every forward: None), as when it
        closes or the agent stops: nobody is left to be served."""
        with self._lock:
            waiting = [q.id for q in self._pending.values() if forward_id is None or q.forward_id == forward_id]
        for question_id in waiting:
            self.answer(question_id, allow=False)

    def answer(self, question_id: str, allow: bool) -> bool:
        """Answer a waiting question; whether it was still waiting."""
        with self._lock:
            question = self._pending.pop(question_id, None)
        if question is None:
            return False
        question.then(allow)
        return True


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
