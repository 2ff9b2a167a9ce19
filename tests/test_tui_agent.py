"""The TUI starts the agent with the passphrase the user typed (on the child's stdin,
never argv), leaves the refreshing to it, and the agent outlives the TUI."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from screens.unlock import UnlockScreen
from tests.test_agent_cli import TOKENDECK, tokendeck

pytestmark = pytest.mark.anyio
PASS = "tui agent passphrase"
TOKEN = "ghp_tuiAgent42"  # noqa: S105 - a test value


@pytest.fixture
def shipped_vault(home: Path) -> Iterator[dict[str, str]]:
    """A passphrase vault at the shipped KDF cost (the agent is a real process), and no passphrase in the env."""
    env = {**os.environ, "TOKENDECK_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    with_pass = {**env, "TOKENDECK_PASSPHRASE": PASS}
    assert tokendeck(with_pass, "init", "--passphrase").returncode == 0
    assert tokendeck(with_pass, "add", "gh", "--provider", "github-pat", stdin=TOKEN).returncode == 0
    yield env
    tokendeck(env, "agent", "stop")


async def test_the_tui_starts_the_agent_and_leaves_refreshing_to_it(shipped_vault: dict[str, str], home: Path) -> None:
    app = make_app(home=home, settings=TuiSettings(), env={}, start_agent=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()  # no agent to join: the unlock screen asks
        assert isinstance(app.screen, UnlockScreen)
        await pilot.click("#passphrase")
        await pilot.press(*PASS, "enter")
        deadline = time.monotonic() + 60
        while app.agent_pid is None or not isinstance(app.screen, TokenListScreen):
            assert time.monotonic() < deadline, "the agent did not start"
            await pilot.pause(0.1)
        assert app.refresher is None  # one refresher, in the agent
        await pilot.pause(1.2)  # the next tick redraws the status line
        line = str(app.screen.query_one("#status-line", Static).render())
        assert f"refreshed by the agent (pid {app.agent_pid})" in line
        pid = app.agent_pid
    # The TUI is gone; the agent answers without any passphrase in sight.
    assert Path(f"/proc/{pid}").exists()
    done = subprocess.run([TOKENDECK, "token", "gh"], capture_output=True, text=True, env=shipped_vault, timeout=60)
    assert done.stdout == TOKEN + "\n"


async def test_told_not_to_it_starts_no_agent(shipped_vault: dict[str, str], home: Path) -> None:
    app = make_app(home=home, settings=TuiSettings(agent=False), env={}, start_agent=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.click("#passphrase")
        await pilot.press(*PASS, "enter")
        await app.workers.wait_for_complete()
        deadline = time.monotonic() + 30
        while app.refresher is None:
            assert time.monotonic() < deadline, "no refresher started"
            await pilot.pause(0.1)
        assert app.agent_pid is None
    assert tokendeck(shipped_vault, "agent", "status").returncode == 5
