"""The list's cells: the text and colour of each credential's row (name, provider, account,
status, countdown and lifetime bar).  Colours come from the theme's variables, parsed once per
theme (:meth:`ListCells.forget_colours` on a theme change), not once per cell per tick."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.color import Color

from screens.app import VaultApp
from screens.logic.countdown import BAR_WIDTH, STATUS_COLOURS, URGENCY_COLOURS, expires_text, lifetime_bar, urgency
from screens.widgets.cell_fit import NEVER, Column
from screens.widgets.credential_table import Row, plain
from vault.core.model import Credential

EXPIRES_TEXT = 11
"""Cells of the longest countdown under a week ("in 59m 59s", "59m 59s ago"); a blank and the
lifetime bar follow (a longer one, "in 400d", keeps the blank and pushes the bar)."""

COLUMNS: tuple[Column, ...] = (
    Column("name", "Name", gives_way=2, middle=True),  # cut last, in the middle: its end tells names apart
    Column("provider", "Provider", gives_way=1),
    Column("account", "Account"),  # cut first
    Column("status", "Status", gives_way=NEVER),  # as wide as its longest word; grows if a tick needs it
    Column("expires", "Expires", EXPIRES_TEXT + 1 + BAR_WIDTH),  # "59m 59s ago ███▌░"
)
"""The columns, in display order; cells are updated by key."""


class ListCells:
    """Builds the list's cells from what the app says now: what it is doing to a credential
    (``app.busy``) and its theme's colours (``app.theme_variables``)."""

    def __init__(self, app: VaultApp) -> None:
        self._app = app
        self._styles: dict[tuple[str | None, bool, bool], Style] = {}

    def forget_colours(self) -> None:
        """A new theme: its colours are parsed anew."""
        self._styles.clear()

    def row(self, credential: Credential, now: float) -> Row:
        return Row(
            credential.name,
            {
                "name": plain(credential.name),
                "provider": plain(credential.provider),
                "account": plain(credential.account),
                "status": self.status_cell(credential, now),
                "expires": self.expires_cell(credential, now),
            },
        )

    def colour(self, variable: str | None, bold: bool, dim_if_none: bool) -> Style:
        key = (variable, bold, dim_if_none)
        if key not in self._styles:  # parsed once per theme, not once per cell per tick
            value = self._app.theme_variables.get(variable) if variable else None
            if value is None:
                self._styles[key] = Style(dim=dim_if_none, bold=bold)
            else:
                self._styles[key] = Style(color=Color.parse(value).rich_color, bold=bold)
        return self._styles[key]

    def status_cell(self, credential: Credential, now: float) -> Text:
        doing = self._app.busy.get(credential.name)
        if doing is not None:  # refreshing, revoking: said at once, while the provider is asked
            return Text(f"{doing}…", style=self.colour("text-warning", bold=False, dim_if_none=False))
        status = credential.status_at(now)
        style = self.colour(STATUS_COLOURS[status], bold=status != "active", dim_if_none=True)
        text = Text(status.replace("_", " "), style=style)
        if credential.last_error and status not in ("needs_login", "error", "refresh_failing", "held_after_restore"):
            text.append(" !", style=self.colour("text-warning", bold=True, dim_if_none=False))
        return text

    def expires_cell(self, credential: Credential, now: float) -> Text:
        """The countdown, and the bar of the lifetime left beside it, in the urgency's colour."""
        level = urgency(credential, now)
        variable, bold = URGENCY_COLOURS[level]
        style = self.colour(variable, bold=bold, dim_if_none=False)
        text = Text(expires_text(credential, now), style=style)
        bar = lifetime_bar(credential, now)
        if bar is not None:
            filled, track = bar
            text.pad_right(max(EXPIRES_TEXT - text.cell_len, 0) + 1)  # never touching the bar
            text.append(filled, style=self.colour(variable, bold=False, dim_if_none=False))
            text.append(track, style=self.colour(None, bold=False, dim_if_none=True))
        return text
