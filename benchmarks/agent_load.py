"""A local ``tokendeck token`` through a real agent process, alone and under load (issue 30):
300 idle local connections, 300 idle connections through a forward, and 40 remote reads
waiting for a ``--confirm`` answer.  Each loaded latency is measured in the same run as the
unloaded one and printed as a ratio of it; the issue's target is an answer in under 1 s
(before: 29.6 s, 2-5 s and 10.7 s).

The idle clients are processes that open their connections and send nothing, opening again
any the agent drops (every second at most), so the load lasts however long the measurement
takes (a forward keeps 128 of them; the rest are pushed out as they come); the 40 readers are
real ``tokendeck token`` processes on the "remote" side of a ``--confirm`` forward, of which 8
wait for an answer (a forward's limit) and the rest are refused at once.  The measured
``token`` has no passphrase anywhere: only the agent can answer it.  "agent sockets" is how
many sockets the agent process holds (its listeners included) when the reads start, to show
the load is in place (Linux only).

Run: ``.venv/bin/python benchmarks/agent_load.py [--runs N]``.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    PASSPHRASE,
    child_env,
    parse_runs,
    print_preamble,
    run_checked,
    scratch_dir,
    spawn_ms,
    tokendeck_command,
)

IDLE = 300
HOLDERS = 3
WAITING = 40
TARGET_MS = 1000.0
BEFORE = {"300 idle local connections": "29.6 s", "300 idle through a forward": "2-5 s", "40 --confirm reads": "10.7 s"}
"""What the issue measured on main before the switchboard."""

HOLDER = """
import selectors, socket, sys, time
path, count = sys.argv[1], int(sys.argv[2])
sel = selectors.DefaultSelector()
sel.register(sys.stdin, selectors.EVENT_READ)
held = 0
def fill():
    global held
    while held < count:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            s.close()
            return
        sel.register(s, selectors.EVENT_READ)
        held += 1
fill()
print("ready", flush=True)
while True:
    started = time.monotonic()
    for key, _ in sel.select(1.0):
        if key.fileobj is sys.stdin:
            sys.exit(0)
        try:
            gone = key.fileobj.recv(1) == b""
        except OSError:
            gone = True
        if gone:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            held -= 1
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    fill()
"""
"""Holds COUNT idle connections to PATH until its stdin closes, opening again (once a second at
most) those the agent drops."""


@contextmanager
def holding(path: str, count: int, processes: int) -> Iterator[None]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HOLDER, path, str(count // processes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(processes)
    ]
    try:
        for proc in procs:
            if proc.stdout is None or proc.stdout.readline() != "ready\n":
                sys.exit("a holder of idle connections did not start")
        yield
    finally:
        for proc in procs:
            proc.communicate("", timeout=30)


@contextmanager
def waiting_readers(env: dict[str, str], count: int, asked: Callable[[], int]) -> Iterator[None]:
    """``count`` remote ``tokendeck token a`` processes, each waiting for the user's answer."""
    cmd = tokendeck_command()
    readers = [
        subprocess.Popen([*cmd, "token", "a"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]  # fmt: skip
    from vault.settings import FORWARD_PENDING_QUESTIONS

    expected = min(count, FORWARD_PENDING_QUESTIONS)  # the rest are refused at once
    try:
        deadline = time.monotonic() + 120
        while asked() < expected or sum(r.poll() is not None for r in readers) < count - expected:
            if time.monotonic() > deadline:
                sys.exit(f"{asked()} questions asked, not {expected}")
            time.sleep(0.05)
        yield
    finally:
        for reader in readers:
            reader.kill()
            reader.wait()


def sockets_of(pid: int) -> int | None:
    """How many sockets process ``pid`` has open (Linux: /proc), to show the load is held."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    count = 0
    for fd in fds:
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


def sample(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    spawn_ms(argv, env)  # warm
    return [spawn_ms(argv, env, name="tokendeck token gh (through the agent)") for _ in range(runs)]


def main(argv: list[str] | None = None) -> int:
    runs = parse_runs(__doc__, argv, default=15, what="token reads per load")
    print_preamble("a local `tokendeck token` through the agent, alone and under load")
    with scratch_dir("agent-load") as scratch:
        home = scratch / "home"
        runtime = scratch / "run"
        runtime.mkdir(mode=0o700)
        env = child_env(home, scratch)
        env["TOKENDECK_RUNTIME_DIR"] = os.environ["TOKENDECK_RUNTIME_DIR"] = str(runtime / "tokendeck")
        import vault
        from vault.agent import wire
        from vault.core import keys
        from vault.settings import AGENT_SOURCE_CONNECTIONS, FORWARD_PENDING_QUESTIONS

        keys.KDF_ITER = 2  # the agent's start-up is not what this measures
        with vault.init_vault(home, mode="passphrase", passphrase=PASSPHRASE) as v:
            v.records.add_static("gh", provider="github-pat", token="ghp_benchLOCAL0001")
            v.records.add_static("a", provider="github-pat", token="ghp_benchREMOTE002")
        cmd = tokendeck_command()
        run_checked([*cmd, "agent", "start", "--lock-after", "never"], env)
        local = {k: v for k, v in env.items() if "PASSPHRASE" not in k}  # only the agent can answer
        token = [*cmd, "token", "gh"]

        def forward(confirm: bool) -> tuple[str, str, dict[str, str]]:
            opened = wire.call("forward-open", "devbox", "", "", "confirm" if confirm else "-", "a",
                               home=home, opt_out=False)  # fmt: skip
            if opened is None or opened[0] != "0":
                sys.exit(f"could not open a forward: {opened}")
            place = scratch / f"remote-{opened[1]}"
            (place / "run").mkdir(parents=True, mode=0o700)
            remote = {**local, "HOME": str(place), "TOKENDECK_HOME": str(place / "tokendeck"),
                      "XDG_RUNTIME_DIR": str(place / "run"), "TOKENDECK_AGENT_SOCK": opened[2]}  # fmt: skip
            remote.pop("TOKENDECK_RUNTIME_DIR", None)
            return opened[1], opened[2], remote

        def close(forward_id: str) -> None:
            wire.call("forward-close", forward_id, home=home, opt_out=False)

        def asked() -> int:
            answer = wire.call("questions", home=home, opt_out=False) or []
            return len([json.loads(row) for row in answer[1:]])

        pid = int(Path(wire.pid_path(str(home))).read_text().strip() or 0)
        results: dict[str, list[float]] = {}
        held: dict[str, int | None] = {}

        def measure(name: str, at_least: int = 0) -> None:
            deadline = time.monotonic() + 30  # until the agent has taken the load (where /proc says)
            while (sockets_of(pid) or at_least) < at_least and time.monotonic() < deadline:
                time.sleep(0.05)
            held[name] = sockets_of(pid)
            results[name] = sample(token, local, runs)

        try:
            measure("alone")
            with holding(wire.socket_path(str(home)), IDLE, HOLDERS):
                measure("300 idle local connections", 1 + IDLE)
            forward_id, sock, _remote = forward(confirm=False)
            with holding(sock, IDLE, 1):
                measure("300 idle through a forward", 2 + AGENT_SOURCE_CONNECTIONS)
            close(forward_id)
            forward_id, _sock, remote = forward(confirm=True)
            with waiting_readers(remote, WAITING, asked):
                measure("40 --confirm reads", 2 + FORWARD_PENDING_QUESTIONS)
            close(forward_id)
            measure("alone, again")
        finally:
            subprocess.run([*cmd, "agent", "stop"], env=env, capture_output=True, timeout=60, check=False)
    base = statistics.median(results["alone"])
    print(f"{'load':<28}  {'agent sockets':>13}  {'median ms':>9}  {'max ms':>7}  {'x alone':>7}  before (issue)")
    for name, values in results.items():
        median, worst = statistics.median(values), max(values)
        sockets = "?" if held[name] is None else str(held[name])
        line = f"{name:<28}  {sockets:>13}  {median:>9.1f}  {worst:>7.1f}  {median / base:>7.2f}"
        print(f"{line}  {BEFORE[name]}" if name in BEFORE else line)
    worst = max(max(values) for values in results.values())
    verdict = "met" if worst < TARGET_MS else "NOT met"
    print(f"\nslowest read under any load: {worst:.0f} ms; target: every read under {TARGET_MS:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
