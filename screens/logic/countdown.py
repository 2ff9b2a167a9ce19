"""How urgent a credential looks: the colour of its status, and of the countdown to its
expiry.  Both follow the credential's one status (:meth:`vault.core.model.Credential.status_at`),
so a status word and the countdown beside it never disagree; the list and the detail
screen both show them, from these rules."""

from __future__ import annotations

from typing import Literal

from vault.core.model import COUNTDOWN_STOPPED, Credential, Status
from vault.core.timefmt import expiry

STATUS_COLOURS: dict[Status, str | None] = {
    "active": "text-success",
    "expiring": "text-warning",
    "refresh_due": "text-warning",
    "refresh_failing": "text-warning",
    "held_after_restore": "text-warning",
    "expired": "text-error",
    "needs_login": "text-error",
    "error": "text-error",
    "revoked": None,
}
"""The theme variable that colours each status (``None``: dimmed), so a theme change recolours the table."""

Urgency = Literal["fine", "warning", "danger", "expired", "stopped"]

URGENCY_OF: dict[Status, Urgency] = {
    "active": "fine",
    "expiring": "warning",
    "refresh_due": "warning",
    "refresh_failing": "warning",
    "held_after_restore": "warning",
    "expired": "expired",
    "error": "danger",
    "needs_login": "stopped",
    "revoked": "stopped",
}
"""How urgent the countdown looks for each status."""

URGENCY_COLOURS: dict[Urgency, tuple[str | None, bool]] = {
    "fine": (None, False),
    "warning": ("text-warning", False),
    "danger": ("text-error", False),
    "expired": ("text-error", True),
    "stopped": (None, False),
}
"""Countdown colour (a theme variable) and boldness by urgency."""

STOPPED = "-"
"""The countdown of a revoked or needs-login credential: no token will come from it again."""


def urgency(credential: Credential, now: float) -> Urgency:
    """How urgent the countdown looks: its status's urgency."""
    return URGENCY_OF[credential.status_at(now)]


def expires_text(credential: Credential, now: float) -> str:
    """The Expires cell's words: ``in 4m 12s``, ``3h ago`` or ``no expiry``, as ``tokendeck list``
    says them; ``-`` once the countdown has stopped (revoked, needs login)."""
    if credential.status_at(now) in COUNTDOWN_STOPPED:
        return STOPPED
    return expiry(credential.expires_at, now)


BAR_WIDTH = 5
"""Cells of the lifetime bar beside a countdown (eighths of a cell: 40 steps)."""

TRACK = "░"
"""The bar's empty cells, drawn dimmed, so an empty bar still shows."""

_EIGHTHS = " ▏▎▍▌▋▊▉"


def lifetime_bar(credential: Credential, now: float, width: int = BAR_WIDTH) -> tuple[str, str] | None:
    """A bar that empties as the access token's lifetime runs out: its filled part
    (``███▌``) and its empty track (``░``), ``width`` cells in all; None when there is
    nothing to draw (no expiry, or the countdown has stopped)."""
    if credential.status_at(now) in COUNTDOWN_STOPPED:
        return None
    left = credential.lifetime_left(now)
    if left is None:
        return None
    full, part = divmod(round(left * width * 8), 8)
    filled = "█" * full + (_EIGHTHS[part] if part else "")
    return filled, TRACK * (width - len(filled))
