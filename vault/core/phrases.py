"""How a credential's status reads in a sentence ("gh needs a new sign-in"), for every front end's messages."""

from __future__ import annotations

from vault.core.model import Status

PHRASES: dict[Status, str] = {
    "active": "is active",
    "expiring": "expires soon",
    "refresh_due": "is due for a refresh",
    "refresh_failing": "keeps failing to refresh",
    "expired": "has expired",
    "needs_login": "needs a new sign-in",
    "revoked": "was revoked",
    "error": "holds no usable token",
}
"""Each status as the verb phrase after a credential's name; tests/test_one_place.py keeps it to
:data:`~vault.core.model.STATUSES`."""


def said(name: str, status: Status) -> str:
    """``name`` and its status as a clause: ``"gh was revoked"``."""
    return f"{name} {PHRASES[status]}"
