"""Times in and out: ISO 8601 and short durations on the way in, ISO 8601 UTC
and "in 4m 12s" on the way out.

All times inside tokendeck are POSIX seconds (floats, UTC).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

from vault.core.masking import echo
from vault.errors import InvalidInput

LATEST = 253402300799.0
"""9999-12-31T23:59:59Z: the last moment a date can name.  No expiry may lie beyond it, and
a stored time past it (or not a number at all) is shown as it, never a crash."""
EARLIEST = -62135596800.0
"""0001-01-01T00:00:00Z, the first."""


def _echo(ts: float) -> float:
    """``ts`` clamped to the times a date can name (NaN as the latest)."""
    if math.isnan(ts):
        return LATEST
    return min(max(ts, EARLIEST), LATEST)


_DURATION = re.compile(r"(\d+)([wdhms])")
_DURATION_ONLY = re.compile(r"(\d+[wdhms])+")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> float:
    """Parse ``90d``, ``12h``, ``1h30m``, ``2w`` into seconds.

    Raises:
        InvalidInput: when the text is not a positive duration.
    """
    compact = text.strip().lower()
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise InvalidInput(f"not a duration: {echo(text)} (try 90d, 12h or 1h30m)")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise InvalidInput(f"duration must be positive: {echo(text)}")
    if seconds > LATEST:
        raise InvalidInput(f"duration too long: {echo(text, limit=40)} (it would end after 9999-12-31)")
    return float(seconds)


def parse_when(text: str, now: float) -> float:
    """Parse a point in time given on the command line.

    Accepts an ISO 8601 date (``2026-12-31``, read as midnight UTC, the cautious
    reading for an expiry), an ISO 8601 date-time (``2026-12-31T12:00:00Z``; a
    time without an offset is UTC), or a duration from ``now`` (``90d``).

    Raises:
        InvalidInput: when the text is none of those.
    """
    stripped = text.strip()
    if _DURATION_ONLY.fullmatch(stripped.lower()):
        return check_when(now + parse_duration(stripped))
    try:
        if len(stripped) == 10:
            day = date.fromisoformat(stripped)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise InvalidInput(
            f"not a date, time or duration: {echo(text)} (try 2026-12-31, 2026-12-31T12:00:00Z or 90d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return check_when(moment.timestamp())


def check_when(ts: float) -> float:
    """A point in time a date can name: finite, and not after 9999-12-31.

    Raises:
        InvalidInput: it is not.
    """
    if not math.isfinite(ts) or ts > LATEST:
        raise InvalidInput("that time is after 9999-12-31; give an earlier one")
    return ts


def iso(ts: float | None) -> str | None:
    """Format POSIX seconds as ISO 8601 UTC with a ``Z`` (``None`` stays ``None``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(_echo(ts)), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_text(seconds: float) -> str:
    """A span for a person: ``4m 12s``, ``2h``, ``3d 4h``."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours and days < 7 else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def relative(ts: float | None, now: float) -> str:
    """Say how far ``ts`` is from ``now`` for a person: ``in 4m 12s``, ``2h ago``."""
    if ts is None:
        return "never"
    delta = _echo(ts) - now
    if delta >= 0:
        return f"in {duration_text(delta)}"
    return f"{duration_text(-delta)} ago"


def expiry(ts: float | None, now: float, *, human: bool = True) -> str:
    """How an expiry reads: ``in 4m 12s`` (or ``3h ago``) for a person, ISO 8601 UTC for a
    program, and ``no expiry`` when there is none."""
    if ts is None:
        return "no expiry"
    return relative(ts, now) if human else iso(ts) or ""


def moment(ts: float | None, now: float, none: str = "never", *, past: bool = False) -> str:
    """A moment as ISO 8601 UTC and relative to now: ``2026-05-28T21:26:40Z (in 4m 12s)``.

    Args:
        past: the moment is something that happened (a refresh, a use), so within
            a second of now it is ``just now`` rather than ``in 0s``.
    """
    if ts is None:
        return none
    if past and abs(now - ts) < 1:
        return f"{iso(ts)} (just now)"
    return f"{iso(ts)} ({relative(ts, now)})"
