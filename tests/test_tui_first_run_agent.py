"""Issue 34, item 3: the first run cannot race its own agent start.  The TUI creates a
passphrase vault (FirstRunScreen) and starts a real agent process with that passphrase, many
times over; the agent starts every time, and nothing blames the passphrase just typed.  An
agent that cannot start says why, in words that do not blame the passphrase."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import RadioButton

from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from screens.unlock import FirstRunScreen
from tests.test_agent_cli import tokendeck

pytestmark = pytest.mark.anyio
PASS = "first run passphrase"
RUNS = 10


async def first_run(home: Path, passphrase: str = PASS) -> tuple[int | None, list[str]]:
    """Create the vault on the first-run screen, as a user does; the agent's pid (None if none
    started) and every notification's text."""
    app = make_app(home=home, settings=TuiSettings(), env={}, start_agent=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, FirstRunScreen)
        app.screen.query_one("#passphrase-mode", RadioButton).value = True
        await pilot.click("#new")
        # Enter, and Enter again while the key is derived (nothing seemed to happen): one vault.
        await pilot.press(*passphrase, "enter", *passphrase, "enter", "enter")
        deadline = time.monotonic() + 60
        while not isinstance(app.screen, TokenListScreen) or app.agent_pid is None and app.agent_problem is None:
            assert time.monotonic() < deadline, "neither the agent nor a refresher took over"
            await pilot.pause(0.1)
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = [f"{note.title}: {note.message}" for note in app._notifications]
        return app.agent_pid, said


def stop_agent(home: Path) -> None:
    import os

    tokendeck({**os.environ, "TOKENDECK_HOME": str(home)}, "agent", "stop")


async def test_the_first_run_starts_its_agent_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.core import keys

    monkeypatch.setattr(keys, "KDF_ITER", keys.SQLCIPHER_KDF_ITER)  # the shipped cost: init takes a moment
    for run in range(RUNS):
        home = tmp_path / f"home{run}"
        monkeypatch.setenv("TOKENDECK_HOME", str(home))
        try:
            pid, said = await first_run(home)
        finally:
            stop_agent(home)
        assert not any("passphrase" in line.lower() for line in said if "Agent" in line), (run, said)
        assert pid is not None, (run, said)


async def test_an_agent_that_cannot_start_says_why_and_not_the_passphrase(
    home: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = runtime / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)  # not private: the agent refuses to put its socket there
    monkeypatch.setenv("TOKENDECK_RUNTIME_DIR", str(shared))
    pid, said = await first_run(home)
    assert pid is None
    agent = [line for line in said if line.startswith("Agent")]
    assert len(agent) == 1, said
    assert "the agent could not start: cannot use" in agent[0].lower(), agent
    assert f"{shared} is open to other users" in agent[0], agent  # the reason, in its own words
    assert "passphrase" not in agent[0].lower(), agent
    assert "tokens are still read here directly" in agent[0], agent


async def test_a_first_run_where_an_agent_of_a_removed_vault_still_runs_starts_its_own(home: Path) -> None:
    """Trying the first run again (the vault folder removed, its agent left running, unlocked or
    locked): the new vault gets an agent of its own, never the old one's answers or refusals."""
    import shutil

    try:
        old, _said = await first_run(home, "the first vault's passphrase")
        assert old is not None
        for lock_first in (False, True):
            shutil.rmtree(home)
            if lock_first:
                import os

                tokendeck({**os.environ, "TOKENDECK_HOME": str(home)}, "lock")
            pid, said = await first_run(home)
            assert pid is not None and pid != old, (lock_first, pid, old, said)
            assert not any("passphrase" in line.lower() for line in said if "Agent" in line), said
            assert not Path(f"/proc/{old}").exists() or Path(f"/proc/{old}/status").read_text().find("zombie") > 0
            old = pid
    finally:
        stop_agent(home)


async def test_after_a_first_run_quitting_names_the_agent_and_reopening_joins_it(home: Path) -> None:
    """Issue 34, item 7, after the first run that had met an agent of a removed vault: the quit
    line names the new agent and the time it locks; the TUI opened again joins that agent (no
    passphrase asked), the one ``tokendeck list`` talks to."""
    import os
    import re
    import shutil

    from screens.locking import quit_words
    from screens.unlock import UnlockScreen

    try:
        await first_run(home, "the first vault's passphrase")
        shutil.rmtree(home)
        pid, _said = await first_run(home)
        assert pid is not None
        words = quit_words(str(home))
        assert re.fullmatch(
            rf"the agent \(pid {pid}\) keeps the vault unlocked until \d\d:\d\d \(after \S+ without a request\), "
            r"or tokendeck lock",
            words,
        ), words
        app = make_app(home=home, settings=TuiSettings(), env={}, start_agent=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert not isinstance(app.screen, UnlockScreen)
            assert isinstance(app.screen, TokenListScreen)
            assert app.joined_agent == pid
        listed = tokendeck({**os.environ, "TOKENDECK_HOME": str(home)}, "agent", "status")
        assert listed.returncode == 0 and str(pid) in listed.stdout, listed
    finally:
        stop_agent(home)
