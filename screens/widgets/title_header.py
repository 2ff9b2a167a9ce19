"""The screens' title bar: Textual's :class:`~textual.widgets.Header`, with title watchers that
tolerate a screen being torn down.

Textual 8's Header registers an ``async`` watcher of the app's and the screen's title on mount,
which looks up its :class:`HeaderTitle` child each time.  When a screen is replaced while its
header is still mounting (the unlock screen giving way to the list, a lock over a half-built
screen), the watcher runs on a header whose child is gone or not there yet: the lookup raises
``NoMatches`` in the app, or the coroutine is dropped un-awaited (an unraisable warning).  Both
were seen in CI under load.  Here the watcher is a plain function that does nothing when the
child is not there; everything else is Textual's own.
"""

from __future__ import annotations

import contextlib

from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.events import Mount
from textual.widget import Widget
from textual.widgets import Header
from textual.widgets._header import HeaderTitle


class TitleHeader(Header):
    """A :class:`Header` whose title updates skip a header without its title child."""

    def _on_mount(self, event: Mount) -> None:
        event.prevent_default()  # not Header's own: its async watcher is what this replaces
        Widget._on_mount(self, event)

        def set_title() -> None:
            with contextlib.suppress(NoMatches, NoScreen):  # torn down, or not composed yet
                self.query_one(HeaderTitle).update(self.format_title())

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)
