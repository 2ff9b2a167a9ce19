"""``tokendeck scan``'s throughput against ripgrep's, in the same run, on the same tree.

A tree of mixed files (logs, JSON transcripts, ``.env`` files, source, base64 blobs; sizes from
4 KB to 4 MB) of ``--size`` MB is written under ``--dir`` (a temporary folder by default), with
``--secrets`` current secrets and as many previous values (keyed hashes) to look for, a few of
them planted.  Then, each ``--runs`` times, warm from the page cache:

- ``rg -F --no-ignore --hidden -c STRING DIR`` (one fixed string; ripgrep uses every core);
- the scan engine (``vault.services.scanning.Scan`` with a ``Matcher``, in this process: what
  ``tokendeck scan DIR`` runs after the vault handed it what to look for), twice: with the
  current secrets alone (the target's figure), then with the previous values (keyed hashes) too;
- the command as users run it (unless ``--engine-only``): this environment's ``tokendeck scan
  DIR``, with a passphrase vault holding the same 1,000 secrets and its agent running, once with
  them alone and once with 1,000 replaced values too.  It pays what the engine does not: Python's
  start, tokendeck's imports, the agent handing over what to look for, the workers' start.

It prints MB/s of each (the best run) and each one's ratio to ripgrep's; the target is >= 0.5x
ripgrep's MB/s on a 1 GB tree with 1,000 vault secrets (``--size 1024``, by hand; ``make bench``
uses less).

    .venv/bin/python benchmarks/scan.py --size 200
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PASSPHRASE, child_env, run_checked, scratch_dir, tokendeck_command  # noqa: E402

KINDS = ("log", "jsonl", "env", "py", "b64")


def pool(rng: random.Random) -> dict[str, bytes]:
    """1 MB of text per kind of file, cut at random offsets into the files."""
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10))) for _ in range(5000)]

    def text(n: int, line: Callable[[], bytes]) -> bytes:
        out = bytearray()
        while len(out) < n:
            out += line()
        return bytes(out[:n])

    def sentence() -> bytes:
        return b" ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))

    def token() -> bytes:
        return base64.b64encode(rng.randbytes(rng.randint(12, 40))).rstrip(b"=")

    def log() -> bytes:
        return b"2026-12-07T10:%02d:%02dZ INFO %s id=%s\n" % (
            rng.randint(0, 59),
            rng.randint(0, 59),
            sentence(),
            token(),
        )

    def jsonl() -> bytes:
        return (
            json.dumps({"role": "assistant", "content": sentence().decode(), "id": token().decode()}).encode() + b"\n"
        )

    def env() -> bytes:
        return b"%s_KEY=%s\n" % (rng.choice(words).upper(), token())

    def py() -> bytes:
        name, arg = rng.choice(words), rng.choice(words)
        return b"    def %s(self, %s):\n        return %s  # %s\n" % (name, arg, arg, sentence())

    def b64() -> bytes:
        return base64.b64encode(rng.randbytes(57)) + b"\n"

    mb = 1 << 20
    return {
        "log": text(mb, log),
        "jsonl": text(mb, jsonl),
        "env": text(mb, env),
        "py": text(mb, py),
        "b64": text(mb, b64),
    }


def build_tree(root: Path, size_mb: int, secrets: list[str], old: list[str], rng: random.Random) -> int:
    texts = pool(rng)
    total, target, n = 0, size_mb << 20, 0
    while total < target:
        kind = rng.choice(KINDS)
        size = min(int(rng.lognormvariate(11.5, 1.2)), 4 << 20, target - total) or 1
        start = rng.randrange(0, max(1, len(texts[kind]) - size))
        data = texts[kind][start : start + size]
        if n % 50 == 0:  # a planted copy now and then
            data += b"\nexport TOKEN=" + rng.choice(secrets + old).encode() + b"\n"
        folder = root / f"d{n % 97:02d}" / f"e{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n}.{kind}").write_bytes(data)
        total += len(data)
        n += 1
    return total


def best(runs: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def command_side(workdir: Path, total: int, secrets: list[str], old: list[str], args: argparse.Namespace,
                 rg_s: float) -> None:  # fmt: skip
    """The command as users run it: ``tokendeck scan DIR`` (this environment's installed script)
    against a passphrase vault holding the same secrets, its agent running; once with the
    current secrets alone, once with as many replaced ones too (each stored, then replaced)."""
    command = tokendeck_command()
    with scratch_dir("scan") as scratch:
        for label, replaced in (
            (f"{len(secrets)} current secrets", []),
            (f"{len(secrets)} + {len(old)} replaced", old),
        ):
            env = child_env(vault_of(scratch / f"home-{len(replaced)}", secrets, replaced), scratch)
            argv = [*command, "scan", str(workdir)]  # as users run it: the default size limit and workers
            lines: list[int] = []
            run_checked([*command, "agent", "start"], env)
            try:
                scan_s = best(args.runs, partial(record, lines, argv, env))
            finally:
                run_checked([*command, "agent", "stop"], env)
            print(
                f"the command, {label}:".ljust(42)
                + f"{total / 1e6 / scan_s:8.0f} MB/s  ({scan_s:.2f} s)  {rg_s / scan_s:.2f}x ripgrep"
                + f"  (findings: {lines[-1]})"
            )


def vault_of(home: Path, secrets: list[str], replaced: list[str]) -> Path:
    """A passphrase vault at ``home`` holding ``secrets``, the first ones stored as ``replaced``
    first (so the vault keeps those values' keyed hashes, as previous values)."""
    from vault.services.opening import init_vault

    made = init_vault(home, mode="passphrase", passphrase=PASSPHRASE)
    try:
        for i, secret in enumerate(secrets):
            if i < len(replaced):
                made.add(f"tok{i:04d}", provider="api-key", token=replaced[i])
            made.add(f"tok{i:04d}", provider="api-key", token=secret, replace=i < len(replaced))
    finally:
        made.close()
    return home


def record(lines: list[int], argv: list[str], env: dict[str, str]) -> None:
    """Run one scan; how many findings it printed goes to ``lines`` (exit 0, 8 or 9; else the
    benchmark stops)."""
    done = subprocess.run(argv, capture_output=True, env=env, check=False)  # noqa: S603 - tokendeck, our own argv
    if done.returncode not in (0, 8, 9):
        sys.exit(f"tokendeck scan exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    lines.append(len(done.stdout.splitlines()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=200, help="MB of files (default 200; the target is at 1024)")
    parser.add_argument("--secrets", type=int, default=1000, help="current secrets (and as many previous values)")
    parser.add_argument("--previous", type=int, help="previous values (keyed hashes; default: as many as --secrets)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side; the best is kept")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="the engine's workers (default: the CPUs; the command uses its own default)",
    )
    parser.add_argument(
        "--engine-only", action="store_true", help="skip the command (a vault, its agent, `tokendeck scan DIR`)"
    )
    parser.add_argument("--dir", help="where to write the tree (kept); default: a temporary folder, removed")
    parser.add_argument(
        "--no-sampled", action="store_true", help="as where no C compiler built the sampled search: Hyperscan alone"
    )
    parser.add_argument(
        "--no-hyperscan", action="store_true", help="as where hyperscan is not installed: the ahocorasick-rs fallback"
    )
    args = parser.parse_args()
    if args.no_hyperscan:
        sys.modules["hyperscan"] = None  # type: ignore[assignment] # import hyperscan then fails, as without it
    if args.no_sampled:
        from vault.core import literals

        literals.available = lambda: False
    rg = shutil.which("rg")
    if rg is None:
        print("scan.py: ripgrep (rg) is not installed (tests/system-deps.sh installs it)", file=sys.stderr)
        return 1
    from vault.core.superseded import digest
    from vault.services.scan_match import Matcher
    from vault.services.scanning import Scan

    rng = random.Random(37)  # noqa: S311 - the same tree every run, not a secret
    secrets = [f"ghp_{base64.b64encode(rng.randbytes(27)).decode()}" for _ in range(args.secrets)]
    old = [
        f"sk-proj-{rng.randbytes(24).hex()}" for _ in range(args.secrets if args.previous is None else args.previous)
    ]
    key = rng.randbytes(32)
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="tokendeck-scan-bench-"))
    try:
        started = time.perf_counter()
        total = build_tree(workdir, args.size, secrets, old, rng)
        os.sync()  # the tree at rest: its writeback to disk is not running beside either side's runs
        print(f"tree: {total / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s at {workdir}")
        needle = secrets[0]
        rg_argv = [rg, "-F", "--no-ignore", "--hidden", "-c", needle, str(workdir)]
        subprocess.run(rg_argv, stdout=subprocess.DEVNULL, check=False)  # warm the page cache
        current = [(f"c{i}", "static token", s) for i, s in enumerate(secrets)]
        previous = [(f"o{i}", "static token", len(s), digest(key, s)) for i, s in enumerate(old)]
        engine = Matcher(current, key, []).engine
        found: list[int] = []

        def scan(matcher: Matcher) -> Callable[[], None]:
            def run() -> None:
                outcome = Scan(matcher, max_size=8 << 20, jobs=args.jobs).run([workdir])
                found.append(len(outcome.findings))

            return run

        print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; engine: {engine}")
        rg_s = best(args.runs, lambda: subprocess.run(rg_argv, stdout=subprocess.DEVNULL, check=False))
        cpus = os.cpu_count()
        print(f"ripgrep -F, one string ({cpus} CPUs):        {total / 1e6 / rg_s:8.0f} MB/s  ({rg_s:.2f} s)")
        # The target's figure: the 1,000 vault secrets (current values), then with the previous values too.
        sides: list[tuple[str, list[tuple[str, str, str]], list[tuple[str, str, int, bytes]]]] = [
            (f"{len(secrets)} current secrets", current, [])
        ]
        if old:
            sides.append((f"{len(secrets)} current + {len(old)} previous", current, previous))
        for label, now, before in sides:
            found.clear()
            scan_s = best(args.runs, scan(Matcher(now, key, before)))
            print(
                f"tokendeck scan, {label}:".ljust(42)
                + f"{total / 1e6 / scan_s:8.0f} MB/s  ({scan_s:.2f} s)  {rg_s / scan_s:.2f}x ripgrep"
                + f"  (findings: {found[-1]})"
            )
        print("target: >= 0.5x ripgrep's MB/s with the 1,000 current secrets")
        if not args.engine_only:
            command_side(workdir, total, secrets, old, args, rg_s)
        # For scale only: ripgrep given the same 1,000 current values (fake ones, in a pattern file
        # the benchmark writes; tokendeck scan never writes one).
        patterns = workdir.parent / f"{workdir.name}.patterns"
        patterns.write_text("\n".join(secrets) + "\n")
        try:
            many_argv = [rg, "-F", "--no-ignore", "--hidden", "-c", "-f", str(patterns), str(workdir)]
            many_s = best(args.runs, lambda: subprocess.run(many_argv, stdout=subprocess.DEVNULL, check=False))
            print(f"(for scale: ripgrep -F -f, {len(secrets)} strings: {total / 1e6 / many_s:.0f} MB/s)")
        finally:
            patterns.unlink()
    finally:
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
