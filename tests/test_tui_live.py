"""The dashboard tells the truth about what other processes do: an open TUI (Pilot) next
to real ``tokendeck`` processes and a real agent, against the loopback authorization
server with 20-second access tokens and rotating refresh tokens.

Everything here is a real process at SQLCipher's shipped KDF cost, so these tests wait in
real time, bounded: a change must reach the open TUI within WITHIN seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

import vault
from screens.app import VaultApp
from screens.detail import DetailScreen
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from tests.support.authserver import AuthServer
from tests.support.live import LIFETIME, PASS, sign_in_acme
from tests.test_agent_cli import tokendeck

pytestmark = pytest.mark.anyio

WITHIN = 3.0
"""The 2-second promise (a watcher polls every second), plus a second for a loaded CI machine."""
SIZE = (110, 30)


def shown(app: VaultApp) -> dict[str, vault.Credential]:
    screen = app.screen_stack[1] if len(app.screen_stack) > 1 else app.screen
    assert isinstance(screen, TokenListScreen)
    return {c.name: c for c in screen._shown}


def status_line(app: VaultApp) -> str:
    return str(app.screen.query_one("#status-line", Static).render())


async def until(pilot: Pilot[None], done: Callable[[], bool], what: str, bound: float = WITHIN) -> None:
    deadline = time.monotonic() + bound
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {bound:g} s"
        await pilot.pause(0.05)


async def test_cli_writes_reach_the_open_list_and_detail(live_env: dict[str, str], home: Path) -> None:
    with vault.open_vault(home, PASS) as opened:
        app = make_app(opened, settings=TuiSettings(refresher=False, auto_lock_after=None))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: set(shown(app)) == {"gh"}, "the first list")
            added = tokendeck(live_env, "add", "new", "--provider", "api-key", stdin="sk-live")
            assert added.returncode == 0, added.stderr
            await until(pilot, lambda: set(shown(app)) == {"gh", "new"}, "a CLI add")
            await pilot.press("enter")  # the detail screen of the first row
            await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
            detail = app.screen
            assert isinstance(detail, DetailScreen)
            name = detail.name_shown
            with vault.open_vault(home, PASS) as other:  # another connection notes a failure
                other.records.note_error(
                    name, "http_503: the provider is unavailable", action="refresh", outcome="failed"
                )
            facts = lambda: str(detail.query_one("#fact-last_error", Static).render())  # noqa: E731
            await until(pilot, lambda: "http_503" in facts(), "the detail screen's last error")
            removed = tokendeck(live_env, "rm", name, "--yes")
            assert removed.returncode == 0, removed.stderr
            await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "leaving a removed credential")
            await until(pilot, lambda: name not in shown(app), "a CLI rm")


async def test_the_agents_refresh_reaches_the_row_and_agent_stop_hands_over(
    live_env: dict[str, str], home: Path, auth_server: AuthServer
) -> None:
    sign_in_acme(home, auth_server)
    started = tokendeck(live_env, "agent", "start")
    assert started.returncode == 0, started.stderr
    app = make_app(home=home, settings=TuiSettings(auto_lock_after=None), env=live_env, start_agent=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.agent_pid is not None and "acme" in shown(app), "joining the agent", 30)
        first = shown(app)["acme"].expires_at
        assert app.refresher is None  # one refresher: the agent's
        # The agent renews a 20-second token in the last quarter of its life: within ~15 s.
        deadline = time.monotonic() + LIFETIME
        while auth_server.token_request_count("refresh_token") == 0:
            assert time.monotonic() < deadline, "the agent did not refresh"
            await pilot.pause(0.1)
        await until(pilot, lambda: shown(app)["acme"].expires_at != first, "the agent's refresh on the row")
        assert shown(app)["acme"].status_at(time.time()) == "active"
        await until(pilot, lambda: "last: acme refreshed" in status_line(app), "the status line's last outcome")
        assert f"refreshed by the agent (pid {app.agent_pid})" in status_line(app)
        assert "next: acme in" in status_line(app)

        assert tokendeck(live_env, "agent", "stop").returncode == 0
        await until(pilot, lambda: app.refresher is not None, "the TUI taking over", 5)
        assert app.agent_pid is None
        await until(pilot, lambda: "refreshed by this TUI (the agent is not running)" in status_line(app), "saying so")


async def test_locking_the_tui_locks_its_agent(live_env: dict[str, str], home: Path) -> None:
    assert tokendeck(live_env, "agent", "start").returncode == 0
    app = make_app(home=home, settings=TuiSettings(auto_lock_after=None), env=live_env, start_agent=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.agent_pid is not None, "joining the agent", 30)
        await pilot.press("ctrl+l")
        await app.workers.wait_for_complete()
        assert tokendeck(live_env, "agent", "status").returncode == 3  # running, locked
    assert tokendeck(live_env, "agent", "status").returncode == 3  # quitting does not unlock it
