"""The keys of the screen in front, read from its bindings (F1 or ?), and what the colours mean."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from screens.keys import screen_keys
from screens.widgets.footer import KeysFooter

NOTES = (
    "Countdowns take the colour of the status beside them: yellow while expiring or due, red once "
    "expired or failing; the bar beside one empties as the token's lifetime runs out.  A passphrase "
    "vault locks itself after 5 minutes without a key press.  ctrl+p lists every action by name."
)


class HelpScreen(ModalScreen[None]):
    """Lists every key of ``under`` (the screen it was opened over).

    Args:
        under: the screen whose keys to list.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,question_mark,q", "close", "Close", key_display="esc")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.keys = screen_keys(under)
        self.about = under.sub_title

    def compose(self) -> ComposeResult:
        width = max((len(keys) for keys, _what in self.keys), default=0) + 2
        lines = Text()
        for keys, what in self.keys:
            lines.append(keys.ljust(width), style="bold")
            lines.append(f"{what}\n")
        with VerticalScroll(id="help", classes="dialog"):
            yield Static(f"Keys: {self.about}" if self.about else "Keys", classes="title", markup=False)
            yield Static(lines, id="help-keys")
            yield Static(NOTES, id="help-notes", classes="muted", markup=False)
        yield KeysFooter()

    def action_close(self) -> None:
        self.dismiss(None)
