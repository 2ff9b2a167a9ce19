"""Issue 36, consent on the session's own terminal: with no TUI polling and no desktop
notification server, ``tokendeck exec --session --confirm`` asks on its terminal (a real pty),
``y`` letting the read through and ``n`` refusing it; ``--confirm=once`` asks once per
credential.  Real processes: ``tokendeck agent start`` on a passphrase vault, ``tokendeck exec``
in a pseudo-terminal, its command's own ``tokendeck token`` as a child."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_agent_cli import TOKENDECK, tokendeck
from tests.test_agent_writes import in_pty
from tests.test_sessions import A_TOKEN, env  # noqa: F401 - a fixture

FIRST = b"-e T=a -- sh -c"
"""In the first question only: the session's own read of ``-e T=a`` (its command line)."""
INNER = b"tokendeck token a (pid"
"""In the question about the command's own read."""
ONE_READ = f'printf "env:%s\\n" "${{#T}}"; {TOKENDECK} token a; echo "code:$?"'
TWO_READS = f'printf "env:%s\\n" "${{#T}}"; {TOKENDECK} token a; echo "code:$?"; {TOKENDECK} token a; echo "again:$?"'


@pytest.fixture
def no_bus(env: dict[str, str]) -> Iterator[dict[str, str]]:  # noqa: F811
    """The agent's environment had no session bus: nobody but the terminal asks."""
    yield {k: v for k, v in env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}


def session_rows(environment: dict[str, str]) -> list[tuple[str | None, str, str]]:
    shown = tokendeck(environment, "audit", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    return [
        (e["credential"], e["outcome"], e["detail"] or "") for e in rows if e["action"] == "session" and e["credential"]
    ]


def test_the_question_is_asked_on_the_sessions_terminal_y_allows_and_n_refuses(
    no_bus: dict[str, str], tmp_path: Path
) -> None:
    code, shown = in_pty(
        ["exec", "--session", "--confirm", "-e", "T=a", "--", "sh", "-c", ONE_READ],
        no_bus,
        cwd=tmp_path,
        answers={FIRST: "y", INNER: "n"},
    )
    assert code == 0, shown
    first = shown[shown.index("tokendeck: python tokendeck exec --session --confirm -e T=a") :]
    assert f"in {tmp_path} wants a for a token read (session " in first
    assert "Allow? [y/N] (no answer in 60 s is no)" in first
    assert f"env:{len(A_TOKEN)}" in shown  # the first yes let the session's own read through
    assert "was not allowed (denied)" in shown and "code:5" in shown  # the n refused the command's read
    assert A_TOKEN not in shown
    outcomes = [(credential, outcome) for credential, outcome, _ in session_rows(no_bus)]
    assert sorted(outcomes) == [("a", "denied"), ("a", "served")]


def test_confirm_once_asks_once_per_credential(no_bus: dict[str, str], tmp_path: Path) -> None:
    code, shown = in_pty(
        ["exec", "--session", "--confirm=once", "-e", "T=a", "--", "sh", "-c", TWO_READS],
        no_bus,
        cwd=tmp_path,
        answers={FIRST: "y"},
    )
    assert code == 0, shown
    assert shown.count("Allow? [y/N]") == 1
    assert "code:0" in shown and "again:0" in shown
    assert shown.count("<concealed by tokendeck>") == 2  # the command's two reads, printed (masked by exec)
    assert [outcome for _, outcome, _ in session_rows(no_bus)] == ["served"] * 3


def test_without_a_terminal_nobody_asks_and_the_command_is_told_in_one_line(
    env: dict[str, str],  # noqa: F811
) -> None:
    """No terminal (the test process has none) and nothing else asking: no answer in time is no.
    Ended at once here by ending the session, which answers every waiting use with a no."""
    import subprocess
    import time

    process = subprocess.Popen(
        [TOKENDECK, "exec", "--session", "--confirm", "-e", "T=a", "--", "true"], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = json.loads(tokendeck(env, "sessions", "--json").stdout or "[]")
        if listed:
            break
        time.sleep(0.1)
    assert listed, "the session to open"
    assert tokendeck(env, "sessions", "--end", str(listed[0]["id"])).returncode == 0
    out, err = process.communicate(timeout=30)
    assert process.returncode == 5 and out == ""
    assert err.startswith("tokendeck: the use of a by session ") and err.count("\n") == 1


def test_an_answer_after_the_timeout_says_it_came_too_late(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    """The agent gives up after its timeout (1 s here: ``TOKENDECK_CONFIRM_TIMEOUT``): the read is
    refused as unanswered, and a y typed afterwards is told it came too late."""
    import pty
    import select
    import time

    assert tokendeck(env, "agent", "stop").returncode == 0
    short = {**env, "TOKENDECK_CONFIRM_TIMEOUT": "1"}
    assert tokendeck(short, "agent", "start").returncode == 0
    script = f'{TOKENDECK} token a; echo "code:$?"; sleep 2'
    argv = [TOKENDECK, "exec", "--session", "--confirm", "-e", "T=a", "--", "sh", "-c", script]
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        try:
            os.chdir(tmp_path)
            os.execve(TOKENDECK, argv, short)  # noqa: S606 - the test's own tokendeck, no shell
        finally:
            os._exit(127)
    shown, typed = b"", 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        asked = shown.count(b"Allow? [y/N]")
        if asked > typed:
            if typed == 1:  # the command's own read: answered too late
                time.sleep(3)
            os.write(fd, b"y\r")
            typed += 1
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = shown.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "(no answer in 1 s is no)" in text
    assert "was not allowed (no answer in time)" in text and "code:5" in text
    assert "tokendeck: too late: no answer in time was no; that use was refused" in text
    rows = session_rows(short)
    assert sorted((credential, outcome) for credential, outcome, _ in rows) == [("a", "served"), ("a", "unanswered")]


def test_a_credential_set_to_once_asks_once_per_session(no_bus: dict[str, str], tmp_path: Path) -> None:
    """``tokendeck confirm a once``: a session without --confirm is asked about a at its first use
    only (its own read of -e T=a), then reads it twice more unasked; show says so."""
    assert tokendeck(no_bus, "confirm", "a", "once").returncode == 0
    assert "asks before each use: once per session" in tokendeck(no_bus, "show", "a").stdout
    code, shown = in_pty(
        ["exec", "--session", "-e", "T=a", "--", "sh", "-c", TWO_READS],
        no_bus,
        cwd=tmp_path,
        answers={FIRST: "y"},
    )
    assert code == 0, shown
    assert shown.count("Allow? [y/N]") == 1, shown
    assert "code:0" in shown and "again:0" in shown
    assert [outcome for _, outcome, _ in session_rows(no_bus)] == ["served"] * 3
    second, shown_again = in_pty(  # a new session asks again
        ["exec", "--session", "-e", "T=a", "--", "sh", "-c", ONE_READ], no_bus, cwd=tmp_path, answers={FIRST: "n"}
    )
    assert second == 5 and shown_again.count("Allow? [y/N]") == 1, shown_again


def test_an_interactive_shell_as_the_command_is_asked_without_stopping(no_bus: dict[str, str], tmp_path: Path) -> None:
    """An interactive ``sh`` gives each command a process group of its own, so the question is asked
    while tokendeck is in the background: reading the answer there stopped it (SIGTTIN) and the
    whole session with it ("[1]+ Stopped"). It takes the terminal for the answer and gives it back."""
    code, shown = in_pty(
        ["exec", "--confirm", "-e", "T=a", "--", "sh", "-i"],
        {**no_bus, "PS1": "sh$ "},
        cwd=tmp_path,
        answers={
            b"-- sh -i (pid": "y",  # the session's own read of -e T=a
            b"sh$ ": f'{TOKENDECK} token a; echo "co""de:$?"',  # the typed line does not hold "code:"
            INNER: "y",
            b"code:": "exit",
        },
    )
    assert code == 0, shown
    assert "code:0" in shown and "Stopped" not in shown, shown
    assert A_TOKEN not in shown
