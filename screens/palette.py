"""Command palette entries for every action (ctrl+p)."""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider


class TokendeckCommands(Provider):
    """Every action of the list and the app, by name."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        from screens.app import VaultApp
        from screens.token_list import TokenListScreen

        app = self.app
        commands: list[tuple[str, str, Callable[[], object]]] = []
        if isinstance(app, VaultApp) and app.vault is not None:
            commands.append(("Lock the vault", "close it and ask for the passphrase again", app.action_lock))
        screen = app.screen_stack[1] if len(app.screen_stack) > 1 else None
        if isinstance(screen, TokenListScreen):
            commands += [
                ("Sign in to a provider", "browser or device sign-in", screen.action_sign_in),
                ("Add a static token", "a PAT or an API key", screen.action_add),
                ("Refresh the selected credential", "ask its provider for a new token now", screen.action_refresh),
                ("Refresh everything due", "all tokens expiring within 5 minutes", screen.action_refresh_due),
                ("Revoke the selected credential", "at the provider, then erase it here", screen.action_revoke),
                ("Delete the selected credential", "erase it from the vault", screen.action_delete),
                ("Rename the selected credential", "", screen.action_rename),
                ("Filter the list", "by name, provider or account", screen.action_filter),
                ("Export to an agent config", "", screen.action_export),
            ]
        if isinstance(app, VaultApp):
            commands += [
                ("Toggle light / dark theme", "", app.action_toggle_theme),
                ("Help: keys", "", app.action_help),
            ]
        return commands

    async def discover(self) -> Hits:
        for name, help_text, action in self._commands():
            yield DiscoveryHit(name, action, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), action, help=help_text)
