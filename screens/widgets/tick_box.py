"""A checkbox and a radio button whose box says its state: ``X`` (``●``) when on, empty when off.

Textual's :class:`~textual.widgets.Checkbox` draws ``X`` either way and changes only its
colour (its :class:`~textual.widgets.RadioButton` the same with ``●``), so on a terminal with
few colours (or to a person who does not know the theme) an unticked box reads as ticked.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class TickBox(Checkbox):
    """A :class:`~textual.widgets.Checkbox` that shows ``X`` only while it is ticked."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button


class TickRadio(RadioButton):
    """A :class:`~textual.widgets.RadioButton` that shows ``●`` only while it is the one chosen."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "●" if self.value else " "
        return super()._button
