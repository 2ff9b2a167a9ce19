"""Pilot tests for the detail screen's "Used by" line (exports, configs, git hosts, the last
read) and its short form in the revoke question; and "copy as Authorization: Bearer …" by
key and from the palette, cleared from the clipboard later as a token is (issue 34, Build 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Static

from screens.app import VaultApp
from screens.detail import DetailScreen
from screens.dialogs.confirm import ConfirmDialog
from screens.logic.settings import TuiSettings
from screens.main import make_app
from tests.support.tui import SAMPLE_ORDER, record_notices
from tests.test_tui_keys import wait_for_hits
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio

SIZE = (100, 30)
FAST = TuiSettings(reveal_for=0.5, clipboard_clear_after=0.5, refresher=False)
WAIT = 0.8


async def open_detail(app: VaultApp, pilot: Pilot[None], name: str) -> DetailScreen:
    await pilot.press(*["down"] * SAMPLE_ORDER.index(name), "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    return screen


def used_by(screen: DetailScreen) -> str:
    return str(screen.query_one("#used-by", Static).content)


def env_in(tmp_path: Path) -> str:
    """``.env in /tmp/.../proj`` (or ``~/...`` when the temporary folder is under home)."""
    from vault.services.usage import where

    return where(str(tmp_path / "proj" / ".env"))


def uses(vault: Vault, clock: FrozenClock, folder: Path) -> None:
    records = vault.records
    records.links.add_export_binding("github", target="dotenv", path=str(folder / ".env"), key="GH", options={})
    records.links.map_git_host("github.com", "github")
    records.touch(vault.get("github"), clock.now() - 120)


async def test_the_detail_says_what_uses_the_credential(samples: tuple[Vault, FrozenClock], tmp_path: Path) -> None:
    vault, clock = samples
    uses(vault, clock, tmp_path / "proj")
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(app, pilot, "github")
        assert used_by(screen) == f"{env_in(tmp_path)} (GH) · git host github.com · last read 2m ago"
        await pilot.press("escape")
        await pilot.pause()
        screen = await open_detail(app, pilot, "gitlab")
        assert used_by(screen) == "nothing tokendeck knows of (no export, git host or forward)"


async def test_the_revoke_question_names_what_uses_it(samples: tuple[Vault, FrozenClock], tmp_path: Path) -> None:
    vault, clock = samples
    uses(vault, clock, tmp_path / "proj")
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, "github")
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.body.endswith(f" Used by {env_in(tmp_path)} (GH), git host github.com.")
        await pilot.press("n")


async def test_b_copies_an_authorization_header_cleared_later(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(*samples, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await open_detail(app, pilot, "github")
        await pilot.press("b")
        await app.workers.wait_for_complete()
        assert app.clipboard == "Authorization: Bearer ghp_test2"
        assert notices.texts()[-1] == (
            "Sent to the terminal's clipboard: an Authorization: Bearer header with github's token, "
            "cleared again in 0.5 s."
        )
        await pilot.pause(WAIT)
        assert app.clipboard == " "  # cleared as a copied token is


async def test_the_palette_copies_an_authorization_header(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, "github")
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Authorization")
        await wait_for_hits(pilot)
        shown = str(app.screen.query_one(CommandList).get_option_at_index(0).prompt)
        assert "Copy as Authorization: Bearer …" in shown and "key b" in shown
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.clipboard == "Authorization: Bearer ghp_test2"
