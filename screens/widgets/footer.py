"""The footer every tokendeck screen shows: Textual's, fitted to the terminal's width, in the
screen's own words.

Wide enough, it is Textual's own (the command palette's key on the right).  Narrower,
it first leaves out the palette's key (``?`` lists it), then turns compact, and if the
keys still do not fit (80 columns), leaves out the least important of the screen's own
(:data:`~screens.logic.key_groups.DROP_FIRST`, then from the end), never Quit, Lock, Help
or the way back: what was left out is in ``?`` and the palette.

A screen may name its keys itself (:func:`screens.keys.labels`): a dialog's keys say what
its buttons say (``y Revoke  n Cancel``).
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from screens.keys import labels
from screens.logic.key_groups import drop_order

KEEP = frozenset({"lock", "help", "quit", "back", "cancel", "close", "clear_filter"})
"""Actions the footer always shows (by name: ``app.quit`` is ``quit``)."""


def _width(key: FooterKey, *, compact: bool) -> int:
    """Columns the key takes: its key and label, padded (measured on Textual 8's footer)."""
    return len(key.key_display) + len(key.description) + (2 if compact else 3)  # compact: 1 pad, 1 margin


class KeysFooter(Footer):
    def compose(self) -> ComposeResult:
        keys = [widget for widget in super().compose() if isinstance(widget, FooterKey)]
        named = labels(self.screen)
        for key in keys:
            key.description = named.get(key.action, key.description)
        width = self.size.width or self.app.size.width
        palette = [k for k in keys if k.has_class("-command-palette")]
        keys = [k for k in keys if not k.has_class("-command-palette")]
        wide = sum(_width(k, compact=False) for k in keys)
        palette_width = sum(_width(k, compact=False) + 1 for k in palette)
        if wide <= width:
            self.set_reactive(Footer.compact, False)
            self.set_class(False, "-compact")
            yield from keys
            if wide + palette_width <= width:
                yield from palette
            return
        self.set_reactive(Footer.compact, True)  # the keys bind to it as they mount
        self.set_class(True, "-compact")
        used = sum(_width(k, compact=True) for k in keys)
        left_out: set[int] = set()
        for index in drop_order([k.action for k in keys], KEEP):
            if used <= width:
                break
            left_out.add(index)
            used -= _width(keys[index], compact=True)
        keys = [k for i, k in enumerate(keys) if i not in left_out]
        self.styles.grid_size_columns = len(keys)
        yield from keys

    async def on_resize(self, event: events.Resize) -> None:
        await self.recompose()
