"""Replacing a static token's value (a rotated PAT) in place: its name, account, extras and
export bindings stay (:func:`vault.services.static_tokens.rotate`).

The new token is typed into a masked field and never shown, logged or put in a message;
the vault's refusal (a bad token, an expiry in the past) shows in the dialog, which stays
open with what was typed."""

from __future__ import annotations

from typing import ClassVar

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from screens.app import VaultApp
from screens.widgets.footer import KeysFooter
from screens.widgets.guarded_input import GuardedInput
from vault.core.secret import Secret
from vault.errors import VaultError
from vault.services.undo import Undo


class RotateDialog(ModalScreen[bool]):
    """Dismisses with True once the new token is stored, False when cancelled.

    Args:
        name: the static credential.
        expiry: its stored expiry, as the field's hint says it (``2026-12-31``, ``none``).
    """

    app = getters.app(VaultApp)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", tooltip="keep the old token")]

    def __init__(self, name: str, expiry: str) -> None:
        super().__init__()
        self.credential = name
        self.expiry = expiry
        self.undo: Undo | None = None
        """Once the new token is stored: what puts the old one back (for the app's ``u``)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="rotate", classes="dialog"):
            yield Static(f"A new token for {self.credential}", classes="title", markup=False)
            yield Static(
                "Its name, account and export bindings stay; a plaintext export is re-written.", classes="muted"
            )
            yield Input(placeholder="the new token (hidden)", password=True, id="new-token")
            yield GuardedInput(
                placeholder=f"its expiry: 90d, 2027-03-01, never; blank keeps {self.expiry}", id="new-expiry"
            )
            yield Label("", id="rotate-problem", classes="problem", markup=False)
        yield KeysFooter()

    @on(Input.Submitted, "#new-token")
    def _token_entered(self) -> None:
        self.query_one("#new-expiry", Input).focus()

    @on(Input.Submitted, "#new-expiry")
    def _submitted(self) -> None:
        token = self.query_one("#new-token", Input).value
        if not token:
            self.query_one("#rotate-problem", Label).update("Paste the new token.")
            self.query_one("#new-token", Input).focus()
            return
        self._store(Secret(token), self.query_one("#new-expiry", Input).value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="edit", description="store the new token")
    def _store(self, token: Secret, expires: str) -> bool:
        from vault.services.static_tokens import rotate
        from vault.services.undo import replaced

        records = self.app.unlocked_vault.records
        try:
            before = records.get(self.credential)
            rotate(records, self.credential, token.reveal(), expires=expires)
            self.undo = replaced(records, before)
        except VaultError as exc:
            self.app.call_from_thread(self.query_one("#rotate-problem", Label).update, exc.message)
            return False
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "edit" and event.state == WorkerState.SUCCESS and event.worker.result:
            self.query_one("#new-token", Input).value = ""
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.query_one("#new-token", Input).value = ""
        self.dismiss(False)
