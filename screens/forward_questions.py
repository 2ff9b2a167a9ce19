"""Consent questions (``tokendeck ssh --confirm``, a session's ``--confirm``, a credential that asks
before each use), put to the user in the TUI while it runs beside the agent.

Each use waiting for a yes is a question in the agent (:class:`vault.agent.consent.Confirmations`);
while the TUI polls, the agent leaves its questions to it (a session's terminal does not ask
them too), and hands it the oldest of each forward or session: the TUI asks them one at a time
with a :class:`~screens.dialogs.confirm.ConfirmDialog`, the rest waiting their turn.  A dialog
answered after the agent gave up says it came too late (no answer in time was no).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from textual.app import App

from screens.dialogs.confirm import ConfirmDialog


def question_words(question: dict[str, str]) -> tuple[str, str]:
    """The dialog's title and body for one question (text from outside is shown as plain text)."""
    host, name, timeout = question["host"], question["credential"], question.get("timeout") or "60"
    purpose = question.get("purpose") or "a token read"
    if question.get("kind") == "reader":  # a credential that asks before each use, read outside any session
        body = (
            f"{question.get('program') or host} wants {name} for {purpose}. Allow this one use? "
            f"No answer within {timeout} s is no. (tokendeck confirm {name} off stops these questions.)"
        )
        return f"{name} asks before each use", body
    if not question.get("session"):
        title = f"{host} asks for {name}"
        body = (
            f"A remote machine reached with tokendeck ssh --confirm wants {name} ({question['op']}). Allow this "
            f"one use? Anyone who is root there could be asking; no answer within {timeout} s is no."
        )
        return title, body
    who = f"session {question['session']} ({host})"
    body = (
        f"{question.get('program') or who} wants {name} for {purpose}. "
        f"Allow this one use? No answer within {timeout} s is no."
    )
    return f"{who} asks for {name}", body


class ForwardQuestions:
    """Asks each waiting question once, one at a time; :meth:`poll` runs on the app's watch thread."""

    def __init__(self, app: App[Any], home: str) -> None:
        self.app = app
        self.home = home
        self._asked: set[str] = set()
        self._waiting: deque[dict[str, str]] = deque()
        self._showing = False

    def poll(self) -> None:
        """Ask the agent what waits (from a thread), and queue each new question."""
        from vault.agent.consent import new_questions

        fresh = new_questions(self._asked, home=self.home, asker=("tui",))
        if fresh:
            self.app.call_from_thread(self._queue, fresh)

    @property
    def waiting(self) -> int:
        """Questions queued behind the one on screen."""
        return len(self._waiting)

    def _queue(self, questions: list[dict[str, str]]) -> None:
        self._waiting.extend(questions)
        self._next()

    def _next(self) -> None:
        if self._showing or not self._waiting:
            return
        question = self._waiting.popleft()
        self._showing = True
        title, body = question_words(question)
        dialog = ConfirmDialog(title, body, yes="Allow", no="Deny")
        self.app.push_screen(dialog, lambda allow: self._answered(question["id"], question["credential"], allow))

    def _answered(self, question_id: str, name: str, allow: bool | None) -> None:
        self._showing = False
        threading.Thread(target=self._send, args=(question_id, name, bool(allow)), daemon=True).start()
        self._next()

    def _send(self, question_id: str, name: str, allow: bool) -> None:
        from vault.agent.consent import answer_question

        status = answer_question(question_id, allow, self.home)
        if status == "answered":
            return
        if status == "late":
            line = f"Too late: the question about {name} timed out, and the use was refused."
        else:
            line = f"Too late: the question about {name} was already answered elsewhere."
        self.app.call_from_thread(
            self.app.notify, line, title="Consent", severity="warning", markup=False
        )  # fmt: skip
