"""The main screen: every credential with its status and time left."""

from __future__ import annotations

import math
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.color import Color
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import DataTable, Footer, Header, Static

from screens.app import VaultApp
from vault.model import Credential, Status
from vault.timefmt import relative

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("provider", "Provider"),
    ("account", "Account"),
    ("status", "Status"),
    ("expires", "Expires"),
)
"""(key, label) of each column, in display order; cells are updated by key."""

STATUS_COLOURS: dict[Status, str | None] = {
    "active": "text-success",
    "expiring": "text-warning",
    "expired": "text-error",
    "needs_login": "text-error",
    "error": "text-error",
    "revoked": None,
}
"""The theme variable that colours each status (``None``: dimmed), so a theme change recolours the table."""

TICK_SECONDS = 1.0
"""How often the countdowns are re-read from the clock (the shortest span shown is a second)."""

EMPTY_MESSAGE = "No credentials yet.\n\nAdd one from a shell:  tokendeck add NAME --provider PROVIDER"


def by_expiry(credential: Credential) -> tuple[float, str]:
    """Sort key: soonest expiry first (expired ones lead), no expiry last, then by name."""
    return (math.inf if credential.expires_at is None else credential.expires_at, credential.name)


def expires_text(credential: Credential, now: float) -> Text:
    """The Expires cell: ``in 89d``, ``3h ago`` or ``no expiry``."""
    return Text("no expiry" if credential.expires_at is None else relative(credential.expires_at, now))


def plain(value: str | None) -> Text:
    """A cell for text that came from outside (names, accounts): never parsed as markup."""
    if value is None:
        return Text("-", style="dim")
    return Text(value, no_wrap=True, overflow="ellipsis")


class TokenListScreen(Screen[None]):
    """Lists the vault's credentials, soonest expiry first; rows keyed by credential name.

    The Status and Expires cells are recomputed from the app's clock every
    :data:`TICK_SECONDS`, so tests freeze time by freezing the clock.
    """

    app = getters.app(VaultApp)
    table = getters.query_one("#tokens", DataTable)
    empty = getters.query_one("#empty", Static)

    AUTO_FOCUS: ClassVar[str | None] = "#tokens"

    def __init__(self) -> None:
        super().__init__()
        self._credentials: list[Credential] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="tokens", cursor_type="row", zebra_stripes=True)
        yield Static(EMPTY_MESSAGE, id="empty", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.table.add_column(label, key=key)
        self.load()
        self.set_interval(TICK_SECONDS, self.refresh_times)
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def load(self) -> None:
        """(Re)read the credentials from the vault and rebuild the table."""
        now = self.app.clock.now()
        self._credentials = sorted(self.app.vault.credentials(), key=by_expiry)
        table = self.table
        table.clear()
        for c in self._credentials:
            table.add_row(
                plain(c.name),
                plain(c.provider),
                plain(c.account),
                self._status_cell(c.status_at(now)),
                expires_text(c, now),
                key=c.name,
            )
        has_rows = bool(self._credentials)
        table.display = has_rows
        self.empty.display = not has_rows

    def refresh_times(self) -> None:
        """Re-read the clock and update every Status and Expires cell."""
        now = self.app.clock.now()
        for c in self._credentials:
            self.table.update_cell(c.name, "status", self._status_cell(c.status_at(now)), update_width=True)
            self.table.update_cell(c.name, "expires", expires_text(c, now), update_width=True)

    def _on_theme_changed(self, _theme: Theme) -> None:
        self.refresh_times()

    def _status_cell(self, status: Status) -> Text:
        variable = STATUS_COLOURS[status]
        value = self.app.theme_variables.get(variable) if variable else None
        if value is None:
            style = Style(dim=True)
        else:
            style = Style(color=Color.parse(value).rich_color, bold=status != "active")
        return Text(status.replace("_", " "), style=style)
