"""Issue 31, items 3 and 4 in the TUI (Pilot), beside a real agent process over a real vault:
the TUI joins an unlocked agent without asking and says so; its idle timer locks only its
view (the agent stays unlocked, Enter opens the view again from it); Ctrl+L locks the agent
too, and the agent's log names it; quitting says what keeps running and until when."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

import vault
from screens.locking import quit_words
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from screens.unlock import UnlockScreen
from tests.support.tui import record_notices
from tests.test_agent_cli import tokendeck
from vault.agent import wire
from vault.core.policy import POLICY_FILE

pytestmark = pytest.mark.anyio
PASS = "idle rule passphrase"
TOKEN = "ghp_idleRule42"  # noqa: S105 - a test value
SIZE = (100, 30)


@pytest.fixture
def agent_env(home: Path) -> Iterator[dict[str, str]]:
    """A passphrase vault holding ``gh`` and an unlocked agent process for it; the environment of
    processes that have no passphrase (the TUI is given none either)."""
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        v.records.add_static("gh", provider="github-pat", token=TOKEN)
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    started = tokendeck({**env, "TOKENDECK_PASSPHRASE": PASS}, "agent", "start")
    assert started.returncode == 0, started.stderr
    yield env
    tokendeck(env, "agent", "stop")


def agent_log(home: Path) -> str:
    path = Path(wire.socket_path(str(home))[:-5] + ".log")
    return path.read_text() if path.exists() else ""


def agent_pid(env: dict[str, str]) -> int:
    answer = wire.call("ping", opt_out=False)
    assert answer is not None and answer[0] == "0"
    return int(answer[1])


async def until(pilot: Pilot[None], done: Callable[[], bool], what: str, bound: float = 15.0) -> None:
    deadline = time.monotonic() + bound
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {bound:g} s"
        await pilot.pause(0.05)


async def test_the_tui_joins_an_unlocked_agent_without_asking_and_says_so(
    agent_env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = agent_pid(agent_env)
    app = make_app(home=home, settings=TuiSettings(), env={}, start_agent=True)
    notices = record_notices(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list, with no passphrase typed")
        assert app.joined_agent == pid and app.vault is not None
        assert f"Unlocked by the agent (pid {pid}): no passphrase was asked." in notices.texts()
        await until(pilot, lambda: app.agent_pid == pid, "the agent refreshing")
        await pilot.pause(1.2)  # the status line's next tick
        line = str(app.screen.query_one("#status-line", Static).render())
        assert f"unlocked and refreshed by the agent (pid {pid})" in line
    assert f"a TUI (pid {os.getpid()}) joined" in agent_log(home)


async def test_a_locked_agent_is_not_joined_the_tui_asks(agent_env: dict[str, str], home: Path) -> None:
    assert tokendeck(agent_env, "lock").returncode == 0
    app = make_app(home=home, settings=TuiSettings(), env={}, start_agent=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        assert isinstance(app.screen, UnlockScreen) and app.vault is None
        assert not app.screen.query("#agent-hint")
    assert "joined" not in agent_log(home)


async def test_the_idle_timer_locks_the_view_only_and_ctrl_l_locks_everything(
    agent_env: dict[str, str], home: Path
) -> None:
    pid = agent_pid(agent_env)
    clock = vault.FrozenClock(time.time())
    app = make_app(home=home, clock=clock, settings=TuiSettings(auto_lock_after=60), env={}, start_agent=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list")
        await until(pilot, lambda: app.agent_pid == pid, "the agent refreshing")
        clock.advance(61)
        app._check_idle()
        await until(pilot, lambda: isinstance(app.focused, Input), "the unlock screen, its field focused")
        assert app.vault is None and isinstance(app.screen, UnlockScreen)
        hint = str(app.screen.query_one("#agent-hint", Static).render())
        assert f"The agent (pid {pid}) is unlocked" in hint
        # The agent is not locked, and serves a process with no passphrase at all.
        assert tokendeck(agent_env, "agent", "status").returncode == 0
        read = tokendeck(agent_env, "token", "gh")
        assert (read.returncode, read.stdout) == (0, TOKEN + "\n"), read.stderr
        assert "locked (" not in agent_log(home)
        await pilot.press("enter")  # no passphrase: the agent opens the view again
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again, from the agent")
        assert app.joined_agent == pid
        await pilot.press("ctrl+l")  # everything, on purpose
        await pilot.pause()
        assert app.vault is None and isinstance(app.screen, UnlockScreen)
        assert not app.screen.query("#agent-hint")  # nothing to join any more
        await until(pilot, lambda: "locked (" in agent_log(home), "the agent's lock")
    assert f"locked (the TUI's Ctrl+L, pid {os.getpid()})" in agent_log(home)
    assert tokendeck(agent_env, "agent", "status").returncode == 3
    assert tokendeck(agent_env, "token", "gh").returncode == 3  # no passphrase here: locked means locked


async def test_enter_after_the_agent_locked_meanwhile_asks_for_the_passphrase(
    agent_env: dict[str, str], home: Path
) -> None:
    clock = vault.FrozenClock(time.time())
    app = make_app(home=home, clock=clock, settings=TuiSettings(auto_lock_after=60), env={}, start_agent=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list")
        await until(pilot, lambda: app.agent_pid is not None, "the agent refreshing")
        clock.advance(61)
        app._check_idle()
        await until(pilot, lambda: isinstance(app.focused, Input), "the unlock screen, its field focused")
        assert tokendeck(agent_env, "lock").returncode == 0
        await pilot.press("enter")
        await until(pilot, lambda: "type the passphrase" in str(app.screen.query_one("#problem").render()), "why")
        assert app.vault is None
        await pilot.press(*PASS, "enter")
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list, with the passphrase")


def test_the_view_never_stays_unlocked_longer_than_the_vaults_policy(home: Path) -> None:
    with vault.init_vault(home, mode="passphrase", passphrase=PASS):
        pass
    app = make_app(home=home, settings=TuiSettings(auto_lock_after=300), env={})
    app.lock_after = 30.0
    assert app.view_lock_after == 30.0
    app.lock_after = None
    assert app.view_lock_after == 300.0


async def test_the_tui_reads_the_vaults_policy(home: Path) -> None:
    with vault.init_vault(home, mode="passphrase", passphrase=PASS):
        pass
    (home / POLICY_FILE).write_text('lock_after = "45s"\n')
    app = make_app(home=home, settings=TuiSettings(auto_lock_after=300), env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.view_lock_after == 45.0


def test_quitting_says_what_keeps_running_and_until_when(agent_env: dict[str, str], home: Path) -> None:
    pid = agent_pid(agent_env)
    words = quit_words(str(home))
    match = re.fullmatch(
        rf"the agent \(pid {pid}\) keeps the vault unlocked until (\d\d):(\d\d) \(after 1h without a request\), "
        r"or tokendeck lock",
        words,
    )
    assert match, words
    expected = time.localtime(time.time() + 3600)
    shown = int(match[1]) * 60 + int(match[2])
    assert abs(shown - (expected.tm_hour * 60 + expected.tm_min)) in (0, 1, 1439), words
    assert tokendeck(agent_env, "lock").returncode == 0
    assert quit_words(str(home)) == f"the agent (pid {pid}) keeps running, locked: tokendeck unlock"
    assert tokendeck(agent_env, "agent", "stop").returncode == 0
    assert quit_words(str(home)) == "no agent runs: the vault is locked (tokendeck agent start keeps it unlocked)"


async def test_a_user_at_the_keys_keeps_the_agent_unlocked_a_tui_left_open_does_not(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's idle clock counts the TUI's user (its pings say ``active`` after a key press),
    not the TUI being open: real time against the vault's ``lock_after`` of 4 s."""
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        v.records.add_static("gh", provider="github-pat", token=TOKEN)
    (home / POLICY_FILE).write_text('lock_after = "4s"\n')
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    assert tokendeck({**env, "TOKENDECK_PASSPHRASE": PASS}, "agent", "start").returncode == 0
    try:
        app = make_app(home=home, settings=TuiSettings(auto_lock_after=None), env={}, start_agent=True)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the joined list")
            started = time.monotonic()
            while time.monotonic() - started < 9:  # more than twice lock_after, a key a second
                await pilot.press("down")
                await pilot.pause(1.0)
                assert isinstance(app.screen, TokenListScreen)
            # Still unlocked when the user leaves (so it locks after, not before), and nothing locked it.
            assert tokendeck(env, "agent", "status").returncode == 0, agent_log(home)
            assert "locked (" not in agent_log(home)
            await until(pilot, lambda: "locked (idle after 4s" in agent_log(home), "the idle lock", bound=20)
            # tui.toml has no view lock, but the view never outlasts the vault's rule.
            await until(pilot, lambda: isinstance(app.screen, UnlockScreen), "the view lock at lock_after")
    finally:
        tokendeck(env, "agent", "stop")


def test_the_status_line_names_a_joined_agent_once_when_it_also_refreshes() -> None:
    from screens.logic.refreshing import Watched, refresher_status

    both = refresher_status(Watched(), 0.0, by="the agent (pid 7)", last=None, problem=None, joined=7)
    assert both == ["unlocked and refreshed by the agent (pid 7)"]
    apart = refresher_status(Watched(), 0.0, by="this TUI", last=None, problem="the agent stopped", joined=7)
    assert apart == ["unlocked by the agent (pid 7)", "refreshed by this TUI (the agent stopped)"]
    alone = refresher_status(Watched(), 0.0, by=None, last=None, problem=None)
    assert alone == ["nothing refreshes in the background"]
