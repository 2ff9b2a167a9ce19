"""Command palette entries (ctrl+p): a provider built from a list of named actions.

The app lists its own (:class:`screens.app.AppCommands`) and each screen its own
(``COMMANDS`` on the screen), so the palette offers what the screen in front can do.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

Command = tuple[str, str, Callable[[], object]]
"""(name, help, action) of one palette entry."""


class ActionCommands(Provider):
    """Offers :meth:`commands` in the palette, matched by name."""

    def commands(self) -> list[Command]:
        """The entries to offer now (empty by default)."""
        return []

    async def discover(self) -> Hits:
        for name, help_text, action in self.commands():
            yield DiscoveryHit(name, action, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), action, help=help_text)
