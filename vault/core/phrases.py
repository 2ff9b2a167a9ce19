"""How a credential's status reads in a sentence ("gh needs a new sign-in"), for every front end's messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: scan's summary line needs no credential model
    from vault.core.model import Status

PHRASES: dict[Status, str] = {
    "active": "is active",
    "expiring": "expires soon",
    "refresh_due": "is due for a refresh",
    "refresh_failing": "keeps failing to refresh",
    "held_after_restore": "waits for your word after a restore",
    "expired": "has expired",
    "needs_login": "needs a new sign-in",
    "revoked": "was revoked",
    "error": "holds no usable token",
}
"""Each status as the verb phrase after a credential's name; tests/test_one_place.py keeps it to
:data:`~vault.core.model.STATUSES`."""


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files``: a count and its noun (``many`` when not ``one`` + s)."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def said(name: str, status: Status) -> str:
    """``name`` and its status as a clause: ``"gh was revoked"``."""
    return f"{name} {PHRASES[status]}"
