"""Pilot tests for keys a person can discover: the footer keeps Lock and Help at 80×24, F1
and ? list every key of the screen in front (read from its bindings), the command palette
shows each action's key, dialogs show theirs in a footer; and the theme chosen is kept in
``tui.toml``."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from screens.app import VaultApp
from screens.detail import DetailScreen
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.help import HelpScreen
from screens.dialogs.prompt import PromptDialog
from screens.logic.settings import SETTINGS_FILE, TuiSettings
from screens.main import make_app
from screens.messages import VaultChanged
from screens.token_list import TokenListScreen
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio

QUIET = TuiSettings(refresher=False)


def footer_keys(app: VaultApp) -> dict[str, FooterKey]:
    """The footer's keys on the screen in front, by action."""
    return {key.action: key for key in app.screen.query(FooterKey)}


def help_lines(app: VaultApp) -> list[str]:
    assert isinstance(app.screen, HelpScreen)
    return [f"{keys} {what}" for keys, what in app.screen.keys]


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (200, 50)])
async def test_the_footer_keeps_lock_and_help_and_nothing_is_cut(
    samples: tuple[Vault, FrozenClock], size: tuple[int, int]
) -> None:
    app = make_app(*samples, settings=QUIET)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        keys = footer_keys(app)
        assert {"app.quit", "lock", "help"} <= set(keys)
        for key in keys.values():  # every key shown whole, inside the screen
            assert key.region.right <= size[0], key.description
        if size[0] >= 100:
            assert {"delete", "revoke", "export"} <= set(keys)
        assert ("command_palette" in keys) == (size[0] >= 120)


async def test_question_mark_lists_every_key_of_the_list(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        listed = "\n".join(help_lines(app))
        for expected in ("q Quit", "e export", "y copy the token", "Y copy a shell line", "esc clear the filter",
                         "/ filter", "↓ j down a row", "home g the first row", "end G the last row",
                         "⏎ open the credential", "o sort", "^l lock the vault", "? the keys",
                         "^p every action"):  # fmt: skip
            assert expected.casefold() in listed.casefold(), expected
        await pilot.press("question_mark")  # ? again closes it
        assert isinstance(app.screen, TokenListScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, TokenListScreen)


async def test_f1_on_a_credential_lists_its_keys(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=QUIET)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("f1")
        listed = "\n".join(help_lines(app))
        for expected in ("esc back to the list", "v show the token", "c y copy the token", "e export", "n rename"):
            assert expected in listed, expected
        assert "sign in to a provider" not in listed  # the list's keys are not this screen's


async def test_the_palette_shows_each_actions_key(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=QUIET)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Export the selected")
        await wait_for_hits(pilot)
        shown = str(app.screen.query_one(CommandList).get_option_at_index(0).prompt)
        assert "Export the selected credential" in shown and "key e" in shown


async def wait_for_hits(pilot: Pilot[None]) -> None:
    for _ in range(50):
        await pilot.pause(0.05)
        if pilot.app.screen.query_one("CommandList").option_count:  # type: ignore[attr-defined]
            return
    raise AssertionError("the palette found nothing")


async def test_dialogs_show_their_keys_in_a_footer(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert {key.key for key in app.screen.query(FooterKey)} >= {"y", "n"}
        await pilot.press("n")
        await pilot.press("n")  # rename
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        assert "escape" in {key.key for key in app.screen.query(FooterKey)}
        await pilot.press("escape")


async def test_the_theme_chosen_is_kept_in_tui_toml(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    settings_file = vault.paths.home / SETTINGS_FILE
    settings_file.write_text('# my settings\nreveal_for = "5s"\n')
    app = make_app(vault, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        default = app.theme
        await pilot.press("ctrl+t")
        chosen = app.theme
        assert chosen != default
    text = settings_file.read_text()
    assert text.startswith('# my settings\nreveal_for = "5s"\n') and f'theme = "{chosen}"' in text

    again = make_app(vault, clock)  # the next start reads it
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.theme == chosen
        assert again.settings.reveal_for == 5.0


async def test_an_unknown_theme_is_said_once_and_the_default_used(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    (vault.paths.home / SETTINGS_FILE).write_text('theme = "no-such-theme"\n')
    app = make_app(vault, clock)
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "textual-dark"
    assert [s for s in said if "tui.toml" in s] == ["tui.toml: there is no theme 'no-such-theme'; using the default."]
    assert (vault.paths.home / SETTINGS_FILE).read_text() == 'theme = "no-such-theme"\n'  # left as it was


def test_a_theme_that_is_not_text_is_refused(tmp_path: Path) -> None:
    from screens.logic.settings import load_settings
    from vault.core.paths import VaultPaths
    from vault.errors import InvalidInput

    (tmp_path / SETTINGS_FILE).write_text("theme = 3\n")
    with pytest.raises(InvalidInput, match="theme must be a theme's name"):
        load_settings(VaultPaths(tmp_path))


async def test_an_empty_vault_offers_only_keys_that_can_work() -> None:
    """No row: the footer offers no key that acts on one (Refresh, Export, Revoke...); the first
    credential brings them back."""
    from tests.support.tui import new_vault

    opened, clock = new_vault()
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
        shown = set(footer_keys(app))
        assert not shown & {"refresh", "export", "revoke", "delete"}, shown
        assert {"add", "sign_in"} <= shown
        opened.records.add_static("gh", provider="github-pat", token="ghp_emptyVaultTest1")
        app.screen.post_message(VaultChanged())
        await pilot.pause()
        await pilot.pause()
        assert {"refresh", "export", "revoke"} <= set(footer_keys(app))
