"""One credential: every non-secret fact, its audit trail, and the token behind a mask.

The screen keeps no secret.  It holds a copy of the credential with its tokens
swapped for empty placeholders (enough to compute the status), and reads the
token from the vault only when the user reveals (``v``) or copies (``c``) it.
A revealed token is replaced by the mask when the reveal timer fires, so no
widget holds it afterwards.  A copied token is cleared from the clipboard later
(:mod:`screens.clipboard`).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import events, getters
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from screens import actions
from screens.app import VaultApp
from screens.clipboard import seconds
from screens.logic.countdown import Urgency, urgency
from screens.logic.facts import FACTS, fact_values, hidden_facts
from screens.messages import CredentialBusy, CredentialDeleted, CredentialRenamed, VaultChanged
from screens.palette import ActionCommands, Command
from screens.widgets.footer import KeysFooter
from screens.widgets.title_header import TitleHeader
from vault import Vault
from vault.core.model import STATUSES, AuditEvent, Credential
from vault.core.secret import Secret
from vault.core.timefmt import iso
from vault.errors import NotFound, VaultError, printable
from vault.services.usage import NOTHING

MASK = "••••••••"
"""What stands in for the token while it is hidden (its length is said beside it)."""

TICK_SECONDS = 1.0
"""How often the relative times are re-read from the app's clock."""

AUDIT_LIMIT = 200
"""The newest audit events shown; older ones stay in ``tokendeck audit``."""

URGENCIES: tuple[Urgency, ...] = ("fine", "warning", "danger", "expired", "stopped")

AUDIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("time", "Time"),
    ("action", "Action"),
    ("outcome", "Outcome"),
    ("detail", "Detail"),
)

_PLACEHOLDER = Secret("")
"""Stands in for a token the screen must not keep: only its presence matters for the status."""


def seconds_now() -> float:
    """The reveal's clock (monotonic seconds; tests replace it to count down without waiting)."""
    return time.monotonic()


def without_secrets(credential: Credential) -> Credential:
    """The same facts with every token swapped for an empty placeholder (presence kept)."""
    return replace(
        credential,
        access_token=None if credential.access_token is None else _PLACEHOLDER,
        refresh_token=None if credential.refresh_token is None else _PLACEHOLDER,
        id_token=None if credential.id_token is None else _PLACEHOLDER,
    )


def masked(length: int) -> str:
    """The mask and the token's length: ``••••••••  (40 characters)``."""
    return f"{MASK}  ({length} character{'' if length == 1 else 's'})"


class DetailCommands(ActionCommands):
    """The command palette's entries for the credential shown (the app adds its own)."""

    def commands(self) -> list[Command]:
        screen = self.screen
        if not isinstance(screen, DetailScreen):
            return []
        return [
            ("Reveal the token", "for a few seconds", screen.action_reveal),
            ("Copy the token", "cleared from the clipboard later", screen.action_copy),
            ("Copy as Authorization: Bearer …", "a header line; cleared later", screen.action_copy_bearer),
            ("Copy a shell line that reads the token", 'export VAR="$(tokendeck token NAME)"', screen.action_copy_line),
        ]


class DetailScreen(Screen[None]):
    """Everything about one credential, with reveal, copy and the list's actions.

    Args:
        name: the credential to show.
    """

    app = getters.app(VaultApp)
    token_view = getters.query_one("#token", Static)
    token_hint = getters.query_one("#token-hint", Static)
    audit_table = getters.query_one("#audit", DataTable)

    COMMANDS = Screen.COMMANDS | {DetailCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="back to the list"),
        Binding("v", "reveal", "Reveal", tooltip="show the token for a few seconds (v again hides it)"),
        Binding("c,y", "copy", "Copy", tooltip="copy the token (cleared from the clipboard later)"),
        Binding("Y", "copy_line", "Copy line", show=False, tooltip="copy a shell line that reads the token"),
        Binding(
            "b", "copy_bearer", "Copy header", show=False, tooltip="copy as Authorization: Bearer … (cleared later)"
        ),
        Binding("r", "refresh", "Refresh", tooltip="refresh the token now"),
        Binding("l", "sign_in_again", "Sign in again", tooltip="sign in again"),
        Binding("e", "export", "Export", tooltip="export into a .env, .netrc or an agent's MCP config"),
        Binding("x", "revoke", "Revoke", tooltip="revoke at the provider, then erase (asks first)"),
        Binding("d", "delete", "Delete", tooltip="delete from the vault (asks first)"),
        Binding("n", "rename", "Rename", show=False, tooltip="rename"),
        Binding("t", "rotate", "New token", tooltip="replace the token's value (a rotated PAT)"),
    ]

    name_shown: reactive[str] = reactive("", init=False)
    """The credential shown; the rename action sets it, and the screen re-reads the vault."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.set_reactive(DetailScreen.name_shown, name)
        self._credential: Credential | None = None
        self._token_length = 0
        self._revealed = False
        self._reveal_timer: Timer | None = None
        self._hide_at = 0.0
        """When a revealed token is masked again (monotonic seconds)."""

    def compose(self) -> ComposeResult:
        yield TitleHeader()
        with Vertical(id="detail"):
            with Grid(id="facts"):
                for key, label in FACTS:
                    yield Static(label, id=f"label-{key}", classes="label", markup=False)
                    yield Static("", id=f"fact-{key}", classes="value", markup=False)
            with Horizontal(id="token-row"):
                yield Static("Token", classes="label", markup=False)
                yield Static("", id="token", markup=False)
            yield Static("", id="token-hint", markup=False)
            with Horizontal(id="used-by-row"):
                yield Static("Used by", classes="label", markup=False)
                yield Static("", id="used-by", markup=False)
            yield Static("Audit trail", id="audit-title", markup=False)
            yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    async def on_mount(self) -> None:
        for key, label in AUDIT_COLUMNS:
            self.audit_table.add_column(label, key=key)
        self.set_interval(TICK_SECONDS, self.tick)
        await self.load()

    # ------------------------------------------------------------------ data

    async def load(self, *, leave_if_gone: bool = True) -> None:
        """(Re)read the credential and its audit trail (in a worker).  A revealed token stays
        revealed until its time is up (a write elsewhere must not cut it short), showing what
        the vault holds now; the audit trail keeps its cursor and scroll.

        Args:
            leave_if_gone: go back to the list if the credential is no longer there.
                A reload on the screen's return does not: an action may have renamed or
                deleted it meanwhile, and its own message says which.
        """
        if self.app.vault is None:
            return
        name = self.name_shown

        forwarded = self.app.agent_pid is not None
        home = str(self.app.paths.home)

        def read(vault: Vault) -> tuple[Credential, list[AuditEvent], list[str]]:
            from vault.agent.forwarding import active_forwards
            from vault.services.usage import used_by

            credential = vault.get(name)
            forwards = (active_forwards(home) or []) if forwarded else []
            uses = used_by(vault.records, credential, now=vault.clock.now(), forwards=forwards)
            return credential, vault.records.audit_log(credential=name, limit=AUDIT_LIMIT), uses

        try:
            credential, events, uses = await self.app.read(read, name=f"read {name}")
        except NotFound:
            if leave_if_gone:
                self._gone()
            return
        except VaultError as exc:
            self.app.report(exc)
            return
        self._credential = without_secrets(credential)
        self._token_length = len(credential.access_token or "")
        self.sub_title = credential.name
        self.query_one("#used-by", Static).update(" · ".join(uses) if uses else NOTHING)
        hidden = hidden_facts(credential)
        for key, _label in FACTS:
            self.query_one(f"#label-{key}", Static).display = key not in hidden
            self.query_one(f"#fact-{key}", Static).display = key not in hidden
        token = credential.access_token
        if self._revealed and token is not None and credential.access_token_fault is None:
            self.token_view.update(Text(token.reveal()))  # still revealed, its countdown running
        else:
            self.mask()
        self.tick()
        self.refresh_bindings()
        self._load_audit(events)

    def _load_audit(self, events: list[AuditEvent]) -> None:
        table = self.audit_table
        row, scroll = table.cursor_row, table.scroll_y
        table.clear()
        for index, event in enumerate(reversed(events)):  # newest first
            table.add_row(
                Text(iso(event.at) or "-"),
                Text(event.action),
                Text(event.outcome),
                Text(printable(event.detail or "-"), no_wrap=True, overflow="ellipsis"),
                key=str(index),
            )
        if row:
            table.move_cursor(row=row, scroll=False)
        table.scroll_to(y=scroll, animate=False, immediate=True)

    def tick(self) -> None:
        """Re-read the clock: countdowns, status and their colour classes; a revealed token is
        masked once its time is up."""
        if self._revealed and seconds_now() >= self._hide_at:
            self.mask()
        self._say_time_shown()
        credential = self._credential
        if credential is None:
            return
        now = self.app.clock.now()
        facts = fact_values(credential, now)
        doing = self.app.busy.get(credential.name)
        if doing is not None:
            facts["status"] = f"{doing}…"
        for key, text in facts.items():
            widget = self.query_one(f"#fact-{key}", Static)
            if str(widget.content) != text:
                widget.update(text)
        status = credential.status_at(now)
        status_widget = self.query_one("#fact-status", Static)
        for name in STATUSES:
            status_widget.set_class(name == status, f"status-{name}")
        level = urgency(credential, now)
        expires = self.query_one("#fact-expires", Static)
        for each in URGENCIES:
            expires.set_class(each == level, f"urgency-{each}")

    async def watch_name_shown(self, _old: str, _new: str) -> None:
        await self.load()

    def _gone(self) -> None:
        """The credential is no longer in the vault (deleted elsewhere): go back to the list."""
        self._credential = None
        if self.is_current:
            self.app.notify(f"{self.name_shown} is no longer in the vault.", title="Gone", markup=False)
            self.action_back()

    # ----------------------------------------------------------- the token

    async def _token(self) -> str | None:
        """The stored access token, read now; None (and a notice) when there is none."""
        if self.app.vault is None:
            return None
        try:
            return await actions.stored_token(self.app, self.name_shown)
        except NotFound:
            self._gone()
            return None

    def mask(self) -> None:
        """Hide the token: the widget gets the mask, and the revealed text is dropped."""
        if self._reveal_timer is not None:
            self._reveal_timer.stop()
            self._reveal_timer = None
        self._revealed = False
        self.token_view.remove_class("revealed")
        credential = self._credential
        if credential is None or credential.access_token is None:
            self.token_view.update("none stored")
            self.token_hint.update("")
            return
        self.token_view.update(masked(self._token_length))
        settings = self.app.settings
        self.token_hint.update(
            f"v: show for {seconds(settings.reveal_for)} · "
            f"c: copy (cleared after {seconds(settings.clipboard_clear_after)})"
        )

    async def action_reveal(self) -> None:
        """Show the token for ``settings.reveal_for`` seconds; pressed again, hide it now."""
        if self._revealed:
            self.mask()
            return
        token = await self._token()
        if token is None:
            return
        self._revealed = True
        self.token_view.update(Text(token))
        self.token_view.add_class("revealed")
        self._hide_at = seconds_now() + self.app.settings.reveal_for
        self._say_time_shown()
        self._reveal_timer = self.set_timer(self.app.settings.reveal_for, self.mask)

    def _say_time_shown(self) -> None:
        """While the token shows, the hint counts down to when it is hidden again."""
        if self._revealed:
            left = max(math.ceil(self._hide_at - seconds_now()), 0)
            self.token_hint.update(f"shown: hidden again in {left} s · v hides it now")

    async def action_copy(self) -> None:
        """Copy the token; it is cleared after ``settings.clipboard_clear_after`` seconds."""
        token = await self._token()
        if token is not None:
            self.app.copier.copy_secret(token, f"{self.name_shown}'s token")

    async def action_copy_bearer(self) -> None:
        """Copy ``Authorization: Bearer <token>``; cleared later, as the token is."""
        token = await self._token()
        if token is not None:
            self.app.copier.copy_bearer(token, self.name_shown)

    # --------------------------------------------------------------- actions

    async def on_vault_changed(self, message: VaultChanged) -> None:
        await self.load()

    def on_credential_busy(self, message: CredentialBusy) -> None:
        if message.name == self.name_shown:
            self.tick()

    def on_credential_deleted(self, message: CredentialDeleted) -> None:
        """Deleted from here (or the list): nothing is left to show, so back to the list."""
        if message.name == self.name_shown and self.is_current:
            self.app.pop_screen()

    def on_credential_renamed(self, message: CredentialRenamed) -> None:
        if message.old == self.name_shown:
            self.name_shown = message.new  # re-reads the vault (watch_name_shown)

    async def on_screen_resume(self, event: events.ScreenResume) -> None:
        if self._credential is not None:  # back from a dialog: the vault may have changed meanwhile
            await self.load(leave_if_gone=False)

    def action_back(self) -> None:
        """Back to the list, which re-reads the vault (this screen may have changed it)."""
        if not self.is_current:
            return
        name = self.name_shown
        self.app.pop_screen()
        self.app.screen.post_message(VaultChanged(name))

    async def action_refresh(self) -> None:
        await actions.confirm_refresh(self.app, self.name_shown)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ "Sign in again" is offered when the credential needs it (and shown in the footer only then)."""
        if action == "sign_in_again":
            credential = self._credential
            return credential is not None and credential.offers_sign_in_again(self.app.clock.now())
        if action == "rotate":
            return self._credential is not None and self._credential.kind == "static"
        return True

    def action_sign_in_again(self) -> None:
        credential = self._credential
        if credential is not None and credential.offers_sign_in_again(self.app.clock.now()):
            actions.sign_in_again(self.app, credential)

    async def action_revoke(self) -> None:
        await actions.confirm_revoke(self.app, self.name_shown)

    async def action_delete(self) -> None:
        await actions.confirm_delete(self.app, self.name_shown)

    def action_rename(self) -> None:
        actions.rename(self.app, self.name_shown)

    def action_export(self) -> None:
        if self._credential is not None:
            actions.export(self.app, self._credential)

    def action_rotate(self) -> None:
        if self._credential is not None and self._credential.kind == "static":
            actions.rotate(self.app, self._credential)

    def action_copy_line(self) -> None:
        actions.copy_reference_line(self.app, self.name_shown)
