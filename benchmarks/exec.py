"""What ``tokendeck exec`` adds to starting a program.

Run from the repository root::

    .venv/bin/python benchmarks/exec.py [--runs N]

It builds a throw-away passphrase vault (SQLCipher's default KDF cost, exactly
as shipped) holding one static token, then starts fresh processes round-robin,
so machine noise spreads over every command alike:

- ``true``: the program alone, the floor;
- ``tokendeck token gh``: unlock, read, print;
- ``tokendeck exec -e T=gh -- true``: unlock, read, then run ``true`` with its output masked
  (tokendeck stays the parent, reading ``true``'s pipes);
- ``tokendeck exec --no-mask -e T=gh -- true``: unlock, read, then become ``true``.

Then the masking's cost on output: ``cat`` of a 50 MB text file holding no secret (with the
token's first characters sprinkled through it, which the masker must look at), through
``tokendeck exec`` masked and with ``--no-mask``, into a pipe read here; each several times,
alternating, best and median MB/s.  The output is checked to arrive unchanged.

Milliseconds are this machine's and noisy; the ratios, measured in the same
run, are what to compare between runs.  ``exec / token`` near 1 means exec
costs what a token read costs and nothing more: the program starts in the same
process, without a wrapper left running.  Nothing here asserts a time; it prints.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CHILD_TIMEOUT,
    child_env,
    medians,
    parse_runs,
    print_preamble,
    scratch_dir,
    time_cold,
    tokendeck_command,
)
from cli_latency import make_vault  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    runs = parse_runs(__doc__, argv, default=15, what="cold processes per command")

    true = shutil.which("true")
    if true is None:
        sys.exit("benchmark setup failed: no `true` on PATH")
    with scratch_dir("exec") as scratch:
        home = scratch / "home"
        env = child_env(home, scratch)
        make_vault(home, env)
        tokendeck = tokendeck_command()
        check = subprocess.run(
            [*tokendeck, "exec", "-e", "T=gh", "--", "sh", "-c", 'test -n "$T"'],
            env=env,
            capture_output=True,
            timeout=CHILD_TIMEOUT,
            check=False,
        )
        if check.returncode != 0:
            sys.exit(f"benchmark setup failed: tokendeck exec exited {check.returncode}: {check.stderr!r}")

        commands = {
            "true": [true],
            "tokendeck token gh": [*tokendeck, "token", "gh"],
            "tokendeck exec -e T=gh -- true": [*tokendeck, "exec", "-e", "T=gh", "--", true],
            "tokendeck exec --no-mask -e T=gh -- true": [*tokendeck, "exec", "--no-mask", "-e", "T=gh", "--", true],
        }
        samples = time_cold(commands, env, runs)
        med = medians(samples)

        print_preamble(f"tokendeck exec cold-start cost: {runs} runs per command, round-robin, medians")
        width = max(map(len, med))
        print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>7}  {'max ms':>7}")
        for name, value in med.items():
            print(f"{name:<{width}}  {value:>9.1f}  {min(samples[name]):>7.1f}  {max(samples[name]):>7.1f}")
        exec_ms = med["tokendeck exec -e T=gh -- true"]
        token_ms = med["tokendeck token gh"]
        true_ms = med["true"]
        added = exec_ms - true_ms
        print(f"\nexec / true   {exec_ms / true_ms:7.1f}x  (+{added:.1f} ms to start a program with a token)")
        print(f"exec / token  {exec_ms / token_ms:7.2f}x  ({exec_ms - token_ms:+.1f} ms beyond a token read)")
        bare_ms = med["tokendeck exec --no-mask -e T=gh -- true"]
        print(f"masked / --no-mask  {exec_ms / bare_ms:5.2f}x  ({exec_ms - bare_ms:+.1f} ms to start a masked run)")
        throughput(tokendeck, env, scratch)
        return 0


SIZE = 50 * 1024 * 1024
REPEATS = 5


def throughput(tokendeck: list[str], env: dict[str, str], scratch: Path) -> None:
    """50 MB through ``exec`` masked and ``--no-mask``, alternating; MB/s, unchanged output checked."""
    cat = shutil.which("cat")
    if cat is None:
        sys.exit("benchmark setup failed: no `cat` on PATH")
    line = b"2026-12-07 ghp_ not a token; g gh ghp an ordinary log line of some length ok\n"
    data = (line * (SIZE // len(line) + 1))[:SIZE]
    source = scratch / "50mb.txt"
    source.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    kinds = {
        "masked": [*tokendeck, "exec", "-e", "T=gh", "--", cat, str(source)],
        "--no-mask": [*tokendeck, "exec", "--no-mask", "-e", "T=gh", "--", cat, str(source)],
        "cat alone": [cat, str(source)],
    }
    seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(REPEATS):
        for kind, argv in kinds.items():
            start = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True, timeout=CHILD_TIMEOUT, check=False)
            seconds[kind].append(time.perf_counter() - start)
            if done.returncode != 0 or hashlib.sha256(done.stdout).hexdigest() != digest:
                sys.exit(f"benchmark failed: {kind} exited {done.returncode} or changed the output")
    mb = SIZE / 1e6
    print(f"\n50 MB of text through exec, {REPEATS} runs each, alternating (whole command, unlock included)")
    print(f"{'':<10}  {'median s':>8}  {'best s':>7}  {'MB/s (median)':>13}")
    for kind, times in seconds.items():
        med = statistics.median(times)
        print(f"{kind:<10}  {med:>8.2f}  {min(times):>7.2f}  {mb / med:>13.0f}")
    masked, bare = statistics.median(seconds["masked"]), statistics.median(seconds["--no-mask"])
    print(f"masked / --no-mask  {masked / bare:5.2f}x  ({masked - bare:+.2f} s for 50 MB)")


if __name__ == "__main__":
    sys.exit(main())
