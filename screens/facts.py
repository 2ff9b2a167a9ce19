"""A credential's facts as the screens show them (the detail screen, the list's side panel):
every one plain text, none of them a secret."""

from __future__ import annotations

from vault.core.model import COUNTDOWN_STOPPED, Credential
from vault.core.timefmt import iso, relative

FACTS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("provider", "Provider"),
    ("kind", "Kind"),
    ("account", "Account"),
    ("status", "Status"),
    ("token_type", "Token type"),
    ("scopes", "Scopes"),
    ("expires", "Expires"),
    ("refresh", "Refresh token"),
    ("last_refreshed", "Last refresh"),
    ("last_used", "Last used"),
    ("last_error", "Last error"),
    ("created", "Created"),
    ("updated", "Updated"),
    ("extras", "Extras"),
)
"""(key, label) of each fact, in display order; the value widget's id is ``fact-<key>``."""

OAUTH_ONLY = frozenset({"token_type", "refresh"})
"""Facts that mean nothing for a static token, so are hidden for one (as are empty extras)."""


def hidden_facts(credential: Credential) -> frozenset[str]:
    """The facts not shown for ``credential``: the OAuth-only ones for a static token, and empty extras."""
    hidden = set() if credential.kind == "oauth" else set(OAUTH_ONLY)
    if not credential.extras:
        hidden.add("extras")
    return frozenset(hidden)


def when(ts: float | None, now: float, none: str = "never", *, past: bool = False) -> str:
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


def fact_values(credential: Credential, now: float) -> dict[str, str]:
    """Every fact's text at ``now``; all of it is shown as plain text, never markup."""
    c = credential
    if c.refresh_token is None:
        refresh = "none"
    elif c.refresh_expires_at is None:
        refresh = "held; no known expiry"
    else:
        refresh = "held; expires " + when(c.refresh_expires_at, now)
    status = c.status_at(now)
    expires = when(c.expires_at, now, none="no expiry")
    if status in COUNTDOWN_STOPPED and c.expires_at is not None:
        expires = f"{iso(c.expires_at)} (no longer counts: {status.replace('_', ' ')})"
    return {
        "name": c.name,
        "provider": c.provider,
        "kind": c.kind,
        "account": c.account or "-",
        "status": status.replace("_", " "),
        "token_type": c.token_type or "-",
        "scopes": " ".join(c.scopes) or "-",
        "expires": expires,
        "refresh": refresh,
        "last_refreshed": when(c.last_refreshed_at, now, past=True),
        "last_used": when(c.last_used_at, now, past=True),
        "last_error": c.last_error or "-",
        "created": when(c.created_at, now, past=True),
        "updated": when(c.updated_at, now, past=True),
        "extras": " ".join(f"{k}={v}" for k, v in c.extras.items()) or "-",
    }
