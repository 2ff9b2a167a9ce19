"""Snapshot tests of the list's table (issue 34, items 4 and 5): grouped by provider, and with a
credential whose refresh fails, at 80x24, 120x40 and 200x50, dark and light.  Kept in
``tests/__snapshots__/test_snapshots_list/``; the fixtures and helpers are
:mod:`tests.test_snapshots`'s (a frozen clock, no background refresher, no blinking cursor)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from screens.app import VaultApp
from screens.token_list import TokenListScreen
from tests import test_snapshots as base
from tests.test_snapshots import SnapCompare, screen_of, with_theme

opened = base.opened
every_status = base.every_status
no_cursor_blink = base.no_cursor_blink
"""The fixtures of :mod:`tests.test_snapshots`, found here by name."""

sizes = pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=["80x24", "120x40", "200x50"])
themes = pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])


@themes
@sizes
def test_grouped_by_provider(
    snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int], theme: str
) -> None:
    """``p``: a heading per provider with its count, "grouped by provider" in the header and the
    status line, the cursor on a credential (never on a heading)."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("p")
        screen = screen_of(pilot.app, TokenListScreen)
        assert "grouped by provider" in str(screen.status_line.render())
        assert screen.selected() is not None

    assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=size)


@themes
@sizes
def test_a_failing_refresh(
    snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int], theme: str
) -> None:
    """``notion``'s refresh fails (a 503): its row says so, the status line has one segment for
    it, ``f`` put the cursor on it; the agent refreshes (pinned: nothing runs)."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, VaultApp)
        app.agent_pid = 4242
        app.last_refresh_report = "google refreshed"
        await pilot.press("f")
        screen = screen_of(app, TokenListScreen)
        screen.refresh_times()
        await pilot.pause()
        assert screen.selected_name() == "notion"
        assert "1 failing" in str(screen.status_line.render())

    assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=size)
