"""The list's filter field: while a person types in it, its footer shows the way back."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from screens.widgets.guarded_input import GuardedInput


class FilterInput(GuardedInput):
    """A :class:`GuardedInput` whose Enter (to the list, filtered) and Escape (clear the
    filter, on the screen's ``clear_filter``) are shown in the footer: a text field hides
    the screen's letter keys, so these two are the keys that lead out of it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "To the list", tooltip="back to the list, filtered"),
        Binding("escape", "screen.clear_filter", "Clear filter", tooltip="clear the filter"),
    ]
