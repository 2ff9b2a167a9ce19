"""The keys of the screen in front, grouped by purpose (F1 or ?), and what the colours mean.

Only tokendeck's keys that work on that screen now are listed (:func:`screens.keys.key_lines`),
under "Move", "Act on a credential", "View" and "App"; Enter on a line closes the help and runs
that key's action on the screen beneath.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from screens.keys import KeyLine, KeyList, key_lines
from screens.logic.key_groups import SECTIONS
from screens.widgets.footer import KeysFooter

NOTES = (
    "Countdowns take the colour of the status beside them: yellow while expiring or due, red once "
    "expired or failing; the bar beside one empties as the token's lifetime runs out.  A passphrase "
    "vault locks itself after 5 minutes without a key press.  ctrl+p lists every action by name."
)


class KeyChoices(OptionList):
    """The help's lines: Enter (or a click) on one runs it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Run", tooltip="close the help and run the key's action"),
    ]

    def action_last(self) -> None:
        """The last key, and the notes below it in view."""
        super().action_last()
        self.scroll_end(animate=False)


class HelpScreen(ModalScreen[KeyLine | None]):
    """Lists the keys of ``under`` (the screen it was opened over), by section; dismisses with
    the line chosen (Enter), for the app to run on ``under``, or None.

    Args:
        under: the screen whose keys to list.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,question_mark,q", "close", "Close", key_display="esc")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.lines = key_lines(under)
        self.about = under.sub_title

    @property
    def sections(self) -> list[tuple[str, KeyList]]:
        """The sections that have keys, in order, each with its (keys, what they do)."""
        found = [(title, [(k.keys, k.what) for k in self.lines if k.section == title]) for title in SECTIONS]
        return [(title, keys) for title, keys in found if keys]

    @property
    def keys(self) -> KeyList:
        """Every line, (keys, what they do), in the order shown."""
        return [(line.keys, line.what) for line in self.lines]

    def compose(self) -> ComposeResult:
        width = max((len(line.keys) for line in self.lines), default=0) + 2
        options: list[Option | None] = []
        for title in SECTIONS:
            inside = [(i, line) for i, line in enumerate(self.lines) if line.section == title]
            if not inside:
                continue
            if options:
                options.append(None)
            options.append(Option(Text(title, style="bold underline"), disabled=True))
            for i, line in inside:
                options.append(Option(Text.assemble((line.keys.ljust(width), "bold"), line.what), id=f"key-{i}"))
        options += [None, Option(Text(NOTES, style="dim"), disabled=True)]
        with Vertical(id="help", classes="dialog"):
            title = f"Keys: {self.about}" if self.about else "Keys"
            yield Static(f"{title}  (enter runs the key's action)", classes="title", markup=False)
            yield KeyChoices(*options, id="help-keys")
        yield KeysFooter()

    def on_mount(self) -> None:
        choices = self.query_one("#help-keys", KeyChoices)
        first = next((i for i in range(choices.option_count) if not choices.get_option_at_index(i).disabled), None)
        choices.highlighted = first
        choices.scroll_home(animate=False)  # the first section's title in view

    @on(OptionList.OptionSelected, "#help-keys")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        chosen = event.option.id
        if chosen is not None and chosen.startswith("key-"):
            self.dismiss(self.lines[int(chosen.removeprefix("key-"))])

    def action_close(self) -> None:
        self.dismiss(None)
