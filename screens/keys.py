"""The keys a screen answers, read from its bindings: what the help screen lists and the
palette shows beside each action, so neither can drift from what the keys really do."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

GENERIC = frozenset(b.action for b in Screen.BINDINGS if isinstance(b, Binding))
"""Textual's own keys on every screen (tab, shift+tab, copying selected text): listed last."""

KeyList = list[tuple[str, str]]
"""(keys, what they do): ``("↓ j", "Down")``."""


def screen_keys(screen: Screen[object]) -> KeyList:
    """Every key ``screen`` answers now, hidden ones included: its own first, then the
    focused widget's (moving about), then the app's, then Textual's own (tab, copying).
    Keys for one action are listed together."""
    app = screen.app
    grouped: dict[tuple[int, str], tuple[DOMNode, Binding, list[str]]] = {}
    for node, binding, _enabled, _tooltip in screen.active_bindings.values():
        entry = grouped.setdefault((id(node), binding.action), (node, binding, []))
        shown = app.get_key_display(binding)
        if shown not in entry[2]:
            entry[2].append(shown)

    def rank(node: DOMNode, binding: Binding) -> int:
        if node is screen:
            return 3 if binding.action in GENERIC else 0
        return 2 if isinstance(node, App) else 1

    entries = sorted(grouped.values(), key=lambda entry: rank(entry[0], entry[1]))  # stable: the bindings' order
    return [(" ".join(keys), binding.tooltip or binding.description) for _node, binding, keys in entries]


def key_for(screen: Screen[object], action: Callable[[], object]) -> str | None:
    """The key that runs ``action`` (a screen's or the app's ``action_*`` method), as the
    footer shows it; None when no key does."""
    name = getattr(action, "__name__", "").removeprefix("action_")
    owner = getattr(action, "__self__", None)
    for node, binding, _enabled, _tooltip in screen.active_bindings.values():
        if node is owner and binding.action.split("(")[0].removeprefix("app.").removeprefix("screen.") == name:
            return screen.app.get_key_display(binding)
    return None
