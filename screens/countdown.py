"""How urgent a credential looks: the colour of its status, and of the countdown to its
expiry.  The list and the detail screen both show them, from these rules."""

from __future__ import annotations

from typing import Literal

from screens.settings import TuiSettings
from vault.core.model import Credential, Status
from vault.core.timefmt import expiry

STATUS_COLOURS: dict[Status, str | None] = {
    "active": "text-success",
    "expiring": "text-warning",
    "expired": "text-error",
    "needs_login": "text-error",
    "error": "text-error",
    "revoked": None,
}
"""The theme variable that colours each status (``None``: dimmed), so a theme change recolours the table."""

Urgency = Literal["expired", "soon", "expiring", "fine", "none"]

URGENCY_COLOURS: dict[Urgency, tuple[str | None, bool]] = {
    "expired": ("text-error", True),
    "soon": ("text-error", False),
    "expiring": ("text-warning", False),
    "fine": (None, False),
    "none": (None, False),
}
"""Countdown colour (a theme variable) and boldness by urgency."""


def urgency(credential: Credential, now: float, settings: TuiSettings) -> Urgency:
    """How urgent the countdown is: expired, under ``soon``, under ``expiring``, fine, or no expiry."""
    if credential.expires_at is None:
        return "none"
    left = credential.expires_at - now
    if left <= 0:
        return "expired"
    if left < settings.soon:
        return "soon"
    if left < settings.expiring:
        return "expiring"
    return "fine"


def expires_text(credential: Credential, now: float) -> str:
    """The Expires cell's words: ``in 4m 12s``, ``3h ago`` or ``no expiry``, as ``tokendeck list`` says them."""
    return expiry(credential.expires_at, now)
