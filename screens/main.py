"""Building and running the TUI: :func:`make_app` is the one factory the CLI, the Pilot
tests and the snapshot tests share.  It is the only module that knows every screen
the app routes to (:class:`screens.app.Routes`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from screens.app import VaultApp
from screens.dialogs.help import HelpScreen
from screens.locking import Routes
from screens.logic.settings import TuiSettings, load_settings
from screens.token_list import TokenListScreen
from screens.unlock import FirstRunScreen, UnlockScreen
from vault import Vault
from vault.core.clock import Clock
from vault.core.paths import resolve_home

ROUTES = Routes(unlock=UnlockScreen, first_run=FirstRunScreen, home=TokenListScreen, help=HelpScreen)


def make_app(
    vault: Vault | None = None,
    clock: Clock | None = None,
    *,
    home: str | os.PathLike[str] | None = None,
    settings: TuiSettings | None = None,
    env: Mapping[str, str] | None = None,
    start_agent: bool = False,
) -> VaultApp:
    """Build the app.

    Without ``settings``, they come from ``tui.toml`` in the vault home, if any.
    """
    paths = vault.paths if vault is not None else resolve_home(home)
    settings = settings or load_settings(paths)
    return VaultApp(paths, routes=ROUTES, vault=vault, clock=clock, settings=settings, env=env, start_agent=start_agent)


def cmd_tui(args: object) -> int:
    """``tokendeck`` with no command (the CLI names this handler by string, so ``vault``
    never imports the UI).  The app unlocks or creates the vault itself."""
    from vault.core.process import keep_secrets_out_of_dumps

    check_tui_can_start()
    keep_secrets_out_of_dumps()  # the TUI will hold the key and show tokens
    run_app(start_agent=not getattr(args, "no_agent", False))
    return 0


def check_tui_can_start() -> None:
    """The TUI needs a terminal; without one, say what to do instead.

    Raises:
        NoVault: there is no vault yet (create one with ``tokendeck init``).
        InvalidInput: stdin is not a terminal.
    """
    import sys

    if not sys.stdin.isatty():
        from vault.errors import InvalidInput, NoVault
        from vault.services.opening import present

        if not present():
            raise NoVault(f"no vault at {resolve_home().home} (create one with: tokendeck init)")
        raise InvalidInput("the TUI needs a terminal; see tokendeck --help for the commands")


def run_app(vault: Vault | None = None, *, start_agent: bool = False) -> None:
    """Run the TUI until the user quits; with ``start_agent``, as ``settings.agent`` says (and
    then say what keeps running once it is gone)."""
    app = make_app(vault)
    app.start_agent = start_agent and app.settings.agent
    app.run()
    if app.start_agent:  # once the screen is the terminal's again: what keeps running, and until when
        import sys

        from screens.locking import quit_words

        print(f"tokendeck: {quit_words(str(app.paths.home))}", file=sys.stderr, flush=True)
