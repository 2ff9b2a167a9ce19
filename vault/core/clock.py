"""Time as a dependency: everything that asks "what time is it" takes a clock.

Tests and the TUI's snapshot tests freeze it; nothing in tokendeck sleeps to let
time pass.
"""

from __future__ import annotations

import random
import time
from typing import Protocol

from vault.settings import MIN_REFRESH_SPACING, REFRESH_BACKOFF_CEILING, RETRY_AFTER_CEILING


class Clock(Protocol):
    """Something that tells the current time as POSIX seconds (UTC)."""

    def now(self) -> float: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        return time.time()


class FrozenClock:
    """A clock that only moves when told to.

    Args:
        at: the POSIX time it starts at.
    """

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.at += seconds


def next_refresh_try(
    failures: int, now: float, *, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """When a credential whose refreshes failed ``failures`` times in a row may be tried again:
    the spacing doubled for each failure after the first, up to the ceiling
    (:data:`~vault.settings.REFRESH_BACKOFF_CEILING`), give or take a fifth at random, so that
    many credentials failing together do not all come back at once; never sooner than a
    provider's ``Retry-After`` (up to :data:`~vault.settings.RETRY_AFTER_CEILING`).  The one
    backoff rule every refresher keeps to."""
    doubled = MIN_REFRESH_SPACING * 2.0 ** min(max(failures - 1, 0), 30)
    wait = min(doubled, REFRESH_BACKOFF_CEILING) * (rng or _jitter).uniform(0.8, 1.2)
    if retry_after is not None and retry_after > 0:
        wait = max(wait, min(retry_after, RETRY_AFTER_CEILING))
    return now + wait


_jitter = random.Random()  # noqa: S311 - jitter, not cryptography
