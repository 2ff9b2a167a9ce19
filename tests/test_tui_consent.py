"""Issue 36, consent: a session's use waiting for a yes is asked in the TUI (Pilot), one at a time.

A real agent in this process; the session's command is a real process tree (a shell that runs
``tokendeck token a``, which asks the agent's own socket and is found inside by its ancestry);
the TUI (Pilot) on the same vault answers.  No answer in time is no, audited as ``unanswered``,
and an answer after that says it came too late.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button

import vault
from screens.dialogs.confirm import ConfirmDialog
from screens.main import make_app
from tests.support.tui import record_notices
from tests.test_agent import PASSPHRASE, Running
from tests.test_agent_cli import TOKENDECK
from tests.test_forwarding import A_TOKEN, agent, clock  # noqa: F401 - fixtures
from vault.core.clock import FrozenClock
from vault.core.peers import peer

pytestmark = pytest.mark.anyio


def session_command(
    running: Running, script: str, confirm: str = "each", cwd: Path | None = None
) -> tuple[subprocess.Popen[str], str]:
    """A shell waiting for a line on stdin before running ``script``, made a session's root
    (``--confirm``) that may read ``a``: the process and the session's id."""
    shell = subprocess.Popen(
        ["sh", "-c", f"read go; {script}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=cwd,
    )  # fmt: skip
    root = peer(shell.pid)
    assert root is not None
    session_id, _ = running.agent.open_session("exec", "claude", ["a"], None, (root.pid, root.start), confirm=confirm)
    return shell, session_id


@pytest.fixture
def cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def session_audit(home: Path) -> list[tuple[str | None, str, str]]:
    with vault.open_vault(home, PASSPHRASE) as v:
        rows = v.records.audit_log()
        return [(e.credential, e.outcome, e.detail or "") for e in rows if e.action == "session" and e.credential]


async def wait_for(pilot: object, check: object, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"waited for {what}"
        await pilot.pause(0.05)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("key", "code", "outcome"),
    [("y", 0, "served"), ("n", 5, "denied"), (None, 5, "unanswered")],
    ids=["yes", "no", "timeout"],
)
async def test_a_sessions_question_is_asked_in_the_tui_and_decides_the_read(
    agent: Running,  # noqa: F811
    home: Path,
    clock: FrozenClock,  # noqa: F811
    cleanup: list[subprocess.Popen[str]],
    monkeypatch: pytest.MonkeyPatch,
    key: str | None,
    code: int,
    outcome: str,
) -> None:
    agent.agent.confirmations.timeout = 1.5 if key is None else 30
    shell, session_id = session_command(agent, f"exec {TOKENDECK} token a")
    cleanup.append(shell)
    with vault.open_vault(home, PASSPHRASE, clock=clock) as v:
        app = make_app(v, clock, start_agent=True)
        async with app.run_test(size=(100, 30)) as pilot:
            notices = record_notices(app, monkeypatch)
            await wait_for(pilot, lambda: app.agent_pid is not None, "the TUI to find the agent")
            assert shell.stdin is not None
            shell.stdin.write("go\n")
            shell.stdin.flush()
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            dialog = app.screen
            assert isinstance(dialog, ConfirmDialog)
            assert dialog.question == f"session {session_id} (claude) asks for a"
            # the program (its command line, shortened) and its working directory, the credential, what for
            assert "tokendeck token a (pid " in dialog.body
            assert f" in {os.getcwd()} wants a for a token read." in dialog.body
            assert "No answer within" in dialog.body
            await wait_for(pilot, lambda: len(dialog.query(Button)) == 2, "the dialog's buttons")
            assert [str(b.label) for b in dialog.query(Button)] == ["Allow", "Deny"]
            if key is None:
                await wait_for(pilot, lambda: shell.poll() is not None, "the use to time out")
                await pilot.press("y")  # too late
                await wait_for(pilot, lambda: notices.texts(), "the too-late notice")
                assert notices.texts() == ["Too late: the question about a timed out, and the use was refused."]
            else:
                await pilot.press(key)
            out, err = shell.communicate(timeout=30)
    assert shell.returncode == code, err
    assert (out == A_TOKEN + "\n") is (code == 0)
    if code:
        why = "denied" if key else "no answer in time"
        assert err == f"tokendeck: the use of a by session {session_id} (claude) was not allowed ({why})\n"
    agent.agent.write_reads()
    rows = session_audit(home)
    assert [(credential, result) for credential, result, _ in rows] == [("a", outcome)]
    assert rows[0][2].startswith(f"session={session_id} command=claude op=token reader=")
    assert "tokendeck token a (pid " in rows[0][2]


async def test_a_flood_of_questions_is_asked_one_at_a_time_and_the_tui_stays_responsive(
    agent: Running,  # noqa: F811
    home: Path,
    clock: FrozenClock,  # noqa: F811
    cleanup: list[subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    """Twelve reads at once: the session's limit (8) wait, the rest are refused at once in one
    line; the TUI shows one question at a time, and each answer brings the next."""
    agent.agent.confirmations.timeout = 60
    reads = 12
    script = " ".join(f"{TOKENDECK} token a 2>> err.txt &" for _ in range(reads)) + " wait"
    shell, _session_id = session_command(agent, script, cwd=tmp_path)
    cleanup.append(shell)
    limit = agent.agent.confirmations.limit
    with vault.open_vault(home, PASSPHRASE, clock=clock) as v:
        app = make_app(v, clock, start_agent=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.agent_pid is not None, "the TUI to find the agent")
            assert shell.stdin is not None
            shell.stdin.write("go\n")
            shell.stdin.flush()
            await wait_for(pilot, lambda: len(agent.agent.confirmations.pending()) == limit, "the reads to wait")
            for answered in range(limit):
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), f"question {answered + 1}")
                assert sum(isinstance(s, ConfirmDialog) for s in app.screen_stack) == 1  # one at a time
                await pilot.press("n")  # the answer brings the next
                left = limit - answered - 1
                await wait_for(pilot, lambda left=left: len(agent.agent.confirmations.pending()) == left, "the answer")
            shell.communicate(timeout=30)
    errors = (tmp_path / "err.txt").read_text().splitlines()
    waiting = [line for line in errors if "were already waiting for an answer" in line]
    denied = [line for line in errors if line.endswith("(denied)")]
    assert (len(waiting), len(denied)) == (reads - limit, limit), errors


async def test_a_credential_that_asks_first_says_so_in_the_detail_and_its_reads_are_asked_in_the_tui(
    agent: Running,  # noqa: F811
    home: Path,
    clock: FrozenClock,  # noqa: F811
    cleanup: list[subprocess.Popen[str]],
) -> None:
    """``tokendeck confirm a on``: the detail screen shows it, and a read by a program in no
    session waits for the TUI's yes (here a no: refused, audited as a denied read)."""
    from screens.detail import DetailScreen
    from tests.test_tui_detail import fact, open_detail

    set_on = subprocess.run([TOKENDECK, "confirm", "a", "on"], capture_output=True, text=True, timeout=60)
    assert set_on.returncode == 0, set_on.stderr
    with vault.open_vault(home, PASSPHRASE, clock=clock) as v:
        app = make_app(v, clock, start_agent=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.agent_pid is not None, "the TUI to find the agent")
            screen = await open_detail(pilot, "a")
            assert isinstance(screen, DetailScreen)
            assert screen.query_one("#fact-consent").display
            assert fact(screen, "consent") == "asks before each use (tokendeck confirm a off)"
            reader = subprocess.Popen(
                [TOKENDECK, "token", "a"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                start_new_session=True,
            )  # fmt: skip
            cleanup.append(reader)
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            dialog = app.screen
            assert isinstance(dialog, ConfirmDialog) and dialog.question == "a asks before each use"
            assert f"tokendeck token a (pid {reader.pid}) in {os.getcwd()} wants a for a token read." in dialog.body
            await pilot.press("n")
            out, err = reader.communicate(timeout=30)
    assert (reader.returncode, out) == (5, "")
    assert err == "tokendeck: the use of a was not allowed (denied): it asks before each use\n"
    with vault.open_vault(home, PASSPHRASE) as v:
        reads = [(e.credential, e.action, e.outcome) for e in v.records.audit_log() if e.action in ("read", "confirm")]
    assert reads == [("a", "confirm", "ok"), ("a", "read", "denied")]
