"""The Textual application: bindings, stylesheets and routing only.

Screens live in modules of their own; the app is built by :func:`make_app`,
which the CLI, the Pilot tests and the snapshot tests all share.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from vault import Vault
from vault.clock import Clock
from vault.resources import asset


class VaultApp(App[None]):
    """tokendeck's TUI over one open vault.

    Args:
        vault: the unlocked vault; the app never opens or closes it.
        clock: the time source for countdowns (tests freeze it).
    """

    TITLE = "tokendeck"
    CSS_PATH = [asset("app.tcss")]
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def __init__(self, vault: Vault, clock: Clock) -> None:
        super().__init__()
        self.vault = vault
        self.clock = clock

    def get_default_screen(self) -> Screen[None]:
        """The credential list is the base of the screen stack."""
        from screens.token_list import TokenListScreen  # deferred: screens import this module for their typed app

        return TokenListScreen()


def make_app(vault: Vault, clock: Clock | None = None) -> VaultApp:
    """Build the app; the one factory used by the CLI and the tests."""
    return VaultApp(vault, clock or vault.clock)


def run_app(vault: Vault) -> None:
    """Run the TUI until the user quits."""
    make_app(vault).run()
