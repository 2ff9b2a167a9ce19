"""A credential's facts as the screens show them (the detail screen, the list's side panel):
every one plain text, none of them a secret."""

from __future__ import annotations

from vault.core.model import COUNTDOWN_STOPPED, MCP_URL_EXTRA, Credential
from vault.core.timefmt import iso, moment, relative
from vault.errors import clipped, printable
from vault.services.consent_setting import asking_words, asks_before_each_use

FACTS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("provider", "Provider"),
    ("kind", "Kind"),
    ("account", "Account"),
    ("server", "MCP server"),
    ("status", "Status"),
    ("consent", "Consent"),
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
    """The facts not shown for ``credential``: the OAuth-only ones for a static token, empty
    extras, the MCP server of one that is not an MCP server's, and consent unless it asks
    before each use."""
    hidden = set() if credential.kind == "oauth" else set(OAUTH_ONLY)
    if not credential.extras:
        hidden.add("extras")
    if not credential.extras.get(MCP_URL_EXTRA):
        hidden.add("server")
    if not asks_before_each_use(credential.extras):
        hidden.add("consent")
    return frozenset(hidden)


def fact_values(credential: Credential, now: float) -> dict[str, str]:
    """Every fact's text at ``now``; all of it is shown as plain text, never markup."""
    c = credential
    if c.refresh_token is None:
        refresh = "none"
    elif c.refresh_expires_at is None:
        refresh = "held; no known expiry"
    else:
        refresh = "held; expires " + moment(c.refresh_expires_at, now)
    status = c.status_at(now)
    last_error = clipped(c.last_error) if c.last_error else "-"  # escaped now: cut before the retry is added
    if c.last_error and c.backing_off(now):  # the backoff every refresher keeps to: when it tries again
        last_error += f" · {c.refresh_failures} in a row; next try {relative(c.retry_at, now)}"
    expires = moment(c.expires_at, now, none="no expiry")
    if status in COUNTDOWN_STOPPED and c.expires_at is not None:
        expires = f"{iso(c.expires_at)} (no longer counts: {status.replace('_', ' ')})"
    facts = {
        "name": c.name,
        "provider": c.provider,
        "kind": c.kind,
        "account": c.account or "-",
        "server": str(c.extras.get(MCP_URL_EXTRA) or "-"),
        "status": status.replace("_", " "),
        "consent": f"{asking_words(c.extras)} (tokendeck confirm {c.name} off)",
        "token_type": c.token_type or "-",
        "scopes": " ".join(c.scopes) or "-",
        "expires": expires,
        "refresh": refresh,
        "last_refreshed": moment(c.last_refreshed_at, now, past=True),
        "last_used": moment(c.last_used_at, now, past=True),
        "last_error": last_error,
        "created": moment(c.created_at, now, past=True),
        "updated": moment(c.updated_at, now, past=True),
        "extras": " ".join(f"{k}={v}" for k, v in c.extras.items()) or "-",
    }
    return {key: printable(value) for key, value in facts.items()}  # an account, extras, a server's error
