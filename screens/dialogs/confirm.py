"""A yes/no question for destructive actions: revoke, delete, plaintext export, rekey."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from screens.widgets.footer import KeysFooter

NO = "Cancel"
"""The button (and the key) that leaves everything as it is."""


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes (``y`` or the button).

    Its keys are named as its buttons (``y Revoke  n Cancel``), in the footer and the help
    (:attr:`key_labels`): one vocabulary on one dialog.

    Args:
        title: the question.
        body: what will and will not happen; shown as plain text, never markup.
        yes: the label of the destructive button.
        no: the label of the button that leaves everything as it is (``Deny`` for a consent question).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", tooltip="yes, do it"),
        Binding("n,escape", "answer(False)", NO, tooltip="no, leave everything as it is"),
    ]

    def __init__(self, title: str, body: str, *, yes: str = "Yes", no: str = NO) -> None:
        super().__init__()
        self.question = title
        self.body = body
        self.yes = yes
        self.no = no
        self.key_labels = {"answer(True)": yes, "answer(False)": no}
        """What the footer and the help call the keys: the buttons' words."""

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(self.question, classes="title", markup=False)
            yield Static(self.body, id="confirm-body", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, id="yes", variant="error")
                yield Button(self.no, id="no")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
