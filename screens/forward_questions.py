"""``tokendeck ssh --confirm`` questions, put to the user in the TUI while it runs beside the agent.

Each use of a ``--confirm`` forward waits in the agent as a question
(:class:`vault.agent.consent.Confirmations`); the TUI asks it with a
:class:`~screens.dialogs.confirm.ConfirmDialog` and answers.  Whoever answers first (this
dialog or the ``tokendeck ssh`` terminal) decides; a dialog answered after the agent gave
up (60 s) says so.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from textual.app import App

from screens.dialogs.confirm import ConfirmDialog


class ForwardQuestions:
    """Asks each waiting question once; :meth:`poll` runs on the app's watch thread."""

    def __init__(self, app: App[Any], home: str) -> None:
        self.app = app
        self.home = home
        self._asked: set[str] = set()

    def poll(self) -> None:
        """Ask the agent what waits (from a thread), and put each new question up."""
        from vault.agent.consent import new_questions

        for question in new_questions(self._asked, home=self.home):
            self.app.call_from_thread(self._ask, question)

    def _ask(self, question: dict[str, str]) -> None:
        host, name, op = question["host"], question["credential"], question["op"]
        body = (
            f"A remote machine reached with tokendeck ssh --confirm wants {name} ({op}). Allow this one use? "
            "Anyone who is root there could be asking; no answer within a minute is no."
        )
        dialog = ConfirmDialog(f"{host} asks for {name}", body, yes="Allow")
        self.app.push_screen(dialog, partial(self._answered, question["id"], name))

    def _answered(self, question_id: str, name: str, allow: bool | None) -> None:
        threading.Thread(target=self._send, args=(question_id, name, bool(allow)), daemon=True).start()

    def _send(self, question_id: str, name: str, allow: bool) -> None:
        from vault.agent.consent import answer_question

        if not answer_question(question_id, allow, self.home):
            self.app.call_from_thread(
                self.app.notify, f"Too late: the question about {name} was already answered, or timed out.",
                title="Forwards", severity="warning", markup=False,
            )  # fmt: skip
