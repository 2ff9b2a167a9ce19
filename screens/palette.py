"""Command palette entries (ctrl+p): a provider built from a list of named actions.

The app lists its own (:class:`screens.app.AppCommands`) and each screen its own
(``COMMANDS`` on the screen), so the palette offers what the screen in front can do.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from screens.keys import key_for

Command = tuple[str, str, Callable[[], object]]
"""(name, help, action) of one palette entry."""


class ActionCommands(Provider):
    """Offers :meth:`commands` in the palette, matched by name."""

    def commands(self) -> list[Command]:
        """The entries to offer now (empty by default)."""
        return []

    def _help(self, help_text: str, action: Callable[[], object]) -> str:
        """The entry's help, led by the key that does the same (read from the bindings)."""
        key = key_for(self.screen, action)
        return " · ".join(part for part in (f"key {key}" if key else "", help_text) if part)

    async def discover(self) -> Hits:
        for name, help_text, action in self.commands():
            yield DiscoveryHit(name, action, help=self._help(help_text, action))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), action, help=self._help(help_text, action))
