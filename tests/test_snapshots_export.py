"""Issue 34's export pictures: the form as it opens (the cursor in a field, the target chosen
for the credential) and its preview, at 80x24, 120x40 and 200x50, dark and light.  The Preview
and Write buttons are in view at every size.  Same rules as :mod:`tests.test_snapshots` (a
frozen clock, no refresher, no secret in any picture: checked below as there)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input

from screens.app import VaultApp
from screens.export import ExportScreen
from tests.support.tui import FAKE_SECRETS
from tests.test_snapshots import (
    CLIENT_SECRET,
    EXPORT_DIR,
    SnapCompare,
    every_status,  # noqa: F401 - a fixture
    no_cursor_blink,  # noqa: F401 - an autouse fixture: text cursors do not blink here either
    opened,  # noqa: F401 - a fixture
    screen_of,
    select,
    with_theme,
)

SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_snapshots_export"

sizes = pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=["80x24", "120x40", "200x50"])
themes = pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])


async def open_form(pilot: Pilot[None]) -> ExportScreen:
    await select(pilot, "github")
    await pilot.press("e")
    screen = screen_of(pilot.app, ExportScreen)
    await pilot.pause()
    return screen


@sizes
@themes
def test_the_export_form_as_it_opens(
    snap_compare: SnapCompare,
    every_status: VaultApp,  # noqa: F811
    size: tuple[int, int],
    theme: str,
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await open_form(pilot)

    assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=size)


@sizes
@themes
def test_the_export_preview(
    snap_compare: SnapCompare,
    every_status: VaultApp,  # noqa: F811
    size: tuple[int, int],
    theme: str,
) -> None:
    EXPORT_DIR.mkdir(exist_ok=True)

    async def run_before(pilot: Pilot[None]) -> None:
        screen = await open_form(pilot)
        screen.query_one("#file", Input).value = str(EXPORT_DIR / ".env")
        await pilot.press("enter")  # from the field the cursor is in, as the form says
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert not screen.query_one("#write", Button).disabled

    assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=size)


def test_no_export_picture_shows_a_secret() -> None:
    pictures = sorted(SNAPSHOTS.glob("*.svg"))
    assert len(pictures) == 12, [p.name for p in pictures]
    for picture in pictures:
        text = html.unescape(picture.read_text(encoding="utf-8")).replace("\xa0", " ")
        for secret in (*FAKE_SECRETS, CLIENT_SECRET):
            assert secret not in text, f"{picture.name} shows {secret!r}"
