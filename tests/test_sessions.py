"""``tokendeck exec --session`` (issue 36): a command and everything it starts read only what
it was given, whichever way they ask the agent; real processes, a real agent, a passphrase vault.

The session's command is a shell script that tries each way out and writes what it got; the
test then reads the files and the audit log.  A child that drops ``$TOKENDECK_AGENT_SOCK`` asks
the agent's own socket, where the agent checks its ancestry; a double fork that calls
``setsid`` is re-parented to the session's root (a child subreaper) and so stays inside.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_agent_cli import TOKENDECK, tokendeck

PASS = "session test passphrase"
A_TOKEN = "ghp_sessionAllowed0001"  # noqa: S105 - test values
B_TOKEN = "ghp_sessionOther000002"  # noqa: S105
JOIN = 'from vault.agent import wire; print(wire.call("join", "tui")[0])'
"""What a TUI asks the agent for (the vault's key), from inside a session: only the outcome printed."""


@pytest.fixture
def env(home: Path) -> Iterator[dict[str, str]]:
    """A passphrase vault holding ``a`` and ``b``, its agent running and unlocked."""
    environment = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    assert tokendeck(environment, "init", "--passphrase").returncode == 0
    assert tokendeck(environment, "add", "a", "--provider", "github-pat", stdin=A_TOKEN).returncode == 0
    assert tokendeck(environment, "add", "b", "--provider", "github-pat", stdin=B_TOKEN).returncode == 0
    started = tokendeck(environment, "agent", "start")
    assert started.returncode == 0, started.stderr
    yield environment
    tokendeck(environment, "agent", "stop")


def tried(out: Path, name: str) -> tuple[int, str, str]:
    """What one attempt in the script got: exit code, stdout, stderr."""
    return int((out / f"{name}.code").read_text()), (out / f"{name}.out").read_text(), (out / f"{name}.err").read_text()


def attempt(name: str, command: str) -> str:
    return f'{command} > "$OUT/{name}.out" 2> "$OUT/{name}.err"; echo $? > "$OUT/{name}.code"\n'


def audit(env: dict[str, str], action: str) -> list[tuple[str | None, str, str]]:
    """The audit log as ``tokendeck audit`` shows it through the agent (which writes the reads of
    the last second first: reading the file directly could miss them)."""
    shown = tokendeck(env, "audit", "--json")
    assert shown.returncode == 0, shown.stderr
    return [
        (e["credential"], e["outcome"], e["detail"] or "") for e in json.loads(shown.stdout) if e["action"] == action
    ]


def test_a_session_reads_what_it_was_given_and_nothing_else_however_it_asks(
    env: dict[str, str], tmp_path: Path, home: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "session.sh"
    orphan = attempt("b_orphan", f"env -u TOKENDECK_AGENT_SOCK {TOKENDECK} token b").strip()
    script.write_text(
        "set -u\n"
        + attempt("a_env", 'printf %s "$A"')
        + attempt("a", f"{TOKENDECK} token a")
        + attempt("b_child", f"sh -c '{TOKENDECK} token b'")
        + attempt("b_no_sock", f"env -u TOKENDECK_AGENT_SOCK {TOKENDECK} token b")
        + attempt("join", f"env -u TOKENDECK_AGENT_SOCK {sys.executable} -c '{JOIN}'")
        # a double fork that leaves its parent and starts a new session: re-parented to this script
        + f"(setsid sh -c 'sleep 0.2; {orphan}' &)\n"
        + 'while [ ! -s "$OUT/b_orphan.code" ]; do sleep 0.05; done\n'
    )
    ran = subprocess.run(
        [TOKENDECK, "exec", "--session", "-e", "A=a", "--", "sh", str(script)],
        env={**env, "OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr

    assert tried(out, "a_env") == (0, A_TOKEN, "")
    assert tried(out, "a") == (0, A_TOKEN + "\n", "")
    for name in ("b_child", "b_no_sock", "b_orphan"):
        code, stdout, stderr = tried(out, name)
        assert (code, stdout) == (5, ""), (name, stderr)
        assert stderr.count("\n") == 1 and "b was not given to session " in stderr, name
        assert stderr.rstrip().endswith("(sh), which may read a only"), stderr
        assert B_TOKEN not in stderr
    assert tried(out, "join") == (0, "5\n", "")  # the key is never handed into a session (a TUI's join)

    assert tokendeck(env, "token", "b").stdout == B_TOKEN + "\n"  # outside the session: the whole vault

    rows = audit(env, "session")
    assert ("a", "served") in {(c, o) for c, o, _ in rows}
    refused = [(c, d) for c, o, d in rows if o == "refused" and c == "b"]
    assert len(refused) == 3 and all("command=sh" in d for _, d in refused)
    assert all(re.search(r" reader=\S.* \(pid \d+\)$", d) for _, d in refused), refused  # who was refused, too


def test_a_session_ends_with_its_command_and_what_it_left_behind_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    left = f"sleep 0.5; {attempt('late', f'{TOKENDECK} token a').strip()}"
    ran = subprocess.run(
        [TOKENDECK, "exec", "--session", "-e", "A=a", "--", "sh", "-c", f"(sh -c '{left}' &) ; exit 0"],
        env={**env, "OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    for _ in range(400):
        if (out / "late.code").exists() and (out / "late.code").read_text().endswith("\n"):
            break
        time.sleep(0.05)
    code, stdout, stderr = tried(out, "late")
    assert code != 0 and stdout == "" and stderr.count("\n") == 1, (code, stdout, stderr)


def test_without_an_agent_a_session_starts_nothing(home: Path, tmp_path: Path) -> None:
    environment = {**os.environ, "TOKENDECK_HOME": str(home), "TOKENDECK_PASSPHRASE": PASS}
    assert tokendeck(environment, "init", "--passphrase").returncode == 0
    assert tokendeck(environment, "add", "a", "--provider", "github-pat", stdin=A_TOKEN).returncode == 0
    marker = tmp_path / "ran"
    r = tokendeck(environment, "exec", "--session", "-e", "A=a", "--", "touch", str(marker))
    assert r.returncode == 3 and r.stderr.count("\n") == 1 and "agent" in r.stderr
    assert not marker.exists()


def test_sessions_lists_a_running_session_and_end_stops_its_reads(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    go = tmp_path / "go"
    script = (
        attempt("before", f"{TOKENDECK} token a")
        + f'while [ ! -e "{go}" ]; do sleep 0.05; done\n'
        + attempt("after", f"env -u TOKENDECK_AGENT_SOCK {TOKENDECK} token a")
    )
    running = subprocess.Popen(
        [TOKENDECK, "exec", "--session", "--ttl", "1h", "-e", "A=a", "--", "sh", "-c", script],
        env={**env, "OUT": str(out)},
    )
    try:
        for _ in range(400):
            if (out / "before.code").exists() and (out / "before.code").read_text().endswith("\n"):
                break
            time.sleep(0.05)
        listed = json.loads(tokendeck(env, "sessions", "--json").stdout)
        assert len(listed) == 1 and listed[0]["command"] == "sh" and listed[0]["names"] == ["a"]
        assert listed[0]["served"] >= 2 and listed[0]["ends_at"] is not None
        header, row = tokendeck(env, "sessions").stdout.splitlines()
        assert header.split() == ["ID", "COMMAND", "MAY", "READ", "SERVED", "ENDS"]
        assert row.split()[:4] == [listed[0]["id"], "sh", "a", str(listed[0]["served"])] and " in " in row, row

        nope = tokendeck(env, "sessions", "--end", "nope")
        assert nope.returncode == 5 and nope.stderr.count("\n") == 1
        ended = tokendeck(env, "sessions", "--end", listed[0]["id"])
        assert ended.returncode == 0 and f"ended session {listed[0]['id']} (sh)" in ended.stderr
        go.touch()
        assert running.wait(60) == 0
    finally:
        running.kill()
        running.wait()
    code, stdout, stderr = tried(out, "after")  # through the agent's socket: the ended view serves nothing
    assert (code, stdout) == (5, "") and "has ended (it was ended)" in stderr
    assert json.loads(tokendeck(env, "sessions", "--json").stdout) == []
    rows = [e for e in json.loads(tokendeck(env, "audit", "--json").stdout) if e["action"] == "session"]
    sid = listed[0]["id"]
    opened = [e["detail"] for e in rows if e["outcome"] == "opened"]
    ends = [e["detail"] for e in rows if e["outcome"] == "ended"]
    assert opened == [f"session={sid} command=sh allow=a pid={running.pid}"], rows
    assert ends == [f"session={sid} command=sh why=ended by the user"], rows  # once, though its command ran on


def test_a_session_whose_command_ends_is_audited_as_ended_once(env: dict[str, str]) -> None:
    assert tokendeck(env, "exec", "--session", "-e", "A=a", "--", "true").returncode == 0
    for _ in range(100):  # the agent notices within a second, and writes its rows before it answers audit
        rows = [e for e in json.loads(tokendeck(env, "audit", "--json").stdout) if e["action"] == "session"]
        if any(e["outcome"] == "ended" for e in rows):
            break
        time.sleep(0.1)
    assert [e["outcome"] for e in rows] == ["opened", "served", "ended"], rows  # exec read A for its command
    assert rows[2]["detail"].endswith(" command=true why=its command ended"), rows


def test_inside_a_proxy_run_no_token_is_read_directly(env: dict[str, str], tmp_path: Path, home: Path) -> None:
    """With the agent, ``proxy run`` makes its command's tree a session that reads no token
    directly, however it asks: the tokens are the proxy's to put in.  The proxy itself still
    reads them (its setup and each request's token come from the agent)."""
    out = tmp_path / "out"
    out.mkdir()
    script = (
        attempt("direct", f"{TOKENDECK} token a")
        + attempt("no_sock", f"env -u TOKENDECK_AGENT_SOCK {TOKENDECK} token a")
        + attempt("placeholder", 'printf %s "$GITHUB_TOKEN"')
        + attempt("list", f"{TOKENDECK} list")
    )
    ran = subprocess.run(
        [TOKENDECK, "proxy", "run", "--allow", "a", "--", "sh", "-c", script],
        env={**env, "OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    for name in ("direct", "no_sock"):
        code, stdout, stderr = tried(out, name)
        assert (code, stdout) == (5, ""), (name, stderr)
        assert "a is not read directly inside session " in stderr and "through the proxy" in stderr, stderr
    code, placeholder, _ = tried(out, "placeholder")
    assert code == 0 and placeholder.startswith("ghp_") and placeholder != A_TOKEN
    code, listed, said = tried(out, "list")  # not "no credentials yet (add one...)": the vault has two
    assert (code, listed) == (0, "") and said == (
        "tokendeck: nothing is read directly here (a proxy run's session, or a forward given no credential); "
        "requests get their tokens through the proxy\n"
    ), said
    refused = [c for c, o, _ in audit(env, "session") if o == "refused"]
    assert refused == ["a", "a"]
