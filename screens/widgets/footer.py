"""The footer every tokendeck screen shows: Textual's, fitted to the terminal's width.

Wide enough, it is Textual's own (the command palette's key on the right).  Narrower,
it first leaves out the palette's key (``?`` lists it), then turns compact, and if the
keys still do not fit (80 columns), drops keys from the end of the screen's own, never
Quit or the app's Lock and Help: what was dropped is in ``?`` and the palette.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEEP = frozenset({"lock", "help", "app.lock", "app.help", "quit", "app.quit"})
"""Actions the footer always shows."""


def _width(key: FooterKey, *, compact: bool) -> int:
    """Columns the key takes: its key and label, padded (measured on Textual 8's footer)."""
    return len(key.key_display) + len(key.description) + (2 if compact else 3)  # compact: 1 pad, 1 margin


class KeysFooter(Footer):
    def compose(self) -> ComposeResult:
        keys = [widget for widget in super().compose() if isinstance(widget, FooterKey)]
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
        while sum(_width(k, compact=True) for k in keys) > width:
            droppable = [k for k in keys if k.action not in KEEP]
            if not droppable:
                break
            keys.remove(droppable[-1])
        self.styles.grid_size_columns = len(keys)
        yield from keys

    async def on_resize(self, event: events.Resize) -> None:
        await self.recompose()
