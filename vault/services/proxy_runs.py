"""The runs of ``tokendeck proxy run``, read out of the audit log: the one rule ``tokendeck proxy
runs``, ``tokendeck audit --run ID`` and the TUI's "Proxy runs" dialog share.

A run writes its rows with ``run=ID`` (eight hex digits of its own) last in their detail:
``proxy-run`` ``started`` (``command=NAME allow=CRED,... run=ID``) and ``ended``
(``command=NAME exit=N run=ID``), and a ``proxy`` row per substitution or refusal
(``host=... method=... path=... command=NAME run=ID``, outcome ``substituted``, ``refused`` or
``unauthenticated``).  A run with no ``ended`` row is running, or was ended without one (the
process killed): nothing in the log tells the two apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vault.core.model import AuditEvent
from vault.core.records import Records
from vault.core.timefmt import duration_text, iso, relative
from vault.errors import InvalidInput, NotFound, printable

RUN_ACTIONS = ("proxy-run", "proxy")
"""The actions a run's rows carry."""

_RUN = re.compile(r"(?:^| )run=([0-9a-f]{8})$")
_STARTED = re.compile(r"^command=(.*) allow=(\S*) run=[0-9a-f]{8}$")
_ENDED = re.compile(r"^command=(.*) exit=(-?\d+) run=[0-9a-f]{8}$")
RUN_ID = re.compile(r"[0-9a-f]{8}")
COLUMNS = ["RUN", "STARTED", "COMMAND", "ALLOWED", "TOOK", "EXIT", "SUBSTITUTED", "REFUSED"]


@dataclass
class ProxyRun:
    """One run as its audit rows tell it."""

    id: str
    started_at: float | None = None
    ended_at: float | None = None
    first_at: float = 0.0
    """When its first row still in the log was written (its start, unless that was pruned)."""
    command: str | None = None
    allowed: tuple[str, ...] = ()
    exit: int | None = None
    substituted: int = 0
    refused: int = 0
    """Requests refused: the placeholder bound for a host it may not go to, over plain http, and
    connections without the run's proxy credentials."""

    @property
    def running(self) -> bool:
        """No end is recorded (still running, or killed before it could write one)."""
        return self.ended_at is None

    def took(self, now: float) -> float | None:
        """Seconds from its start to its end (to ``now`` while running); None with no start."""
        if self.started_at is None:
            return None
        return (self.ended_at if self.ended_at is not None else now) - self.started_at

    def public(self, now: float) -> dict[str, Any]:
        """JSON-ready, its text escaped."""
        took = self.took(now)
        return {
            "run": self.id,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "running": self.running,
            "seconds": None if took is None else int(took),
            "command": None if self.command is None else printable(self.command),
            "allowed": [printable(name) for name in self.allowed],
            "exit": self.exit,
            "substituted": self.substituted,
            "refused": self.refused,
        }

    def cells(self, now: float, *, human: bool) -> list[str]:
        """Its line's cells under :data:`COLUMNS` (times relative to ``now`` for a person)."""
        took = self.took(now)
        took_text = "?" if took is None else duration_text(max(took, 0))
        when = relative(self.started_at, now) if human else iso(self.started_at)
        return [
            self.id,
            (when if self.started_at is not None else "?") or "?",
            self.command or "?",
            ",".join(self.allowed) or "-",
            f"running {took_text}" if self.running else took_text,
            "-" if self.exit is None else str(self.exit),
            str(self.substituted),
            str(self.refused),
        ]


def run_of(event: AuditEvent) -> str | None:
    """The run an audit row belongs to, if it is one of a run's."""
    if event.action not in RUN_ACTIONS or not event.detail:
        return None
    found = _RUN.search(event.detail)
    return found.group(1) if found else None


def _read(run: ProxyRun, event: AuditEvent) -> None:
    detail = event.detail or ""
    run.first_at = min(run.first_at, event.at) if run.first_at else event.at
    if event.action == "proxy-run" and event.outcome == "started" and (m := _STARTED.match(detail)):
        run.started_at, run.command = event.at, m.group(1)
        run.allowed = tuple(name for name in m.group(2).split(",") if name)
    elif event.action == "proxy-run" and event.outcome == "ended" and (m := _ENDED.match(detail)):
        run.ended_at, run.command, run.exit = event.at, run.command or m.group(1), int(m.group(2))
    elif event.action == "proxy":
        if event.outcome == "substituted":
            run.substituted += 1
        elif event.outcome in ("refused", "unauthenticated"):
            run.refused += 1
        if run.command is None and (m := re.search(r"(?:^| )command=(.*) run=", detail)):
            run.command = m.group(1)


def runs(records: Records, *, limit: int | None = None) -> list[ProxyRun]:
    """The runs in the audit log, newest first (the newest ``limit`` when given)."""
    found: dict[str, ProxyRun] = {}
    for event in records.audit_log(actions=RUN_ACTIONS):
        run_id = run_of(event)
        if run_id is not None:
            _read(found.setdefault(run_id, ProxyRun(run_id)), event)
    ordered = sorted(found.values(), key=lambda r: r.started_at or r.first_at, reverse=True)
    return ordered[:limit] if limit is not None else ordered


def check_run_id(run_id: str) -> str:
    """``run_id`` as ``proxy runs`` prints it (lower case).

    Raises:
        InvalidInput: it is not eight hex digits (exit 2).
    """
    run_id = run_id.lower()
    if not RUN_ID.fullmatch(run_id):
        raise InvalidInput("--run takes a run's id: eight hex digits, as tokendeck proxy runs shows them")  # not echoed
    return run_id


def run_events(records: Records, run_id: str) -> list[AuditEvent]:
    """Every row of run ``run_id`` still in the log, oldest first.

    Raises:
        InvalidInput: a malformed id (exit 2); NotFound: no row of that run (exit 5).
    """
    run_id = check_run_id(run_id)
    events = [e for e in records.audit_log(actions=RUN_ACTIONS) if run_of(e) == run_id]
    if not events:
        raise NotFound(f"no proxy run {run_id} in the audit log: tokendeck proxy runs lists them")
    return events


def runs_report(records: Records, *, limit: int | None, as_json: bool, human: bool) -> tuple[str, str]:
    """What ``tokendeck proxy runs`` prints: (stdout, stderr)."""
    from vault.services.listing import table

    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    now = records.clock.now()
    found = runs(records, limit=limit)
    if as_json:
        return json.dumps([r.public(now) for r in found], indent=2, ensure_ascii=False) + "\n", ""
    if not found:
        return "", "tokendeck: no proxy run in the audit log (tokendeck proxy run starts one)\n"
    rows = [r.cells(now, human=human) for r in found]
    if human:
        return table([COLUMNS, *rows]), ""
    return "".join("\t".join(printable(cell) for cell in row) + "\n" for row in rows), ""  # a cell may hold spaces
