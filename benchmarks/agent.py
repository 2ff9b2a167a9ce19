"""The agent's hot paths, each against an anchor measured in the same run (issue 15).

- ``list`` at 10,000 credentials, answered inside the agent (``Agent.answer``), against the
  bare SQL read of the same rows: the cost of building and formatting credentials.
- The ``token`` open path at 10 and at 10,000 credentials (``unlock`` + ``Store.open`` + one
  read, raw key so the KDF is not in it): it must not grow with the vault.
- 100 clients at once on the agent socket: how many are turned away (none, the target), and
  the p99 answer time against one client alone.
- A token read from inside a session against one outside (issue 36: at most 1.3x, the ancestry
  check included), through the installed command's agent: ``session.py``, run last.

Run: ``.venv/bin/python benchmarks/agent.py [--runs N]``.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_runs, print_preamble, scratch_dir  # noqa: E402

SIZES = (10, 10_000)
CLIENTS = 100


def make_vault(home: Path, count: int) -> None:
    """A keyring-free raw-key vault (no KDF) with ``count`` static tokens."""
    import vault
    from vault.core import keys

    keys.KDF_ITER = 2  # the KDF is not what this measures
    with (
        vault.init_vault(home, mode="passphrase", passphrase="bench") as v,
        v.records._store.transaction() as conn,  # one transaction: 10,000 adds in seconds
    ):
        now = time.time()
        conn.executemany(
            "INSERT INTO credentials (name, provider, kind, account, access_token, token_type, scopes, "
            "status, extras, created_at, updated_at) VALUES (?, 'api-key', 'static', ?, ?, 'Bearer', '[]', "
            "'active', ?, ?, ?)",
            [
                (f"cred-{i:05d}", f"user{i}@example.test", f"tok_{i:05d}_" + "x" * 30, '{"team": "a"}', now, now)
                for i in range(count)
            ],
        )


def median_ms(fn: object, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def agent_list(home: Path, runs: int) -> tuple[float, float]:
    """(ms for the agent's list answer, ms for the bare SQL read of the same rows)."""
    import vault
    from vault.agent import wire
    from vault.agent.server import Agent

    v = vault.open_vault(home, "bench")
    agent = Agent(v, wire.socket_path(str(home)), reopen=lambda p: v, refresher=False)
    request = [wire.VERSION, agent.home, "list", "json", "iso"]
    agent.answer(request)  # warm
    in_agent = median_ms(lambda: agent.answer(request), runs)
    bare = median_ms(lambda: v.records._store.query("SELECT * FROM credentials ORDER BY name"), runs)
    v.close()
    return in_agent, bare


def open_path(home: Path, runs: int) -> float:
    """ms to unlock, open and read one token: the ``token`` path without the agent."""
    import vault

    def go() -> None:
        with vault.open_vault(home, "bench") as v:
            v.token("cred-00001")

    go()
    return median_ms(go, runs)


def concurrent_clients(home: Path, runs: int) -> tuple[int, float, float]:
    """(clients turned away of 100, p99 ms under 100 at once, median ms of one client alone)."""
    import os

    import vault
    from vault.agent import wire
    from vault.agent.server import Agent

    os.environ["TOKENDECK_HOME"] = str(home)
    v = vault.open_vault(home, "bench")
    agent = Agent(v, wire.socket_path(wire.home_dir()), reopen=lambda p: v, refresher=False)
    agent.listen()
    server = threading.Thread(target=agent.serve, daemon=True)
    server.start()

    def one(_: int) -> tuple[bool, float]:
        start = time.perf_counter()
        answer = wire.call("token", "cred-00001", timeout=30)
        return answer is not None and answer[0] == "0", (time.perf_counter() - start) * 1000

    alone = statistics.median(one(0)[1] for _ in range(runs * 5))
    refused, times = 0, []
    for _ in range(runs):
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            results = list(pool.map(one, range(CLIENTS)))
        refused += sum(not ok for ok, _ in results)
        times += [ms for _, ms in results]
    agent.stop()
    server.join(timeout=10)
    p99 = statistics.quantiles(times, n=100)[98]
    return refused // runs, p99, alone


def main(argv: list[str] | None = None) -> int:
    runs = parse_runs(__doc__, argv, default=9, what="repetitions of each measurement")
    print_preamble("the agent's hot paths")
    import os

    with scratch_dir("agent") as scratch:
        runtime = scratch / "run"
        runtime.mkdir(mode=0o700)
        os.environ["TOKENDECK_RUNTIME_DIR"] = str(runtime / "tokendeck")  # never the developer's agent socket
        os.environ.pop("TOKENDECK_NO_AGENT", None)
        from vault.agent import wire

        os.makedirs(wire.runtime_dir(), mode=0o700, exist_ok=True)
        homes = {}
        for size in SIZES:
            homes[size] = scratch / f"home-{size}"
            make_vault(homes[size], size)
        in_agent, bare = agent_list(homes[10_000], runs)
        print(f"agent list, 10,000 credentials:  {in_agent:7.1f} ms in the agent; bare SQL read {bare:6.1f} ms "
              f"({in_agent / bare:.1f}x); target <= 60 ms")  # fmt: skip
        small, large = open_path(homes[10], runs), open_path(homes[10_000], runs)
        print(
            f"token open path:  {small:6.2f} ms at 10, {large:6.2f} ms at 10,000 ({large / small:.2f}x); "
            "target: does not grow (~1.0x)"
        )
        refused, p99, alone = concurrent_clients(homes[10], runs)
        print(f"{CLIENTS} clients at once: {refused} turned away (target 0); p99 {p99:.1f} ms vs one alone "
              f"{alone:.1f} ms; target p99 <= 100 ms")  # fmt: skip
    import session  # benchmarks/session.py: its own vault, the installed command, a passphrase

    print()
    session.main(["--runs", str(max(3, runs // 2))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
