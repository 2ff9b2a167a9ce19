"""Every benchmark, one after another, and their results in ``benchmarks/RESULTS.md``:
the date, this machine's description, and each script's own output (its ratios against
the anchor it measures in the same run).  ``make bench`` runs this.

Run: ``.venv/bin/python benchmarks/run_all.py [--quick]`` (``--quick``: fewer repetitions,
for a look, not for the record).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"

BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("cli_latency.py", [], ["--runs", "5"]),
    ("cold_refresh.py", ["--runs", "25"], ["--runs", "5"]),
    ("agent.py", [], ["--runs", "3"]),
    ("agent_load.py", [], ["--runs", "5"]),
    ("agent_writes.py", [], ["--runs", "5"]),
    ("exec.py", [], ["--runs", "5"]),
    ("refresh.py", ["--repeats", "5"], ["--count", "100", "--repeats", "1"]),
    ("signin.py", [], ["--runs", "3"]),
    ("mcp_bridge.py", [], ["--calls", "30"]),
    ("proxy.py", [], ["--requests", "300"]),
    ("session.py", [], ["--runs", "2"]),
    ("tui_filter.py", [], ["--runs", "2"]),
    ("scan.py", ["--size", "200"], ["--size", "50", "--runs", "1"]),
    ("tui.py", ["--terminal", "pty", "--idle", "20", "--idle-runs", "2"], ["--terminal", "pty", "--idle", "5"]),
    (
        "tui.py",
        ["--count", "10000", "--terminal", "pty", "--runs", "3", "--idle", "20", "--idle-runs", "1"],
        ["--count", "10000", "--terminal", "pty", "--runs", "1", "--idle", "5", "--idle-runs", "1"],
    ),
    (
        "tui.py",
        ["--terminal", "tmux", "--runs", "1", "--idle", "20", "--idle-runs", "2"],
        ["--terminal", "tmux", "--runs", "1", "--idle", "5", "--idle-runs", "1"],
    ),
]
"""(script, its arguments for the record, its arguments with ``--quick``)."""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.system()} {platform.release()} ({platform.machine()}), {os.cpu_count()} CPUs: {cpu}; "
        f"Python {platform.python_version()}; load average at start {load}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (not for the record)")
    args = parser.parse_args(argv)
    sections = [
        "# Benchmark results\n",
        f"Run on {time.strftime('%Y-%m-%d %H:%M %Z')} with `make bench`{' (--quick)' if args.quick else ''}.\n",
        f"Machine: {machine()}.\n",
        "Each script measures its anchor in the same run; compare the ratios, not the milliseconds.\n",
    ]
    failed = []
    for script, full, quick in BENCHMARKS:
        argv_ = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        if "tmux" in argv_ and shutil.which("tmux") is None:
            sections.append(f"## `{script} {' '.join(argv_[2:])}`\n\nskipped: tmux is not installed.\n")
            continue
        print(f"== {script}", flush=True)
        start = time.monotonic()
        done = subprocess.run(argv_, capture_output=True, text=True, check=False)  # noqa: S603 - our own scripts
        took = time.monotonic() - start
        print(done.stdout[-2000:], flush=True)
        if done.returncode != 0:
            failed.append(script)
            print(done.stderr[-2000:], file=sys.stderr)
        shown = " ".join(argv_[2:])
        sections.append(
            f"## `{script}{' ' + shown if shown else ''}` ({took:.0f} s{', FAILED' if done.returncode else ''})\n\n"
            f"```text\n{done.stdout.strip()}\n```\n"
        )
    RESULTS.write_text("\n".join(sections))
    print(f"wrote {RESULTS}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
