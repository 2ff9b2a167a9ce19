"""The list's side panel (lazygit, posting): the selected credential's facts, kept live.

Shown at :data:`WIDE_FROM` columns and wider, beside the table; narrower, the detail
screen (enter) shows the same facts.  Like the detail screen it holds no secret: the
facts are plain text (:func:`screens.logic.facts.fact_values`), and the token is never among them.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from screens.logic.facts import FACTS, fact_values, hidden_facts
from vault.core.model import Credential

WIDE_FROM = 140
"""The terminal width from which the panel is shown."""

SHOWN = ("provider", "kind", "account", "status", "scopes", "expires", "refresh", "last_refreshed",
         "last_used", "last_error", "created", "extras")  # fmt: skip
"""The facts the panel lists (the name is its title)."""


WIDTH = 52
"""The panel's least width (cells, its border included); a wide terminal gives it more."""

LABEL_WIDTH = 14
"""Cells of the label column ("Refresh token" and a space)."""


class SidePanel(Static):
    """The facts of one credential, or a hint when there is none."""

    DEFAULT_CSS = """
    SidePanel {
        width: 52;
        height: 1fr;
        padding: 0 1;
        border-left: vkey $foreground 20%;
        overflow-y: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__("", id=id, markup=False)
        self._shown: Text | None = None

    def fit(self, room: int) -> None:
        """Take ``room`` columns (the table's columns do not need them), at least :data:`WIDTH`."""
        width = max(WIDTH, room)
        if self.styles.width is None or self.styles.width.cells != width:
            self.styles.width = width

    def show(self, credential: Credential | None, now: float) -> None:
        """Show ``credential``'s facts at ``now`` (repainted only when a word changed)."""
        text = Text()
        if credential is None:
            text.append("No credential selected.", style="dim")
        else:
            facts = fact_values(credential, now)
            labels = dict(FACTS)
            text.append(credential.name + "\n\n", style="bold")
            hidden = hidden_facts(credential)
            for key in (key for key in SHOWN if key not in hidden):
                text.append(labels[key].ljust(LABEL_WIDTH), style="dim")
                text.append(facts[key] + "\n")
            text.append("\nenter: the token and the audit trail", style="dim")
        if self._shown is not None and text == self._shown:
            return
        self._shown = text
        self.update(text)
