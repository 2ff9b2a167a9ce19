"""``tokendeck scan [PATH...]``: find copies of the vault's secrets, current and previous, in files
and git history; print where, never what (docs/scan.md).

The vault (the agent, else opened here) hands this process what to look for
(:mod:`vault.services.scan_requests`); the walk and the matching run here
(:mod:`vault.services.scanning`, :mod:`vault.services.scan_match`), in memory only.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vault.cli import route, terminal
from vault.core.phrases import counted
from vault.errors import InvalidInput, printable

if TYPE_CHECKING:
    from vault.services.scan_match import Matcher
    from vault.services.scanning import Finding, Outcome

FOUND_OLD = 8
"""Exit code: only old (replaced) copies were found (:data:`vault.errors.EXIT_CODES`)."""
FOUND_LIVE = 9
"""Exit code: a copy of a current secret was found."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "scan",
        help="find copies of the vault's secrets (current and previous) in files and git history",
        description="Find exact copies of the vault's current secrets and of the previous values of replaced "
        "ones in files (raw, in JSON strings, URL-encoded, base64 of user:token) and in the git objects of "
        "repositories under them. With none: shell histories, ~/.netrc, agent transcripts, MCP "
        "configs and .env files under your home. Prints where, never the secret.",
        epilog="exit codes: 0 nothing found; 8 only old (replaced) copies; 9 a live copy; 2 a FILE_OR_DIR that does "
        "not exist; 3 locked; 130 interrupted (what was found so far is printed)",
    )
    p.add_argument("paths", nargs="*", metavar="FILE_OR_DIR", help="files or folders (default: the usual places)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout: findings, skipped, counts")
    p.add_argument(
        "--max-size", type=int, metavar="MB", help="skip files larger than this many MB (default 64)", default=None
    )
    p.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        default=None,
        help="workers reading files: threads, or processes once the vault keeps replaced values "
        "(default: the CPUs, at most 4)",
    )
    p.add_argument(
        "--fix",
        action="store_true",
        help="then, for each live copy, offer the fixes that fit (rotate, revoke and sign in, rewrite the config, "
        "remove the line, scrub the history), each asked y/N; needs a terminal",
    )
    p.set_defaults(handler=cmd_scan)


def cmd_scan(args: argparse.Namespace) -> int:
    from vault.core.masking import echo
    from vault.services.scanning import MAX_SIZE, home_places

    if args.max_size is not None and args.max_size < 1:
        raise InvalidInput("--max-size must be at least 1 (MB)")
    if args.jobs is not None and not 1 <= args.jobs <= 64:
        raise InvalidInput("--jobs must be between 1 and 64")
    if args.fix and (args.json or not terminal.interactive()):
        raise InvalidInput("--fix asks before each change: run it at a terminal, without --json; nothing was changed")
    jobs = args.jobs or min(os.cpu_count() or 1, 4)
    if args.paths:
        missing = [p for p in args.paths if not os.path.lexists(p)]
        if missing:
            raise InvalidInput(f"no such file or folder: {echo(missing[0])}")
        places = [Path(os.path.abspath(p)) for p in args.paths]
    else:
        places = home_places(Path.home())
    max_size = args.max_size * 1024 * 1024 if args.max_size else MAX_SIZE
    with route.Route() as way:
        material = route.data(way.command("scan-material"))
        outcome, matcher = _scan(material, places, max_size, jobs)
        live = sum(1 for f in outcome.findings if f.live)
        with _uninterrupted():
            way.command(
                "scan-done",
                places=len(places),
                files=outcome.files + outcome.objects,
                findings=len(outcome.findings),
                live=live,
                interrupted=outcome.interrupted,
            )
        _print(outcome, places, as_json=bool(args.json), engine=matcher.engine)
        findings = outcome.findings
        if args.fix and not outcome.interrupted and live:
            from vault.cli.scan_fix import fix_all

            fix_all(way, findings, matcher)
            findings = _after_fixes(way, findings, max_size, jobs)
            live = sum(1 for f in findings if f.live)
    if outcome.interrupted:
        return 130
    return FOUND_LIVE if live else FOUND_OLD if findings else 0


def _after_fixes(way: route.Route, findings: list[Finding], max_size: int, jobs: int) -> list[Finding]:
    """The files that held copies, scanned again for what the vault holds now (a rotated token's
    copy is old now, a removed line gone): what is left, said in one line; the exit code is its."""
    material = route.data(way.command("scan-material"))
    held = sorted({Path(f.path) for f in findings})
    again, _ = _scan(material, held, max_size, jobs)
    live = sum(1 for f in again.findings if f.live)
    old = counted(len(again.findings) - live, "old copy", "old copies")
    terminal.notice(f"after the fixes: {live} live and {old} in the {counted(len(held), 'place')} that held them")
    return again.findings


def _scan(material: dict[str, object], places: list[Path], max_size: int, jobs: int) -> tuple[Outcome, Matcher]:
    from vault.services.scan_match import matcher_of
    from vault.services.scanning import Scan

    matcher = matcher_of(material)
    del material
    # What was imported and built lives until the command exits: kept out of every later garbage
    # collection, the last one (at exit) included, which went through all of it (about 6 ms).
    gc.freeze()
    progress = _Progress() if sys.stderr.isatty() else None
    outcome = Scan(matcher, max_size=max_size, jobs=jobs, progress=progress).run(places)
    if progress is not None:
        progress.clear()
    return outcome, matcher


class _Progress:
    """One line on a terminal's stderr, rewritten at most five times a second."""

    def __init__(self) -> None:
        self._last = 0.0
        self._shown = False

    def __call__(self, outcome: Outcome) -> None:
        now = time.monotonic()
        if now - self._last >= 0.2:
            self._last, self._shown = now, True
            objects = counted(outcome.objects, "git object")
            line = f"scanning: {counted(outcome.files, 'file')}, {objects}, {_mb(outcome.bytes)}"
            sys.stderr.write(f"\r{line[:78]}\x1b[K")
            sys.stderr.flush()

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


class _uninterrupted:  # noqa: N801 - a context manager, used as one
    """Hold a second Ctrl+C off while the audit row is written."""

    def __enter__(self) -> None:
        import signal

        self._old = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        import signal

        signal.signal(signal.SIGINT, self._old)


def _where(f: Finding) -> str:
    if f.git_object:
        return f"{f.path} (git object {f.git_object[:12]} {f.object_path})"
    return f"{f.path}:{f.line}"


def _print(outcome: Outcome, places: list[Path], *, as_json: bool, engine: str) -> None:
    live = sum(1 for f in outcome.findings if f.live)
    if as_json:
        terminal.print_json(
            {
                "findings": [f.as_dict() for f in outcome.findings],
                "skipped": [{"path": p, "reason": r} for p, r in outcome.skipped],
                "unreadable": [{"path": p, "reason": r} for p, r in outcome.unreadable],
                "places": len(places),
                "files": outcome.files,
                "binaries": outcome.binaries,
                "repositories": outcome.repositories,
                "git_objects": outcome.objects,
                "bytes": outcome.bytes,
                "live": live,
                "old": len(outcome.findings) - live,
                "interrupted": outcome.interrupted,
                "engine": engine,
            }
        )
    else:
        for f in outcome.findings:
            state = "LIVE" if f.live else "old"
            print(printable(f"{_where(f)}: {f.credential} {f.kind} ({state}, {f.form})"))
        for path, why in outcome.skipped:
            terminal.notice(f"skipped {path}: {why}")
    if outcome.unreadable:
        reasons = sorted({r for _p, r in outcome.unreadable})
        terminal.notice(
            f"{counted(len(outcome.unreadable), 'file or folder', 'files or folders')} could not be read "
            f"({', '.join(reasons)[:120]})" + ("" if as_json else f"; the first: {outcome.unreadable[0][0]}")
        )
    repositories = counted(outcome.repositories, "repository", "repositories")
    scanned = counted(outcome.files, "file") + (
        f" and {counted(outcome.objects, 'git object')} in {repositories}" if outcome.repositories else ""
    )
    old = len(outcome.findings) - live
    found = f"{live} live and {counted(old, 'old copy', 'old copies')}" if outcome.findings else "no copies"
    summary = f"{found} in {scanned} ({_mb(outcome.bytes)})"  # fits 80 columns up to a million files
    terminal.notice(f"interrupted: {summary} so far" if outcome.interrupted else summary)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
