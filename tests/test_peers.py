"""Who is asking (vault.core.peers): a process named by pid *and* start time, its ancestry read
from /proc, and a session root that keeps double-forked orphans inside (issue 36's groundwork).
Real processes throughout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.core.peers import SHOWN_ARGV, descendants, loopback_client, peer, same_process, within

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
TOKEN = "ghp_" + "Zq8" * 12  # noqa: S105 - shaped like a GitHub token, in a command line


def wait_for_text(path: Path) -> str:
    for _ in range(500):
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.01)
    raise AssertionError(f"{path} was never written")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--token", TOKEN, "x" * 80])
    yield child
    child.kill()
    child.wait()


def me() -> tuple[int, int]:
    found = peer(os.getpid())
    assert found is not None
    return found.pid, found.start


def test_a_process_is_read_as_it_is() -> None:
    found = peer(os.getpid())
    assert found is not None
    assert found.ppid == os.getppid() and found.cwd == os.getcwd()
    assert found.exe == os.path.realpath(sys.executable)
    assert same_process(found.pid, found.start) and not same_process(found.pid, found.start + 1)


def test_a_gone_process_is_none(sleeper: subprocess.Popen[bytes]) -> None:
    found = peer(sleeper.pid)
    assert found is not None
    sleeper.kill()
    sleeper.wait()
    assert peer(sleeper.pid) is None and not same_process(found.pid, found.start)


def test_shown_names_the_program_its_pid_and_directory_and_masks_a_token(sleeper: subprocess.Popen[bytes]) -> None:
    found = peer(sleeper.pid)
    assert found is not None and TOKEN in found.argv  # read whole...
    shown = found.shown()
    assert TOKEN not in shown and "ghp_" not in shown  # ...never shown
    assert shown.startswith(os.path.basename(sys.executable) + " -c import")  # paths by their last part
    line = shown.split(" (pid ")[0]
    assert len(line) == SHOWN_ARGV and line.endswith("…")  # cut short, not wrapped
    assert shown.endswith(f"(pid {sleeper.pid}) in {os.getcwd()}")


def test_children_and_grandchildren_are_within_and_others_are_not(tmp_path: Path) -> None:
    out = tmp_path / "pid"
    child = subprocess.Popen(["sh", "-c", f"sleep 60 & echo $! > {out}; wait"])
    try:
        grandchild = int(wait_for_text(out))
        assert within(child.pid, me()) and within(grandchild, me())
        assert not within(os.getppid(), me())  # an ancestor is not inside
        assert not within(grandchild, (child.pid, me()[1]))  # right pid, wrong start: a reused pid
    finally:
        child.kill()
        child.wait()


def test_a_root_that_has_ended_contains_nothing(tmp_path: Path) -> None:
    out = tmp_path / "pid"
    root = subprocess.Popen(["sh", "-c", f"sleep 60 & echo $! > {out}; wait"])
    grandchild = int(wait_for_text(out))
    found = peer(root.pid)
    assert found is not None and within(grandchild, (found.pid, found.start))
    root.kill()
    root.wait()
    try:
        assert not within(grandchild, (found.pid, found.start))
    finally:
        os.kill(grandchild, 9)


SESSION_ROOT = """
import os, subprocess, sys, time
from vault.core.peers import become_subreaper, peer, within
reaper = sys.argv[1] == "reaper"
if reaper:
    assert become_subreaper()
root = peer(os.getpid())
# a double fork: the middle shell exits at once, leaving the sleep an orphan
subprocess.run(["sh", "-c", "(sleep 60 & echo $! > " + sys.argv[2] + ") & exit 0"], check=True)
for _ in range(500):
    text = open(sys.argv[2]).read() if os.path.exists(sys.argv[2]) else ""
    if text.endswith("\\n"):
        break
    time.sleep(0.01)
orphan = int(text)
for _ in range(500):  # until the subshell that started it has exited and it is re-parented
    p = peer(orphan)
    parent = peer(p.ppid) if p is not None else None
    if parent is None or parent.argv[:1] != ("sh",):
        break
    time.sleep(0.01)
print("inside" if within(orphan, (root.pid, root.start)) else "outside", flush=True)
os.kill(orphan, 9)
"""


@pytest.mark.parametrize(("mode", "expected"), [("reaper", "inside"), ("plain", "outside")])
def test_a_double_fork_stays_inside_a_root_that_is_a_subreaper(tmp_path: Path, mode: str, expected: str) -> None:
    """Run in a process of its own: being a subreaper is for the rest of a process's life."""
    done = subprocess.run(
        [sys.executable, "-c", SESSION_ROOT, mode, str(tmp_path / "orphan")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_become_subreaper_is_true_on_linux() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from vault.core.peers import become_subreaper; print(become_subreaper())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "True"


def test_a_zombie_has_ended() -> None:
    """A process that has exited but is not reaped yet (its parent is busy reading its pipes) is
    gone for every purpose here: its /proc entry stays, its session must not."""
    child = subprocess.Popen(["true"])
    found = peer(child.pid)
    for _ in range(500):
        with open(f"/proc/{child.pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                break
        time.sleep(0.01)
    try:
        assert found is None or not same_process(found.pid, found.start)
        assert peer(child.pid) is None
    finally:
        child.wait()


@pytest.mark.parametrize("family", ["127.0.0.1", "::1"])
def test_the_process_below_a_root_at_the_client_end_of_a_loopback_connection_is_found(family: str) -> None:
    """The placeholder proxy's reader: the server sees the client's port; the process holding that
    socket is found among the root's descendants (and not among processes outside them)."""
    import socket as sockets

    kind = sockets.AF_INET6 if ":" in family else sockets.AF_INET
    with sockets.socket(kind, sockets.SOCK_STREAM) as server:
        server.bind((family, 0))
        server.listen(1)
        port = server.getsockname()[1]
        script = (
            f"import socket, time; s = socket.create_connection(({family!r}, {port})); print(1, flush=True); "
            "time.sleep(30)"
        )
        client = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        try:
            conn, (_, client_port, *_) = server.accept()
            with conn:
                assert client.stdout is not None and client.stdout.readline() == b"1\n"
                assert client.pid in descendants(os.getpid())
                assert loopback_client(client_port, descendants(os.getpid())) == client.pid
                assert loopback_client(client_port, [os.getppid()]) is None  # not among those searched
                assert loopback_client(port, []) is None
        finally:
            client.kill()
            client.communicate()
