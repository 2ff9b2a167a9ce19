"""Which purpose a key serves, for the help (grouped) and the footer (what a narrow one keeps),
without Textual: by the name of the action it runs.

Keys are named by their action as a binding writes it (``refresh``, ``app.quit``,
``answer(False)``): the namespace and the arguments do not change the purpose.
"""

from __future__ import annotations

SECTIONS = ("Move", "Act on a credential", "View", "App")
"""The help's sections, in the order shown."""

_BY_SECTION: dict[str, frozenset[str]] = {
    "Move": frozenset(
        {
            "cursor_up",
            "cursor_down",
            "page_up",
            "page_down",
            "first",
            "last",
            "scroll_left",
            "scroll_right",
            "first_failing",
            "back",
            "cancel",
        }
    ),  # fmt: skip
    "Act on a credential": frozenset({"select", "open"}),
    "View": frozenset({"filter", "clear_filter", "sort", "reverse_sort", "group", "reveal", "toggle_theme"}),
    "App": frozenset(
        {
            "quit",
            "lock",
            "help",
            "close",
            "command_palette",
            "sign_in",
            "add",
            "refresh_due",
            "forwards",
            "proxy_runs",
            "leaks",
        }
    ),
}

OWNER_SECTION = {"widget": "Move", "app": "App", "screen": "Act on a credential"}
"""Where a key no table names goes, by what answers it: the focused widget's keys move about,
the app's are the app's, a screen's own act on what it shows."""

DROP_FIRST = ("delete", "revoke", "rename", "add", "sign_in", "export", "filter")
"""Of a screen's keys, those a footer too narrow for all leaves out first, in this order (they
stay in the help and the palette); the rest go from the end after them.  The keys that answer
the row in front (sign in again, refresh) and the way to a failing one come after all of these."""


def action_name(action: str) -> str:
    """``app.quit`` -> ``quit``; ``answer(False)`` -> ``answer``."""
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


def section_of(action: str, owner: str) -> str:
    """The help's section for a key running ``action``, answered by ``owner`` (``widget``,
    ``screen`` or ``app``)."""
    name = action_name(action)
    for section, names in _BY_SECTION.items():
        if name in names:
            return section
    return OWNER_SECTION.get(owner, "App")


def drop_order(actions: list[str], keep: frozenset[str]) -> list[int]:
    """The indexes of ``actions`` (a footer's, in its order) in the order a narrow footer
    leaves them out: :data:`DROP_FIRST` first, then the others from the end; never one of
    ``keep``."""
    ranked = {name: rank for rank, name in enumerate(DROP_FIRST)}
    droppable = [i for i, action in enumerate(actions) if action not in keep and action_name(action) not in keep]
    listed = [i for i in droppable if action_name(actions[i]) in ranked]
    listed.sort(key=lambda i: ranked[action_name(actions[i])])
    rest = [i for i in reversed(droppable) if action_name(actions[i]) not in ranked]
    return listed + rest
