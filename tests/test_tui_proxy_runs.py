"""The TUI's "Proxy runs" dialog (``P`` on the list): the runs ``tokendeck proxy runs`` lists,
newest first, and the audit rows of the highlighted one (``tokendeck audit --run ID``), read by the
same rule (:mod:`vault.services.proxy_runs`)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, OptionList, Static

from screens.dialogs.help import HelpScreen
from screens.dialogs.proxy_runs import ProxyRunsScreen
from screens.main import make_app
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio


def add_runs(vault: Vault, clock: FrozenClock) -> None:
    """Two runs: ``curl`` (ended, exit 0: two substitutions and a refusal), then ``my agent`` (running)."""
    now = clock.at
    record = vault.records.record
    clock.at = now - 600
    record("proxy-run", "started", detail="command=curl allow=github run=0a1b2c3d")
    record(
        "proxy",
        "substituted",
        credential="github",
        detail="host=api.github.com method=GET path=/user command=curl run=0a1b2c3d",
    )
    record(
        "proxy",
        "substituted",
        credential="github",
        detail="host=api.github.com method=GET path=/repos command=curl run=0a1b2c3d",
    )
    record(
        "proxy",
        "refused",
        credential="github",
        detail="host=evil.example method=POST path=/x command=curl run=0a1b2c3d",
    )
    clock.at = now - 588
    record("proxy-run", "ended", detail="command=curl exit=0 run=0a1b2c3d")
    clock.at = now - 60
    record("proxy-run", "started", detail="command=my agent allow=github,openai run=ffee0011")
    clock.at = now


def cells(table: DataTable[object], row: int) -> list[str]:
    return [str(c) for c in table.get_row_at(row)]


async def test_p_lists_the_runs_newest_first_and_shows_the_highlighted_runs_rows(
    samples: tuple[Vault, FrozenClock],
) -> None:
    add_runs(*samples)
    app = make_app(*samples)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.press("P")
        screen = app.screen
        assert isinstance(screen, ProxyRunsScreen)
        await pilot.pause()
        await app.workers.wait_for_complete()
        table = screen.query_one("#proxy-runs", DataTable)
        assert table.row_count == 2
        assert cells(table, 0) == ["ffee0011", "1m ago", "my agent", "github,openai", "1m", "running", "0", "0"]
        assert cells(table, 1) == ["0a1b2c3d", "10m ago", "curl", "github", "12s", "0", "2", "1"]
        rows = screen.query_one("#proxy-run-rows", DataTable)
        assert rows.row_count == 1 and cells(rows, 0)[2:] == [
            "started",
            "command=my agent allow=github,openai",
        ]
        await pilot.press("down")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert "Run 0a1b2c3d: 5 audit rows" in str(screen.query_one("#proxy-run-title", Static).render())
        assert [cells(rows, i)[1:3] for i in range(rows.row_count)] == [
            ["-", "ended"],
            ["github", "refused"],
            ["github", "substituted"],
            ["github", "substituted"],
            ["-", "started"],
        ]
        assert cells(rows, 1)[3] == "POST evil.example/x"
        await pilot.press("escape")
        assert not isinstance(app.screen, ProxyRunsScreen)


async def test_with_no_run_the_dialog_says_how_to_start_one(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("P")
        await pilot.pause()
        await app.workers.wait_for_complete()
        screen = app.screen
        assert isinstance(screen, ProxyRunsScreen)
        note = str(screen.query_one("#proxy-runs-note", Static).render())
        assert note.startswith("No proxy runs in the audit log.") and not screen.query_one("#proxy-runs").display


async def test_the_help_names_the_key(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = app.screen.query_one("#help-keys", OptionList)
        prompts = [str(shown.get_option_at_index(i).prompt) for i in range(shown.option_count)]
        assert any("P" in prompt and "proxy runs" in prompt for prompt in prompts), prompts


async def test_a_new_run_appears_and_a_running_runs_time_moves_while_open(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    add_runs(vault, clock)
    app = make_app(vault, clock)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.press("P")
        screen = app.screen
        assert isinstance(screen, ProxyRunsScreen)
        await pilot.pause()
        await app.workers.wait_for_complete()
        table = screen.query_one("#proxy-runs", DataTable)
        clock.advance(60)  # nothing new in the log: only the times move
        screen.reload()
        await app.workers.wait_for_complete()
        assert cells(table, 0)[:5] == ["ffee0011", "2m ago", "my agent", "github,openai", "2m"]
        vault.records.record("proxy-run", "ended", detail="command=my agent exit=1 run=ffee0011")
        vault.records.record("proxy-run", "started", detail="command=git allow=github run=12345678")
        screen.reload()
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert [cells(table, i)[0] for i in range(table.row_count)] == ["12345678", "ffee0011", "0a1b2c3d"]
        assert cells(table, 1)[4:6] == ["2m", "1"]


@pytest.mark.parametrize("key", ["P", "F"])
async def test_question_mark_over_the_proxy_runs_and_forwards_dialogs_lists_their_keys(
    samples: tuple[Vault, FrozenClock], key: str
) -> None:
    """``?`` works on every screen, these dialogs too (a modal screen hides the app's own keys):
    the help lists the dialog's keys, and Escape comes back to the dialog."""
    app = make_app(*samples)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press(key)
        await pilot.pause()
        dialog = app.screen
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen), app.screen
        shown = app.screen.query_one("#help-keys", OptionList)
        prompts = " ".join(str(shown.get_option_at_index(i).prompt) for i in range(shown.option_count))
        assert "esc" in prompts, prompts
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is dialog


async def test_a_running_runs_growing_times_are_never_cut(samples: tuple[Vault, FrozenClock]) -> None:
    """STARTED and TOOK of a running run grow as time passes ("5s ago", then "1m 5s ago"): their
    columns widen with them (they were cut to the width of the first text, "1m 5s a")."""
    vault, clock = samples
    vault.records.record("proxy-run", "started", detail="command=agent allow=github run=aabbccdd")
    clock.advance(5)
    app = make_app(vault, clock)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.press("P")
        screen = app.screen
        assert isinstance(screen, ProxyRunsScreen)
        await pilot.pause()
        await app.workers.wait_for_complete()
        table = screen.query_one("#proxy-runs", DataTable)
        assert cells(table, 0)[1] == "5s ago"
        clock.advance(3600 + 60)
        screen.reload()  # nothing new in the log: the times are updated in place
        await app.workers.wait_for_complete()
        await pilot.pause()
        started, took = cells(table, 0)[1], cells(table, 0)[4]
        assert started == "1h 1m ago", started
        columns = list(table.columns.values())
        assert columns[1].get_render_width(table) - 2 * table.cell_padding >= len(started)
        assert columns[4].get_render_width(table) - 2 * table.cell_padding >= len(took)
