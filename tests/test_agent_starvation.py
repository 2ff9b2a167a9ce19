"""Issue 30, item 6: no client can starve the agent.  Idle connections, local or through a
forward, and uses waiting for the user's yes hold no worker, so a local ``tokendeck token``
is answered while they are held; one client process or one forward can hold only so many.

The agent runs in this process on its real socket (as in ``tests/test_agent.py``), with long
client deadlines and few workers, so that whatever is held stays held while the test asks.
Every client is a real process: the idle ones are small Python programs, the readers are the
real ``tokendeck`` command, local ones with no passphrase anywhere (so a ``token`` that
succeeds was answered by the agent: without it, it could only fail) and remote ones through the
forward's socket.  How long the answer takes is measured by ``benchmarks/agent_load.py``, not
asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.test_agent import PASSPHRASE, TOKEN, Running, start_agent, wait_until
from tests.test_agent_cli import TOKENDECK
from vault.agent import wire
from vault.settings import AGENT_SOURCE_CONNECTIONS, FORWARD_PENDING_QUESTIONS

A_TOKEN = "ghp_starvationA123"  # noqa: S105 - a test value
LONG = 120.0
"""Client deadline and question timeout for these tests: nothing held is let go meanwhile."""

HOLDER = """
import socket, sys
path, count = sys.argv[1], int(sys.argv[2])
held = []
for _ in range(count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    held.append(s)
print("ready", flush=True)
sys.stdin.readline()
still = 0
for s in held:
    s.setblocking(False)
    try:
        still += s.recv(1) != b""
    except BlockingIOError:
        still += 1
    except OSError:
        pass
print(still, flush=True)
"""
"""Opens COUNT connections to PATH and sends nothing; on a line from stdin, prints how many the
agent still holds open."""


class Holder:
    """A process holding idle connections to the agent (killed at the test's end, whatever happens)."""

    def __init__(self, path: str, count: int, spawned: list[subprocess.Popen[str]]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, path, str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        spawned.append(self.proc)
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "ready\n"

    def still_open(self) -> int:
        out, _ = self.proc.communicate("check\n", timeout=60)
        return int(out)


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts: killed and reaped when it ends, passed or not."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.communicate()


@pytest.fixture
def seeded(home: Path, passphrase_env: str) -> None:
    with vault.init_vault(mode="passphrase") as v:
        v.records.add_static("gh", provider="github-pat", token=TOKEN)
        v.records.add_static("a", provider="github-pat", token=A_TOKEN)


@pytest.fixture
def agent(seeded: None) -> Iterator[Running]:
    with start_agent(client_timeout=LONG, max_clients=2, forward_workers=2, watch_interval=0.05) as running:
        running.agent.confirmations.timeout = LONG
        yield running


def local_env() -> dict[str, str]:
    """A local shell's environment with no way to unlock the vault: only the agent can answer."""
    env = {k: v for k, v in os.environ.items() if "PASSPHRASE" not in k}
    return {**env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def local_token() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TOKENDECK, "token", "gh"], env=local_env(), input="", capture_output=True, text=True, timeout=60, check=False
    )


def remote_env(tmp_path: Path, sock: str) -> dict[str, str]:
    """A remote machine's: no vault, its own home and runtime directory, the forward's socket."""
    place = tmp_path / "remote"
    (place / "run").mkdir(parents=True, mode=0o700, exist_ok=True)
    return {
        "PATH": os.environ["PATH"], "HOME": str(place), "TOKENDECK_HOME": str(place / "tokendeck"),
        "XDG_RUNTIME_DIR": str(place / "run"), "TOKENDECK_AGENT_SOCK": sock,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }  # fmt: skip


def on_remote(env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TOKENDECK, *argv], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def open_forward(*names: str, confirm: bool = False) -> tuple[str, str]:
    answer = wire.call("forward-open", "devbox", "", "", "confirm" if confirm else "-", *names, opt_out=False)
    assert answer is not None and answer[0] == "0", answer
    return answer[1], answer[2]


def questions() -> list[dict[str, str]]:
    answer = wire.call("questions", opt_out=False)
    assert answer is not None and answer[0] == "0"
    return [json.loads(row) for row in answer[1:]]


def test_three_hundred_idle_local_connections_hold_no_worker(
    agent: Running, spawned: list[subprocess.Popen[str]]
) -> None:
    """Three processes hold 100 idle connections each (two workers, two-minute deadlines):
    a local token is answered while all 300 are held, and none of them was dropped for it."""
    path = wire.socket_path(wire.home_dir())
    holders = [Holder(path, 100, spawned) for _ in range(3)]
    wait_until(lambda: agent.agent.connections == 300, "the agent to take all 300")
    r = local_token()
    assert (r.returncode, r.stdout, r.stderr) == (0, TOKEN + "\n", "")
    assert [h.still_open() for h in holders] == [100, 100, 100]


def test_one_process_holds_at_most_so_many_connections_and_others_are_answered(
    agent: Running, spawned: list[subprocess.Popen[str]]
) -> None:
    """300 idle connections from one process: it keeps the newest 128 (its oldest idle ones are
    pushed out as new ones come), and a token from another process is answered."""
    holder = Holder(wire.socket_path(wire.home_dir()), 300, spawned)
    wait_until(lambda: agent.agent.connections == AGENT_SOURCE_CONNECTIONS, "the holder's oldest to be pushed out")
    r = local_token()
    assert (r.returncode, r.stdout) == (0, TOKEN + "\n"), r.stderr
    assert holder.still_open() == AGENT_SOURCE_CONNECTIONS
    assert sum("connections: dropping the oldest that send nothing" in line for line in agent.log) == 1


def test_three_hundred_idle_connections_through_a_forward(
    agent: Running, tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    """The forward is one source: it keeps 128 of its idle connections; the local token is
    answered, and so is the remote's own next read through the same forward."""
    _, sock = open_forward("a")
    holder = Holder(sock, 300, spawned)
    wait_until(lambda: agent.agent.connections == AGENT_SOURCE_CONNECTIONS, "the forward's oldest to be pushed out")
    r = local_token()
    assert (r.returncode, r.stdout) == (0, TOKEN + "\n"), r.stderr
    remote = on_remote(remote_env(tmp_path, sock), "token", "a")
    assert remote.communicate(timeout=60) == (A_TOKEN + "\n", "")
    assert holder.still_open() == AGENT_SOURCE_CONNECTIONS - 1  # the remote's read pushed out one more


def test_forty_uses_waiting_for_the_user_hold_no_worker(agent: Running, tmp_path: Path, home: Path) -> None:
    """40 remote reads wait for the user's yes with two forward workers and two local ones: a
    local token and a remote list (which asks nobody) are answered meanwhile; then each yes
    serves its reader."""
    agent.agent.confirmations.limit = 64
    _, sock = open_forward("a", confirm=True)
    env = remote_env(tmp_path, sock)
    readers = [on_remote(env, "token", "a") for _ in range(40)]
    try:
        wait_until(lambda: len(questions()) == 40, "40 questions", timeout=120)
        r = local_token()
        assert (r.returncode, r.stdout) == (0, TOKEN + "\n"), r.stderr
        listed = on_remote(env, "list", "--json")
        out, err = listed.communicate(timeout=60)
        assert listed.returncode == 0 and [c["name"] for c in json.loads(out)] == ["a"], err
        assert all(reader.poll() is None for reader in readers)  # still waiting, every one
        for question in questions():
            assert wire.call("answer", question["id"], "allow", opt_out=False) == ["0", "answered"]
        assert [reader.communicate(timeout=60) for reader in readers] == [(A_TOKEN + "\n", "")] * 40
    finally:
        for reader in readers:
            reader.kill()
            reader.communicate()
    agent.agent.write_reads()  # what housekeeping does within the second
    with vault.open_vault(home, PASSPHRASE) as v:
        served = [
            e for e in v.records.audit_log() if e.action == "forward" and e.outcome == "served" and e.credential == "a"
        ]
    assert len(served) == 40


def test_a_forward_has_only_so_many_questions_waiting_and_the_rest_are_refused_at_once(
    agent: Running, tmp_path: Path
) -> None:
    forward_id, sock = open_forward("a", confirm=True)
    env = remote_env(tmp_path, sock)
    readers = [on_remote(env, "token", "a") for _ in range(FORWARD_PENDING_QUESTIONS + 2)]
    try:
        wait_until(lambda: sum(r.poll() is not None for r in readers) == 2, "two readers to be refused", timeout=120)
        wait_until(lambda: len(questions()) == FORWARD_PENDING_QUESTIONS, "the questions")
        refused = [r for r in readers if r.poll() is not None]
        for reader in refused:
            out, err = reader.communicate(timeout=60)
            assert (reader.returncode, out) == (5, "")
            assert err == (
                "tokendeck: the use of a by devbox was not allowed on the machine with the vault "
                f"({FORWARD_PENDING_QUESTIONS} uses by devbox were already waiting for an answer)\n"
            )
        assert wire.call("forward-close", forward_id, opt_out=False) == ["0"]  # the rest get their no
        waiting = [r for r in readers if r not in refused]
        for reader in waiting:
            out, err = reader.communicate(timeout=60)
            assert reader.returncode == 5 and "(its forward or session ended first)" in err
    finally:
        for reader in readers:
            reader.kill()
            reader.communicate()
