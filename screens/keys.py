"""The keys a screen answers, read from its bindings: what the help screen lists and the
palette shows beside each action, so neither can drift from what the keys really do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.screen import Screen

from screens.logic.key_groups import SECTIONS, action_name, section_of

KeyList = list[tuple[str, str]]
"""(keys, what they do): ``("↓ j", "down a row")``."""


@dataclass(frozen=True)
class KeyLine:
    """One line of the help: the keys that run ``action`` on ``node``, and what it does."""

    keys: str
    what: str
    action: str
    node: DOMNode
    section: str


def labels(screen: Screen[object]) -> Mapping[str, str]:
    """The screen's own names for its keys' actions (``{"answer(True)": "Revoke"}``): a dialog
    names its keys as its buttons.  Empty for a screen that keeps its bindings' words."""
    named = getattr(screen, "key_labels", None)
    return named if isinstance(named, Mapping) else {}


def _ours(node: DOMNode, binding: Binding) -> bool:
    """Whether tokendeck bound ``binding`` (on ``node``'s class or a base of it in ``screens``),
    not Textual (its scrolling, focus and text-editing keys are not the app's)."""
    for cls in type(node).__mro__:
        if not (cls.__module__ == "screens" or cls.__module__.startswith("screens.")):
            continue
        declared = BindingsMap(cls.__dict__.get("BINDINGS", ()))
        if any(b.action == binding.action for b in declared.key_to_bindings.get(binding.key, ())):
            return True
    return False


def key_lines(screen: Screen[object]) -> list[KeyLine]:
    """Every key of tokendeck's that works on ``screen`` now (its ``check_action`` says so),
    hidden ones included, one line per action (``q ^q`` quit), by section: the focused
    widget's keys first in each, then the screen's, then the app's, each in their bindings'
    order.  Textual's own keys (tab, paging sideways, copying selected text) are left out."""
    app = screen.app
    named = labels(screen)
    grouped: dict[tuple[int, str], tuple[DOMNode, Binding, list[str], list[str]]] = {}
    for node, binding, enabled, _tooltip in screen.active_bindings.values():
        if not enabled or not _ours(node, binding):
            continue
        target = app if binding.action.startswith("app.") else node
        entry = grouped.setdefault((id(target), action_name(binding.action) + binding.action.partition("(")[2]),
                                   (node, binding, [], []))  # fmt: skip
        shown = app.get_key_display(binding)
        if shown not in entry[2]:
            entry[2].append(shown)
        if binding.tooltip:
            entry[3].append(binding.tooltip)  # q has none, ctrl+q for the same action has

    def owner(node: DOMNode) -> str:
        return "app" if isinstance(node, App) else "screen" if node is screen else "widget"

    rank = {"widget": 0, "screen": 1, "app": 2}
    lines = []
    for node, binding, keys, tooltips in grouped.values():
        what = tooltips[0] if tooltips else binding.description
        if binding.action in named:
            what = f"{named[binding.action]}: {binding.tooltip}" if binding.tooltip else named[binding.action]
        lines.append(KeyLine(" ".join(keys), what, binding.action, node, section_of(binding.action, owner(node))))
    return sorted(lines, key=lambda line: (SECTIONS.index(line.section), rank[owner(line.node)]))  # stable


def screen_keys(screen: Screen[object]) -> KeyList:
    """:func:`key_lines` as (keys, what they do)."""
    return [(line.keys, line.what) for line in key_lines(screen)]


def key_for(screen: Screen[object], action: Callable[[], object]) -> str | None:
    """The key that runs ``action`` (a screen's or the app's ``action_*`` method), as the
    footer shows it; None when no key does."""
    name = getattr(action, "__name__", "").removeprefix("action_")
    owner = getattr(action, "__self__", None)
    for node, binding, _enabled, _tooltip in screen.active_bindings.values():
        if node is owner and binding.action.split("(")[0].removeprefix("app.").removeprefix("screen.") == name:
            return screen.app.get_key_display(binding)
    return None
