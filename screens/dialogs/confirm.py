"""A yes/no question for destructive actions: revoke, delete, plaintext export, rekey."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from screens.widgets.footer import KeysFooter


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes (``y`` or the button).

    Args:
        title: the question.
        body: what will and will not happen; shown as plain text, never markup.
        yes: the label of the destructive button.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", tooltip="yes: do it"),
        Binding("n", "answer(False)", "No", tooltip="no: leave everything as it is"),
        Binding("escape", "answer(False)", "Cancel", tooltip="no: leave everything as it is"),
    ]

    def __init__(self, title: str, body: str, *, yes: str = "Yes") -> None:
        super().__init__()
        self.question = title
        self.body = body
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(self.question, classes="title", markup=False)
            yield Static(self.body, id="confirm-body", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, id="yes", variant="error")
                yield Button("Cancel", id="no")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
