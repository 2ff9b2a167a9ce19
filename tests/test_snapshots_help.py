"""Snapshots of issue 34's help and a confirmation (items 8 and 9), kept in
``tests/__snapshots__/test_snapshots_help/``: the help grouped by purpose at 80x24, 120x40 and
200x50, dark and light, and the revoke dialog whose keys are named as its buttons, at 80x24.
The setup (a frozen clock, a credential in every status, no refresher) is
:mod:`tests.test_snapshots`'s."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from textual.pilot import Pilot

from screens.app import VaultApp
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.help import HelpScreen
from tests.support.tui import FAKE_SECRETS
from tests.test_snapshots import (  # noqa: F401 - fixtures, used by name
    CLIENT_SECRET,
    SnapCompare,
    every_status,
    no_cursor_blink,
    opened,
    screen_of,
    select,
    with_theme,
)

SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_snapshots_help"

sizes = pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=["80x24", "120x40", "200x50"])
themes = pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])


@themes
@sizes
def test_help(snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int], theme: str) -> None:  # noqa: F811
    """The list's keys under Move, Act on a credential, View and App, the cursor on the first."""

    async def run_before(pilot: Pilot[None]) -> None:
        await select(pilot, "google")
        await pilot.press("question_mark")
        screen = screen_of(pilot.app, HelpScreen)
        assert [title for title, _keys in screen.sections] == ["Move", "Act on a credential", "View", "App"]

    assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=size)


@themes
def test_revoke_asks_with_its_buttons_words(snap_compare: SnapCompare, every_status: VaultApp, theme: str) -> None:  # noqa: F811
    async def run_before(pilot: Pilot[None]) -> None:
        await select(pilot, "github")
        await pilot.press("x")
        screen_of(pilot.app, ConfirmDialog)

    assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=(80, 24))


def test_no_picture_shows_a_secret() -> None:
    pictures = sorted(SNAPSHOTS.glob("*.svg"))
    assert pictures, "no snapshots stored"
    for picture in pictures:
        text = html.unescape(picture.read_text(encoding="utf-8")).replace("\xa0", " ")
        for secret in (*FAKE_SECRETS, CLIENT_SECRET):
            assert secret not in text, f"{picture.name} shows {secret!r}"
