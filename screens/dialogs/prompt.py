"""A one-line question (rename): dismisses with the text, or None when cancelled.

With ``attempt``, the answer is tried first (in a worker, since it may write the vault): a
refusal is shown in the dialog, which stays open with the text as typed, so the user can
correct it; the dialog closes only once the attempt worked."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from screens.widgets.footer import KeysFooter
from screens.widgets.guarded_input import GuardedInput
from vault.errors import VaultError


class PromptDialog(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", tooltip="leave it as it was")]

    def __init__(self, title: str, value: str = "", *, attempt: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.question = title
        self.value = value
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt", classes="dialog"):
            yield Static(self.question, classes="title", markup=False)
            yield GuardedInput(value=self.value, id="answer")
            yield Label("", id="prompt-problem", classes="problem", markup=False)
        yield KeysFooter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        answer = event.value.strip() or None
        if answer is None or self.attempt is None:
            self.dismiss(answer)
        else:
            self._try(self.attempt, answer)

    @work(thread=True, exclusive=True, exit_on_error=False, group="edit")
    def _try(self, attempt: Callable[[str], None], answer: str) -> str | None:
        """The answer once the attempt worked, None after a refusal (shown in the dialog)."""
        try:
            attempt(answer)
        except VaultError as exc:
            self.app.call_from_thread(self.query_one("#prompt-problem", Label).update, exc.message)
            return None
        return answer

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Dismissed only once the worker has finished: dismissing from inside it would cancel
        # the screen's workers, this one included, while it was still returning.
        if event.worker.group == "edit" and event.state == WorkerState.SUCCESS and event.worker.result is not None:
            self.dismiss(event.worker.result)

    def action_cancel(self) -> None:
        self.dismiss(None)
