"""The main screen: every credential with its status and time left."""

from __future__ import annotations

from textual import getters
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from screens.app import VaultApp
from vault.timefmt import relative


class TokenListScreen(Screen[None]):
    """Lists the vault's credentials, soonest expiry first; rows keyed by name."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="tokens", cursor_type="row", zebra_stripes=True)
        yield Static(id="empty")
        yield Footer()

    app = getters.app(VaultApp)

    def on_mount(self) -> None:
        app = self.app
        table = self.query_one("#tokens", DataTable)
        table.add_columns("Name", "Provider", "Account", "Status", "Expires")
        now = app.clock.now()
        credentials = sorted(app.vault.credentials(), key=lambda c: (c.expires_at is None, c.expires_at or 0.0, c.name))
        for c in credentials:
            expires = "no expiry" if c.expires_at is None else relative(c.expires_at, now)
            table.add_row(c.name, c.provider, c.account or "-", c.status_at(now), expires, key=c.name)
        empty = self.query_one("#empty", Static)
        if credentials:
            empty.display = False
        else:
            empty.update("No credentials yet.  Add one from a shell:  tokendeck add NAME --provider P")
