"""What a session costs a token read (issue 36): the same read, by the same kind of client, from
outside any session and from inside one, measured side by side in one run.

Run from the repository root::

    .venv/bin/python benchmarks/session.py [--runs N]

A throw-away passphrase vault (SQLCipher's default KDF cost, as shipped) holds two static tokens;
its agent is started with the installed command, as a user runs it.  A client process asks the
agent for a token 200 times in a row (warm: ``vault.agent.wire.call("token", ...)``, what
``tokendeck token`` and the library do) and reports each answer's time.  Three clients take turns,
round-robin, so machine noise spreads over all of them:

- outside: a process in no session (the agent checks that it is in none: the sessions are open);
- inside, session socket: started by ``tokendeck exec --session``, asking through
  ``$TOKENDECK_AGENT_SOCK`` as every tokendeck command inside does;
- inside, agent socket: the same, with that variable dropped: the agent walks the asker's
  ancestry (/proc) to find its session before it answers.

Target (issue 36): a read inside a session costs at most 1.3x one outside (p50).  Nothing is
asserted; it prints.  Every read is audited with its reader (issue 36) in all three.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CHILD_TIMEOUT,
    child_env,
    parse_runs,
    print_preamble,
    run_checked,
    scratch_dir,
    tokendeck_command,
)

READS = 200
TARGET = 1.3
CLIENT = """
import json, sys, time
from vault.agent import wire
samples = []
for _ in range(int(sys.argv[1])):
    start = time.perf_counter()
    answer = wire.call("token", "a", opt_out=False)
    samples.append((time.perf_counter() - start) * 1000)
    assert answer is not None and answer[0] == "0", answer
print(json.dumps(samples))
"""


def main(argv: list[str] | None = None) -> None:
    runs = parse_runs(__doc__, argv, default=5, what=f"rounds of {READS} reads per client")
    print_preamble(f"a token read inside a session against one outside: {runs} rounds of {READS} reads per client")
    tokendeck = tokendeck_command()
    with scratch_dir("session") as scratch:
        home = scratch / "home"
        env = child_env(home, scratch)
        env["TOKENDECK_RUNTIME_DIR"] = str(scratch / "run")
        run_checked([*tokendeck, "init", "--passphrase"], env)
        run_checked([*tokendeck, "add", "a", "--provider", "api-key"], env, stdin="bench-token-a\n")
        run_checked([*tokendeck, "add", "b", "--provider", "api-key"], env, stdin="bench-token-b\n")
        run_checked([*tokendeck, "agent", "start"], env)
        client = scratch / "client.py"
        client.write_text(CLIENT)
        py = [sys.executable, str(client), str(READS)]
        session = [*tokendeck, "exec", "--session", "-e", "A=a", "--"]
        # a long-lived session elsewhere keeps the agent's session table non-empty for "outside"
        holder = subprocess.Popen([*session, "sleep", "3600"], env=env)
        clients = {
            "outside": py,
            "inside, session socket": [*session, *py],
            "inside, agent socket": [*session, "env", "-u", "TOKENDECK_AGENT_SOCK", *py],
        }
        samples: dict[str, list[float]] = {name: [] for name in clients}
        try:
            for round_ in range(runs):
                names = list(clients)
                for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                    out = run_checked(clients[name], env)
                    samples[name] += json.loads(out)[10:]  # the first reads warm the connection path
        finally:
            holder.terminate()
            holder.wait(CHILD_TIMEOUT)
            run_checked([*tokendeck, "agent", "stop"], env)
    base = statistics.median(samples["outside"])
    print(f"{'client':<26}{'p50 ms':>9}{'p99 ms':>9}{'x outside':>11}")
    for name, values in samples.items():
        p50 = statistics.median(values)
        p99 = statistics.quantiles(values, n=100)[98]
        print(f"{name:<26}{p50:>9.3f}{p99:>9.3f}{p50 / base:>10.2f}x")
    worst = max(statistics.median(v) for k, v in samples.items() if k != "outside") / base
    verdict = "met" if worst <= TARGET else "MISSED"
    print(f"inside / outside, p50, worst of the two: {worst:.2f}x (target <= {TARGET}x): {verdict}")


if __name__ == "__main__":
    main()
