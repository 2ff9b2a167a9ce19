"""Pilot tests for issue 34 items 8 (rest) and 9: the keys a person sees are the keys that work,
named as the buttons they stand for; the footer keeps what matters when it is narrow; the help
is grouped by purpose, lists the app's keys only, and runs what it lists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Button, Input, OptionList
from textual.widgets._footer import FooterKey

from screens.app import VaultApp
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.help import HelpScreen
from screens.logic.key_groups import SECTIONS
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.tui import add_every_status, new_vault
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio

QUIET = TuiSettings(refresher=False)

INTERNALS = ("Page Right", "Page Left", "Focus Next", "Focus Previous", "Copy selected text", "Scroll Up")
"""Textual's own keys, never the app's: the help leaves them out."""


@pytest.fixture
def every_status() -> Iterator[tuple[Vault, FrozenClock]]:
    vault, clock = new_vault()
    with vault:
        add_every_status(vault, clock)
        yield vault, clock


def footer(app: VaultApp) -> dict[str, FooterKey]:
    return {key.action: key for key in app.screen.query(FooterKey)}


async def select(app: VaultApp, name: str) -> None:
    table = app.screen.query_one("#tokens", CredentialTable)
    table.move_cursor(table.row_keys.index(name))


def help_screen(app: VaultApp) -> HelpScreen:
    assert isinstance(app.screen, HelpScreen), type(app.screen).__name__
    return app.screen


# ------------------------------------------------------------ item 8: one vocabulary


@pytest.mark.parametrize(("key", "word"), [("x", "Revoke"), ("d", "Delete")])
async def test_the_confirm_dialogs_keys_are_named_as_its_buttons(
    every_status: tuple[Vault, FrozenClock], key: str, word: str
) -> None:
    """The revoke dialog's buttons say Revoke / Cancel: its footer says y Revoke, n Cancel
    (it said y Yes, n No)."""
    app = make_app(*every_status, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(app, "github")
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        buttons = [str(b.label) for b in app.screen.query(Button)]
        assert buttons == [word, "Cancel"]
        shown = {k.key: k.description for k in app.screen.query(FooterKey)}
        assert shown.get("y") == word and shown.get("n") == "Cancel", shown
        await pilot.press("n")
        assert isinstance(app.screen, TokenListScreen)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_a_narrow_footer_keeps_the_rows_main_actions(
    every_status: tuple[Vault, FrozenClock], size: tuple[int, int]
) -> None:
    """With "Sign in again" and "Failing" both offered, Refresh stays in view (it was the
    first to go at 80 columns); what goes is the least important, from the last."""
    app = make_app(*every_status, settings=QUIET)
    async with app.run_test(size=size) as pilot:
        await select(app, "azure")  # needs a new sign-in; notion's refresh fails
        await pilot.pause()
        keys = footer(app)
        assert {"sign_in_again", "first_failing", "refresh", "app.quit", "lock", "help"} <= set(keys), set(keys)
        for key in keys.values():
            assert key.region.right <= size[0], key.description
        order = ["delete", "revoke", "add", "sign_in", "export", "filter"]  # dropped first to last
        dropped = [action for action in order if action not in keys]
        assert dropped == order[: len(dropped)], dropped


# ---------------------------------------------------------------- item 9: the help


async def test_the_help_is_grouped_by_purpose_and_lists_the_apps_keys_only(
    every_status: tuple[Vault, FrozenClock],
) -> None:
    app = make_app(*every_status, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(app, "google")
        await pilot.press("question_mark")
        screen = help_screen(app)
        assert [title for title, _keys in screen.sections] == list(SECTIONS)
        assert SECTIONS == ("Move", "Act on a credential", "View", "App")
        grouped = {title: " | ".join(f"{k} {w}" for k, w in keys) for title, keys in screen.sections}
        assert "↓ j" in grouped["Move"] and "f to the first credential" in grouped["Move"]
        assert "r refresh" in grouped["Act on a credential"] and "x revoke" in grouped["Act on a credential"]
        assert "/ filter" in grouped["View"] and "o sort" in grouped["View"]
        assert "^l lock" in grouped["App"] and "q ^q" in grouped["App"]
        everything = " | ".join(grouped.values())
        for internal in INTERNALS:
            assert internal.casefold() not in everything.casefold(), internal
        shown = screen.query_one("#help-keys", OptionList)
        assert shown.region.bottom <= 23 and shown.region.right <= 80  # above the footer, inside 80x24
        assert "Move" in str(shown.get_option_at_index(0).prompt)  # the first section's title on top


async def test_the_help_lists_only_keys_that_work_on_the_screen_beneath(
    every_status: tuple[Vault, FrozenClock],
) -> None:
    """On a static token there is no sign-in again and no refresh of an OAuth token: l is not
    listed; on a row that needs a sign-in it is."""
    app = make_app(*every_status, settings=QUIET)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(app, "gitlab")
        await pilot.press("question_mark")
        keys = [k for k, _what in help_screen(app).keys]
        assert "l" not in keys and "t" in keys
        await pilot.press("escape")
        await select(app, "azure")
        await pilot.press("question_mark")
        keys = [k for k, _what in help_screen(app).keys]
        assert "l" in keys and "t" not in keys


async def test_enter_on_a_line_of_the_help_runs_it_on_the_screen_beneath(
    every_status: tuple[Vault, FrozenClock],
) -> None:
    app = make_app(*every_status, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        screen = help_screen(app)
        shown = screen.query_one("#help-keys", OptionList)
        prompts = [str(shown.get_option_at_index(i).prompt) for i in range(shown.option_count)]
        shown.highlighted = next(i for i, prompt in enumerate(prompts) if "filter by name" in prompt)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
        assert app.screen.query_one("#filter", Input).has_focus  # "/ filter" ran on the list
        await pilot.press("f1")  # typing in the filter: its keys, the way back out first
        assert ("esc", "clear the filter") in help_screen(app).keys
        await pilot.press("escape")
