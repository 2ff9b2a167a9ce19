"""Snapshots of the "Proxy runs" dialog (``P`` on the list), kept in
``tests/__snapshots__/test_snapshots_proxy_runs/``: two runs (one ended with two substitutions and
a refusal, one running), the ended one highlighted with its audit rows, at 80x24 and 120x40, dark and
light.  The setup (a frozen clock, a credential in every status, no refresher) is
:mod:`tests.test_snapshots`'s; the runs are :func:`tests.test_tui_proxy_runs.add_runs`'."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from screens.app import VaultApp
from screens.dialogs.proxy_runs import ProxyRunsScreen
from screens.main import make_app
from tests.support.tui import add_every_status
from tests.test_snapshots import (  # noqa: F401 - fixtures, used by name
    QUIET,
    SnapCompare,
    no_cursor_blink,
    opened,
    screen_of,
    with_theme,
)
from tests.test_tui_proxy_runs import add_runs
from vault import Vault
from vault.core.clock import FrozenClock


@pytest.fixture
def with_runs(opened: tuple[Vault, FrozenClock]) -> VaultApp:  # noqa: F811
    vault, clock = opened
    add_every_status(vault, clock)
    add_runs(vault, clock)
    return make_app(vault, clock, settings=QUIET)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_proxy_runs(snap_compare: SnapCompare, with_runs: VaultApp, size: tuple[int, int], theme: str) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("P")
        screen = screen_of(pilot.app, ProxyRunsScreen)
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.press("down")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        assert screen.query_one("#proxy-run-rows").row_count == 5  # type: ignore[attr-defined]

    assert snap_compare(with_runs, run_before=with_theme(theme, run_before), terminal_size=size)
