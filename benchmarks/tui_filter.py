"""A filter keystroke in the TUI, to the updated screen (issue 15, item 2), headless through
Textual's Pilot: the same keystrokes at 1,000 and 10,000 credentials against 10 (the anchor: what a
keystroke costs Pilot and Textual with almost no rows).  Three kinds of keystroke: one that
keeps every row, one that narrows to a tenth, and a backspace that widens back to all.
Each is timed twice: wall time to the updated screen (Pilot's own waits included, which
is most of the anchor), and the CPU time this process spent on it (the work itself).

Run: ``.venv/bin/python benchmarks/tui_filter.py [--runs N]``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_runs, print_preamble, scratch_dir  # noqa: E402

SIZES = (10, 1000, 10_000)
"""The anchor first."""
KEEPS, NARROWS = "cred-00", "1"
"""Typed after ``/``: ``cred-00`` keeps every row; then ``1`` keeps a tenth (``cred-001..``)."""


async def keystrokes(home: Path, runs: int) -> dict[str, tuple[float, float]]:
    import vault
    from screens.main import make_app

    v = vault.open_vault(home, "bench")
    app = make_app(v, start_agent=False)
    samples: dict[str, list[tuple[float, float]]] = {"keeps all": [], "narrows": [], "widens": []}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        await pilot.press("slash")
        for _ in range(runs):
            for kind, key in (*(("keeps all", ch) for ch in KEEPS), ("narrows", NARROWS)):
                start, cpu = time.perf_counter(), time.process_time()
                await pilot.press(key)
                await pilot.pause()
                samples[kind].append(((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000))
            start, cpu = time.perf_counter(), time.process_time()
            await pilot.press("backspace")
            await pilot.pause()
            samples["widens"].append(((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000))
            for _ in KEEPS:
                await pilot.press("backspace")
            await pilot.pause()
    v.close()
    return {
        kind: (statistics.median(wall for wall, _ in values), statistics.median(cpu for _, cpu in values))
        for kind, values in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    runs = parse_runs(__doc__, argv, default=5, what="rounds of keystrokes")
    print_preamble("a filter keystroke in the TUI")
    from agent import make_vault  # the same vault shape as the agent benchmark

    with scratch_dir("tui-filter") as scratch:
        medians = {}
        for size in SIZES:
            home = scratch / f"home-{size}"
            make_vault(home, size)
            medians[size] = asyncio.run(keystrokes(home, runs))
    for kind in medians[SIZES[0]]:
        small, small_cpu = medians[SIZES[0]][kind]
        for size in SIZES[1:]:
            large, large_cpu = medians[size][kind]
            print(f"filter keystroke that {kind:9}: {large:6.0f} ms at {size:>6,} vs {small:5.0f} ms at {SIZES[0]} "
                  f"(+{large - small:.0f} ms, {large / small:.2f}x); target <= 50 ms at 1,000")  # fmt: skip
            print(f"  of which CPU          : {large_cpu:6.0f} ms at {size:>6,} vs {small_cpu:5.0f} ms at {SIZES[0]} "
                  f"(+{large_cpu - small_cpu:.0f} ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
