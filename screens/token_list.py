"""The main screen: every credential, its status and a live countdown, and the
actions on it.  Rows are keyed by credential name; the once-a-second tick
updates the Status and Expires cells of the rows on screen in place and never
rebuilds or re-orders the table.

The order is chosen when the list opens and when the person asks (``o``, ``O``, a header
click, ``p``); a reload (a refresh by the agent, another process's write, coming back from
a dialog) keeps every row where it was and puts new ones where the order would
(:func:`screens.logic.list_order.kept_in_place`), so no row moves under the cursor on its own.
``o`` cycles through the default (what needs you first, then the soonest expiry) and each
column; by name is the order that never changes at all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import cached_property
from typing import ClassVar

from rich.text import Text
from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.containers import Horizontal
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Input, Static

from screens import actions
from screens.app import VaultApp
from screens.logic.failures import first_failing
from screens.logic.list_order import DEFAULT_SORT, SORT_CYCLE, kept_in_place, ordered, search_text
from screens.logic.refreshing import Watched, refresher_status
from screens.logic.status_line import fit_status
from screens.messages import CredentialBusy, CredentialDeleted, CredentialRenamed, VaultChanged
from screens.palette import ActionCommands, Command
from screens.widgets.credential_table import CredentialTable, Row, same_cell
from screens.widgets.filter_input import FilterInput
from screens.widgets.footer import KeysFooter
from screens.widgets.list_cells import COLUMNS, ListCells
from screens.widgets.side_panel import WIDE_FROM, SidePanel
from screens.widgets.title_header import TitleHeader
from vault.core.model import Credential
from vault.errors import VaultError, printable

GROUP = "\0"
"""Starts a group heading's row key: no credential's name can hold it."""

TICK_SECONDS = 1.0
"""How often the countdowns are re-read from the clock (the shortest span shown is a second)."""

EMPTY_MESSAGE = (
    "No credentials yet.\n\nSign in to a provider with  s,  add a static token with  a,\n"
    "or from a shell:  tokendeck add NAME --provider PROVIDER"
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
            ("Verify the selected credential", "ask its provider: is the token still good?", screen.action_verify),
            ("Revoke the selected credential", "at the provider, then erase it here", screen.action_revoke),
            ("Delete the selected credential", "erase it from the vault", screen.action_delete),
            ("Rename the selected credential", "", screen.action_rename),
            ("Replace the selected static token", "a rotated PAT: name and bindings stay", screen.action_rotate),
            ("Export the selected credential", "into a .env, .netrc or an agent's MCP config", screen.action_export),
            ("Find leaked copies", "scan the usual places for the vault's secrets, fix them", screen.action_leaks),
            ("Copy the selected token", "cleared from the clipboard later", screen.action_copy),
            ("Copy a shell line that reads the token", 'export VAR="$(tokendeck token NAME)"', screen.action_copy_line),
            ("Filter the list", "by name, provider or account", screen.action_filter),
            ("Sort by the next column", "the default puts what needs you first", screen.action_sort),
            ("Group by provider", "or stop grouping", screen.action_group),
        ]


ROW_ACTIONS = frozenset({"refresh", "verify", "export", "revoke", "delete", "rename", "copy", "copy_line", "open"})
"""What acts on the row under the cursor: not offered while there is none (an empty vault, no match)."""


class TokenListScreen(Screen[None]):
    """Lists the vault's credentials, soonest expiry first; rows keyed by credential name."""

    app = getters.app(VaultApp)
    table = getters.query_one("#tokens", CredentialTable)
    empty = getters.query_one("#empty", Static)
    filter_input = getters.query_one("#filter", Input)
    status_line = getters.query_one("#status-line", Static)
    side_panel = getters.query_one("#side-panel", SidePanel)

    AUTO_FOCUS: ClassVar[str | None] = "#tokens"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {ListCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit"),
        Binding("slash", "filter", "Filter", tooltip="filter by name, provider or account"),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="clear the filter"),
        Binding("enter", "open", "Open", show=False, tooltip="open the credential: facts, token, audit trail"),
        Binding("s", "sign_in", "Sign in", tooltip="sign in to a provider (browser or device code)"),
        Binding("l", "sign_in_again", "Sign in again", tooltip="sign in again (a row that needs it)"),
        Binding("f", "first_failing", "Failing", tooltip="to the first credential whose refresh fails"),
        Binding("a", "add", "Add", tooltip="add a static token (a PAT, an API key)"),
        Binding("r", "refresh", "Refresh", tooltip="refresh the selected token now"),
        Binding("R", "refresh_due", "Refresh due", show=False, tooltip="refresh everything due"),
        Binding("v", "verify", "Verify", show=False, tooltip="ask the provider whether the token still works"),
        Binding("e", "export", "Export", tooltip="export into a .env, .netrc or an agent's MCP config"),
        Binding("x", "revoke", "Revoke", tooltip="revoke at the provider, then erase (asks first)"),
        Binding("d", "delete", "Delete", tooltip="delete from the vault (asks first)"),
        Binding("n", "rename", "Rename", show=False, tooltip="rename"),
        Binding("t", "rotate", "New token", show=False, tooltip="a static token: replace its value (a rotated PAT)"),
        Binding("y", "copy", "Copy", show=False, tooltip="copy the token (cleared from the clipboard later)"),
        Binding("Y", "copy_line", "Copy line", show=False, tooltip="copy a shell line that reads the token"),
        Binding("o", "sort", "Sort", show=False, tooltip="sort by the next column (or click a header)"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, tooltip="reverse the order"),
        Binding("p", "group", "Group", show=False, tooltip="group by provider, or stop grouping"),
        Binding(
            "F",
            "forwards",
            "Forwards",
            show=False,
            tooltip="the agent's forwards (tokendeck ssh) and sessions (exec --session): see, end",
        ),
        Binding("P", "proxy_runs", "Proxy runs", show=False, tooltip="the recent proxy runs and each one's audit rows"),
        Binding("L", "leaks", "Leaks", show=False, tooltip="scan for copies of the vault's secrets, and fix them"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._credentials: list[Credential] = []
        self._shown: list[Credential] = []
        self._by_name: dict[str, Credential] = {}
        self._rows: dict[str, Row] = {}
        """Every credential's row, built once per load; a filter shows some of them."""
        self._searched: dict[str, str] = {}
        """Every credential's :func:`search_text`, built with its row."""
        self._watched = Watched()
        self._mounted_just_now = False
        self._status_text = ""
        self._offered: tuple[bool | None, ...] = ()
        """Whether the footer offers "Sign in again" and "Failing", as last drawn."""
        self._sort: tuple[str, bool] = DEFAULT_SORT
        """The column the rows are ordered by, and whether descending."""
        self._grouped = False
        """Rows grouped by provider, under a heading row each (``github · 3``)."""

    @cached_property
    def cells(self) -> ListCells:
        """Builds each row's cells (made on first use: the app is running by then)."""
        return ListCells(self.app)

    def compose(self) -> ComposeResult:
        yield TitleHeader()
        yield FilterInput(placeholder="type / to filter by name, provider or account", id="filter")
        with Horizontal(id="list-body"):
            yield CredentialTable(COLUMNS, id="tokens")
            yield Static(EMPTY_MESSAGE, id="empty", markup=False)
            yield SidePanel(id="side-panel")
        yield Static("", id="status-line", markup=False)
        yield KeysFooter()

    async def on_mount(self) -> None:
        self._mounted_just_now = True
        self.set_interval(TICK_SECONDS, self.refresh_times)
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.watch(self.table, "scroll_y", self.refresh_times, init=False)  # rows scrolled in catch up
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
        now = self.app.clock.now()
        fresh = self._ordered(credentials, now)
        shown = [c.name for c in self._credentials]
        self._credentials = kept_in_place(shown, fresh, grouped=self._grouped) if shown else fresh
        self._by_name = {c.name: c for c in self._credentials}
        self._rows = {c.name: self.cells.row(c, now) for c in self._credentials}
        self._searched = {c.name: search_text(c) for c in self._credentials}
        self._watched = Watched.of(self._credentials)
        self.table.fit(self._rows.values())
        self._rebuild(highlight, reloaded=True)

    def _ordered(self, credentials: list[Credential], now: float) -> list[Credential]:
        return ordered(credentials, now, self._sort, grouped=self._grouped)

    def sort_by(self, column: str, *, descending: bool = False) -> None:
        """Order the rows by ``column`` (the rows already built; the cursor stays on its row)."""
        self._sort = (column, descending)
        self._credentials = self._ordered(self._credentials, self.app.clock.now())
        self.table.mark_sorted(None if self._sort == DEFAULT_SORT else column, descending=descending)
        self._rebuild(self.selected_name(), reloaded=True)

    def action_sort(self) -> None:
        """The next column, ascending."""
        self.sort_by(SORT_CYCLE[(SORT_CYCLE.index(self._sort[0]) + 1) % len(SORT_CYCLE)])

    def action_group(self) -> None:
        """Group the rows by provider, or stop grouping (the sort order stays)."""
        self._grouped = not self._grouped
        self._credentials = self._ordered(self._credentials, self.app.clock.now())
        self._rebuild(self.selected_name(), reloaded=True)

    def action_reverse_sort(self) -> None:
        self.sort_by(self._sort[0], descending=not self._sort[1])

    @on(CredentialTable.HeaderSelected, "#tokens")
    def _header_selected(self, event: CredentialTable.HeaderSelected) -> None:
        """A click on a header sorts by it; a second click reverses."""
        column, descending = self._sort
        self.sort_by(event.column, descending=not descending if event.column == column else False)

    def _rebuild(self, highlight: str | None = None, *, reloaded: bool = False) -> None:
        """Show the credentials the filter matches: the rows already built, in order; a
        keystroke that leaves the same rows changes nothing."""
        table = self.table
        needle = self.filter_input.value.strip().lower()
        searched = self._searched
        shown = [c for c in self._credentials if needle in searched[c.name]] if needle else self._credentials
        if not reloaded and [c.name for c in shown] == [c.name for c in self._shown]:
            return
        self._shown = shown
        table.hide({"provider"} if self._grouped else (), note="grouped by provider" if self._grouped else "")
        table.show(self._grouped_rows(shown) if self._grouped else [self._rows[c.name] for c in shown],
                   cursor_on=highlight)  # fmt: skip
        table.display = bool(shown)
        self.empty.display = not self._credentials
        self._refresh_offers()
        self.refresh_times()  # rows that were filtered out missed their ticks

    def _grouped_rows(self, shown: list[Credential]) -> list[Row]:
        """The rows shown, each provider's under a heading that counts them (``github · 3``):
        the rows the filter shows.  The provider column is hidden: the heading says it."""
        counts = Counter(c.provider for c in shown)
        rows: list[Row] = []
        for c in shown:
            if not rows or self._by_name[rows[-1].key].provider != c.provider:
                rows.append(Row(GROUP + c.provider, {}, Text(f"{printable(c.provider)} · {counts[c.provider]}")))
            rows.append(self._rows[c.name])
        return rows

    def refresh_times(self) -> None:
        """Re-read the clock and update, in place, the Status and Expires cells on screen
        whose text changed (most countdowns, "in 89d", change rarely); each changed row
        repaints its own line."""
        if not self.is_current:
            return  # under the detail screen nothing of this one shows; resuming reloads it
        now = self.app.clock.now()
        for key in self.table.visible_keys:
            c = self._by_name[key]
            row = self._rows[key]
            status, expires = self.cells.status_cell(c, now), self.cells.expires_cell(c, now)
            if same_cell(row.cells["status"], status) and same_cell(row.cells["expires"], expires):
                continue
            self.table.update_cells(c.name, {"status": status, "expires": expires})
        self._update_status_line()
        self._update_side_panel()

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
            self._watched,
            app.clock.now(),
            by=app.refreshed_by,
            last=app.last_refresh_report,
            problem=app.agent_problem,
            joined=app.joined_agent,
        )
        noun = "credential" if len(self._credentials) == 1 else "credentials"
        grouped = " grouped by provider" if self._grouped else ""
        width = self.status_line.content_size.width or self.size.width - 2
        text = fit_status(f"{count} {noun}{grouped}", words, width)  # one line: whole phrases dropped first
        if text == self._status_text:
            return  # most ticks: the same words, nothing to repaint
        first = not self._status_text  # a layout pass only for the first words (it repaints the screen)
        self._status_text = text
        self.status_line.update(text, layout=first)

    def _on_theme_changed(self, _theme: Theme) -> None:
        self.cells.forget_colours()
        self.refresh_times()  # recolours the rows on screen; the rest as they scroll in

    # -------------------------------------------------------------- messages

    async def on_vault_changed(self, message: VaultChanged) -> None:
        await self.load(message.highlight)

    def on_credential_busy(self, message: CredentialBusy) -> None:
        self.refresh_times()

    async def on_credential_deleted(self, message: CredentialDeleted) -> None:
        """The cursor stays where it was: on the row that took the deleted one's place."""
        names = [c.name for c in self._shown]
        if message.name in names:
            at = names.index(message.name)
            neighbours = [*names[at + 1 : at + 2], *names[max(at - 1, 0) : at]]  # the next, else the one before
            await self.load(neighbours[0] if neighbours else None)
        else:
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
        self._rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.table.focus()

    @on(CredentialTable.RowSelected, "#tokens")
    def _row_selected(self, event: CredentialTable.RowSelected) -> None:
        self.action_open()

    def action_clear_filter(self) -> None:
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
        """The credential under the cursor (never a group's heading)."""
        key = self.table.cursor_key
        return None if key is None else self._by_name.get(key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ "Sign in again" is offered on a row that needs it (and shown in the footer only then)."""
        credential = self.selected() if self.is_mounted else None
        if action == "sign_in_again":
            return credential is not None and credential.offers_sign_in_again(self.app.clock.now())
        if action == "rotate":
            return credential is not None and credential.kind == "static"
        if action == "first_failing":  # in the footer and the help only while one fails (filtered out or not)
            return self.is_mounted and first_failing(self._watched.erred, self.app.clock.now()) is not None
        return credential is not None or action not in ROW_ACTIONS  # no row: no key that acts on one

    @on(CredentialTable.RowHighlighted, "#tokens")
    def _row_highlighted(self, event: CredentialTable.RowHighlighted) -> None:
        self._refresh_offers()
        self._update_side_panel()

    def _update_side_panel(self) -> None:
        """The panel beside the table, wide terminals only: the selected credential's facts."""
        panel = self.side_panel
        panel.display = self.size.width >= WIDE_FROM and bool(self._credentials)
        if panel.display:  # the room the table's columns do not need is the panel's
            panel.fit(self.table.size.width + panel.outer_size.width - self.table.natural_width)
            panel.show(self.selected(), self.app.clock.now())

    def on_resize(self) -> None:
        self._update_side_panel()
        self._update_status_line()

    def _refresh_offers(self) -> None:
        """Redraw the footer when what it offers changed ("Sign in again" comes and goes with
        the row under the cursor): a redraw rebuilds the footer, too slow for every keystroke."""
        offered = tuple(self.check_action(action, ()) for action in ("sign_in_again", "first_failing", "refresh"))
        if offered != self._offered:
            self._offered = offered
            self.refresh_bindings()

    def action_first_failing(self) -> None:
        """To the first failing row; when the filter hides every failing one, the filter goes
        (the status line counts the whole vault's failing, so the key reaches them all)."""
        now = self.app.clock.now()
        if first_failing(self._shown, now) is None and first_failing(self._watched.erred, now) is not None:
            self.filter_input.value = ""
            self._rebuild()
        if (name := first_failing(self._shown, now)) is not None:
            self.table.move_cursor(self.table.row_keys.index(name))

    def action_sign_in_again(self) -> None:
        credential = self.selected()
        if credential is not None and credential.offers_sign_in_again(self.app.clock.now()):
            actions.sign_in_again(self.app, credential)

    async def action_copy(self) -> None:
        """Copy the selected token (cleared from the clipboard later, as from the detail screen)."""
        name = self.selected_name()
        if name is not None and not await actions.copy_token(self.app, name):
            await self.load()  # gone meanwhile

    def action_copy_line(self) -> None:
        if (name := self.selected_name()) is not None:
            actions.copy_reference_line(self.app, name)

    def action_rotate(self) -> None:
        if (credential := self.selected()) is not None and credential.kind == "static":
            actions.rotate(self.app, credential)

    def action_export(self) -> None:
        if (credential := self.selected()) is not None:
            actions.export(self.app, credential)

    def action_sign_in(self) -> None:
        from screens.signin import SignInScreen

        self.app.push_screen(SignInScreen())

    def action_forwards(self) -> None:
        from screens.dialogs.forwards import ForwardsScreen

        self.app.push_screen(ForwardsScreen())

    def action_proxy_runs(self) -> None:
        from screens.dialogs.proxy_runs import ProxyRunsScreen

        self.app.push_screen(ProxyRunsScreen())

    def action_leaks(self) -> None:
        from screens.leaks import LeaksScreen

        self.app.push_screen(LeaksScreen())

    def action_add(self) -> None:
        from screens.add_token import AddTokenScreen

        self.app.push_screen(AddTokenScreen())

    async def action_refresh(self) -> None:
        if (name := self.selected_name()) is not None:
            await actions.confirm_refresh(self.app, name)

    def action_verify(self) -> None:
        if (name := self.selected_name()) is not None:
            actions.verify(self.app, name)

    def action_refresh_due(self) -> None:
        actions.refresh_due(self.app)

    async def action_revoke(self) -> None:
        name = self.selected_name()
        if name is not None:
            await actions.confirm_revoke(self.app, name)

    async def action_delete(self) -> None:
        name = self.selected_name()
        if name is not None:
            await actions.confirm_delete(self.app, name)

    def action_rename(self) -> None:
        if (name := self.selected_name()) is not None:
            actions.rename(self.app, name)
