"""Time as a dependency: everything that asks "what time is it" takes a clock.

Tests and the TUI's snapshot tests freeze it; nothing in tokendeck sleeps to let
time pass.
"""

from __future__ import annotations

import time
from typing import Protocol


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
