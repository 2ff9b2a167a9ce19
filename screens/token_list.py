"""The main screen: every credential, its status and a live countdown, and the
actions on it.  Rows are keyed by credential name; the once-a-second tick
updates the Status and Expires cells in place and never rebuilds the table."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.command import Provider
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import DataTable, Footer, Header, Input, Static

from screens.app import VaultApp
from screens.countdown import STATUS_COLOURS, URGENCY_COLOURS, expires_text, urgency
from screens.messages import CredentialBusy, CredentialDeleted, CredentialRenamed, VaultChanged
from screens.palette import ActionCommands, Command
from screens.refreshing import refresher_status
from vault.core.model import Credential
from vault.errors import VaultError

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("provider", "Provider"),
    ("account", "Account"),
    ("status", "Status"),
    ("expires", "Expires"),
)
"""(key, label) of each column, in display order; cells are updated by key."""

TICKING_WIDTHS: dict[str, int] = {"status": 15, "expires": 12}
"""Widths of the columns the tick rewrites ("refresh failing", "in 59m 59s")."""

TICK_SECONDS = 1.0
"""How often the countdowns are re-read from the clock (the shortest span shown is a second)."""

EMPTY_MESSAGE = (
    "No credentials yet.\n\nSign in to a provider with  s,  add a static token with  a,\n"
    "or from a shell:  tokendeck add NAME --provider PROVIDER"
)


def by_expiry(credential: Credential) -> tuple[float, str]:
    """Sort key: soonest expiry first (expired ones lead), no expiry last, then by name."""
    return (math.inf if credential.expires_at is None else credential.expires_at, credential.name)


def plain(value: str | None) -> Text:
    """A cell for text that came from outside (names, accounts): never parsed as markup."""
    if value is None:
        return Text("-", style="dim")
    return Text(value, no_wrap=True, overflow="ellipsis")


def matches(credential: Credential, needle: str) -> bool:
    needle = needle.strip().lower()
    return not needle or any(
        needle in (v or "").lower() for v in (credential.name, credential.provider, credential.account)
    )


class ListCommands(ActionCommands):
    """The command palette's entries for the list's actions (the app adds its own)."""

    def commands(self) -> list[Command]:
        screen = self.screen
        if not isinstance(screen, TokenListScreen):
            return []
        return [
            ("Sign in to a provider", "browser or device sign-in", screen.action_sign_in),
            ("Add a static token", "a PAT or an API key", screen.action_add),
            ("Refresh the selected credential", "ask its provider for a new token now", screen.action_refresh),
            ("Refresh everything due", "all tokens expiring within 5 minutes", screen.action_refresh_due),
            ("Revoke the selected credential", "at the provider, then erase it here", screen.action_revoke),
            ("Delete the selected credential", "erase it from the vault", screen.action_delete),
            ("Rename the selected credential", "", screen.action_rename),
            ("Filter the list", "by name, provider or account", screen.action_filter),
        ]


class TokenListScreen(Screen[None]):
    """Lists the vault's credentials, soonest expiry first; rows keyed by credential name."""

    app = getters.app(VaultApp)
    table = getters.query_one("#tokens", DataTable)
    empty = getters.query_one("#empty", Static)
    filter_input = getters.query_one("#filter", Input)
    status_line = getters.query_one("#status-line", Static)

    AUTO_FOCUS: ClassVar[str | None] = "#tokens"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {ListCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit"),
        Binding("slash", "filter", "Filter"),
        Binding("enter", "open", "Open", show=False),
        Binding("s", "sign_in", "Sign in"),
        Binding("l", "sign_in_again", "Sign in again"),
        Binding("a", "add", "Add"),
        Binding("r", "refresh", "Refresh"),
        Binding("R", "refresh_due", "Refresh due", show=False),
        Binding("x", "revoke", "Revoke"),
        Binding("d", "delete", "Delete"),
        Binding("n", "rename", "Rename", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._credentials: list[Credential] = []
        self._shown: list[Credential] = []
        self._cell_text: dict[str, tuple[str, str, object, object]] = {}
        self._styles: dict[tuple[str | None, bool, bool], Style] = {}
        self._mounted_just_now = False
        self._status_text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="type / to filter by name, provider or account", id="filter")
        yield DataTable(id="tokens", cursor_type="row", zebra_stripes=True)
        yield Static(EMPTY_MESSAGE, id="empty", markup=False)
        yield Static("", id="status-line", markup=False)
        yield Footer()

    async def on_mount(self) -> None:
        for key, label in COLUMNS:
            # Fixed widths for the ticking columns: re-measuring a column on every
            # update is quadratic in the number of rows.
            self.table.add_column(label, key=key, width=TICKING_WIDTHS.get(key))
        self._mounted_just_now = True
        self.set_interval(TICK_SECONDS, self.refresh_times)
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        await self.load()

    # ------------------------------------------------------------------ data

    async def load(self, highlight: str | None = None) -> None:
        """(Re)read the credentials from the vault (in a worker) and rebuild the rows shown."""
        if self.app.vault is None:
            return
        try:
            credentials = await self.app.read(lambda vault: vault.credentials(), name="read the list")
        except VaultError as exc:
            self.app.report(exc)
            return
        self._credentials = sorted(credentials, key=by_expiry)
        self._rebuild(highlight)

    def _rebuild(self, highlight: str | None = None, *, only_if_changed: bool = False) -> None:
        now = self.app.clock.now()
        table = self.table
        current = highlight or self.selected_name()
        shown = [c for c in self._credentials if matches(c, self.filter_input.value)]
        if only_if_changed and [c.name for c in shown] == [c.name for c in self._shown]:
            return  # a keystroke that leaves the same rows: nothing to redraw
        self._shown = shown
        table.clear()
        self._cell_text.clear()
        for c in self._shown:
            table.add_row(
                plain(c.name),
                plain(c.provider),
                plain(c.account),
                self._status_cell(c, now),
                self._expires_cell(c, now),
                key=c.name,
            )
        names = [c.name for c in self._shown]
        if current in names:
            table.move_cursor(row=names.index(current))
        table.display = bool(self._shown)
        self.empty.display = not self._credentials
        self.refresh_bindings()
        self._update_status_line()

    def refresh_times(self) -> None:
        """Re-read the clock and update, in place, the Status and Expires cells on screen
        whose text changed (most countdowns, "in 89d", change rarely)."""
        if not self.is_current:
            return  # under the detail screen nothing of this one shows; resuming reloads it
        now = self.app.clock.now()
        first = max(int(self.table.scroll_y), 0)  # one line per row: rows on screen only;
        visible = self._shown[first : first + self.table.size.height + 1]  # scrolled-in rows catch up next tick
        for c in visible:
            shown = self._cell_text.get(c.name)
            status, expires = self._status_cell(c, now), self._expires_cell(c, now)
            if shown is not None and shown == (status.plain, expires.plain, status.style, expires.style):
                continue
            self._cell_text[c.name] = (status.plain, expires.plain, status.style, expires.style)
            self.table.update_cell(c.name, "status", status)
            self.table.update_cell(c.name, "expires", expires)
        self._update_status_line()

    def selected_name(self) -> str | None:
        credential = self.selected()
        return None if credential is None else credential.name

    def _update_status_line(self) -> None:
        app = self.app
        count = (
            f"{len(self._shown)} of {len(self._credentials)}"
            if self.filter_input.value
            else str(len(self._credentials))
        )
        words = refresher_status(
            self._credentials,
            app.clock.now(),
            by=app.refreshed_by,
            last=app.last_refresh_report,
            problem=app.agent_problem,
        )
        text = "  ·  ".join([f"{count} credentials", *words])
        if text == self._status_text:
            return  # most ticks: the same words, nothing to repaint
        # A new layout only when the line may need a different height (it wraps to two
        # when narrow); otherwise a layout pass would repaint the whole screen every second.
        width = self.status_line.content_size.width
        fits = width > 0 and max(len(text), len(self._status_text)) <= width
        self._status_text = text
        self.status_line.update(text, layout=not fits)

    def _on_theme_changed(self, _theme: Theme) -> None:
        self._styles.clear()
        self.refresh_times()

    def _colour(self, variable: str | None, bold: bool, dim_if_none: bool) -> Style:
        key = (variable, bold, dim_if_none)
        if key not in self._styles:  # parsed once per theme, not once per cell per tick
            value = self.app.theme_variables.get(variable) if variable else None
            if value is None:
                self._styles[key] = Style(dim=dim_if_none, bold=bold)
            else:
                self._styles[key] = Style(color=Color.parse(value).rich_color, bold=bold)
        return self._styles[key]

    def _status_cell(self, credential: Credential, now: float) -> Text:
        doing = self.app.busy.get(credential.name)
        if doing is not None:  # refreshing, revoking: said at once, while the provider is asked
            return Text(f"{doing}…", style=self._colour("text-warning", bold=False, dim_if_none=False))
        status = credential.status_at(now)
        style = self._colour(STATUS_COLOURS[status], bold=status != "active", dim_if_none=True)
        text = Text(status.replace("_", " "), style=style)
        if credential.last_error and status not in ("needs_login", "error", "refresh_failing"):
            text.append(" !", style=self._colour("text-warning", bold=True, dim_if_none=False))
        return text

    def _expires_cell(self, credential: Credential, now: float) -> Text:
        level = urgency(credential, now)
        variable, bold = URGENCY_COLOURS[level]
        return Text(expires_text(credential, now), style=self._colour(variable, bold=bold, dim_if_none=False))

    # -------------------------------------------------------------- messages

    async def on_vault_changed(self, message: VaultChanged) -> None:
        await self.load(message.highlight)

    def on_credential_busy(self, message: CredentialBusy) -> None:
        self.refresh_times()

    async def on_credential_deleted(self, message: CredentialDeleted) -> None:
        await self.load()

    async def on_credential_renamed(self, message: CredentialRenamed) -> None:
        await self.load(message.new)

    async def on_screen_resume(self) -> None:
        """Back from the detail screen or a dialog: what was done there shows here."""
        if self._mounted_just_now:  # the first resume follows on_mount, which just loaded
            self._mounted_just_now = False
            return
        await self.load()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._rebuild(only_if_changed=True)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.table.focus()

    @on(DataTable.RowSelected, "#tokens")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def key_escape(self) -> None:
        if self.filter_input.has_focus or self.filter_input.value:
            self.filter_input.value = ""
            self.table.focus()

    # --------------------------------------------------------------- actions

    def action_filter(self) -> None:
        self.filter_input.focus()

    def action_open(self) -> None:
        name = self.selected_name()
        if name is not None:
            from screens.detail import DetailScreen

            self.app.push_screen(DetailScreen(name))

    def selected(self) -> Credential | None:
        if not self._shown or not self.table.is_valid_row_index(self.table.cursor_row):
            return None
        return self._shown[self.table.cursor_row]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ "Sign in again" is offered on a row that needs it (and shown in the footer only then)."""
        if action == "sign_in_again":
            credential = self.selected() if self.is_mounted else None
            return credential is not None and credential.offers_sign_in_again(self.app.clock.now())
        return True

    @on(DataTable.RowHighlighted, "#tokens")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def action_sign_in_again(self) -> None:
        credential = self.selected()
        if credential is not None and credential.offers_sign_in_again(self.app.clock.now()):
            from screens import actions

            actions.sign_in_again(self.app, credential)

    def action_sign_in(self) -> None:
        from screens.signin import SignInScreen

        self.app.push_screen(SignInScreen())

    def action_add(self) -> None:
        from screens.add_token import AddTokenScreen

        self.app.push_screen(AddTokenScreen())

    def action_refresh(self) -> None:
        name = self.selected_name()
        if name is not None:
            from screens import actions

            actions.refresh(self.app, name)

    def action_refresh_due(self) -> None:
        from screens import actions

        actions.refresh_due(self.app)

    async def action_revoke(self) -> None:
        name = self.selected_name()
        if name is not None:
            from screens import actions

            await actions.confirm_revoke(self.app, name)

    async def action_delete(self) -> None:
        name = self.selected_name()
        if name is not None:
            from screens import actions

            await actions.confirm_delete(self.app, name)

    def action_rename(self) -> None:
        name = self.selected_name()
        if name is not None:
            from screens import actions

            actions.rename(self.app, name)
