"""What a restored vault must not do by itself: replay a refresh token that may be spent.

A backup holds each OAuth credential's refresh token as it was when the backup was made.  A
provider that rotates refresh tokens hands out a new one at every refresh and treats the old
one coming back as theft (RFC 9700 §4.14.2): it refuses it and revokes the whole grant, the
copy still in use on another machine included.  So a restore marks every OAuth credential it
brings back with a refresh token (:data:`RESTORED_EXTRA`, an extra older tokendecks keep and
ignore), and nothing refreshes a marked credential by itself (the background refresher, a read,
the agent, the library): its access token is handed out while it is valid, and a refresh needs
the user's word (``tokendeck refresh NAME``, the TUI's ``r`` after a question) or a new sign-in,
either of which clears the mark.

A credential is left unmarked only where the vault the restore replaces proves its token
unused since: it holds the very same refresh token.  One that vault refreshed after the backup
was made is named at restore time (its backup token is spent for sure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model reads RESTORED_EXTRA, and must not load SQLCipher for it
    from vault.core.store import Store

RESTORED_EXTRA = "restored_from_backup"
"""The extra of an OAuth credential a restore brought back whose refresh token may have been
used since the backup: ``{"backup_made": ISO 8601 time, "spent": bool}`` (``spent``: the vault it
replaced had refreshed it since, so its refresh token is used for sure)."""


@dataclass(frozen=True)
class Replaced:
    """One credential of the vault a restore replaces, as far as the hold needs it (its refresh
    token is compared, never shown)."""

    refresh_token: str | None
    last_refreshed_at: float | None
    held: bool = False
    """It waits for the user itself (restored earlier, never confirmed): no proof of anything."""


Replacing = dict[str, Replaced] | None
"""The vault a restore replaces, by credential name (None: there is none, or it cannot be read)."""


@dataclass(frozen=True)
class Held:
    """What a restore held: every marked credential, and those of them the replaced vault had
    refreshed after the backup was made (their backup refresh tokens are spent)."""

    names: tuple[str, ...] = ()
    spent: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    """Not marked: the replaced vault holds the very same refresh token."""


def hold_reason(name: str, made: str, *, spent: bool) -> str:
    """Why ``name`` waits for the user (its ``last_error`` and the error a refresh raises)."""
    if spent:
        why = "the vault it replaced had refreshed it since, so its refresh token is spent"
    else:
        why = "its refresh token may have been used since"
    return (
        f"restored from a backup of {made}; {why}, and a provider that rotates refresh tokens revokes the "
        f"whole grant when a used one comes back: run tokendeck refresh {name} if this copy is the one in use, "
        "or sign in again"
    )


def hold(store: Store, made: str, made_at: float | None, replaced: Replacing) -> Held:
    """Mark every active OAuth credential in ``store`` (a restored copy, not yet in place) that
    holds a refresh token, unless ``replaced`` (the vault it replaces, when it could be read)
    holds the same refresh token for it.

    Args:
        made: when the backup was made, as the messages say it.
        made_at: the same time, to compare with the replaced vault's ``last_refreshed_at``.
    """
    rows = store.query(
        "SELECT name, refresh_token, extras FROM credentials "
        "WHERE kind = 'oauth' AND status = 'active' AND refresh_token IS NOT NULL AND refresh_token != ''"
    )
    held: list[str] = []
    spent: list[str] = []
    unchanged: list[str] = []
    with store.transaction() as conn:
        for row in rows:
            name = row["name"]
            now = (replaced or {}).get(name)
            if now is not None and not now.held and now.refresh_token == row["refresh_token"]:
                unchanged.append(name)
                continue
            used = now is not None and (
                (now.refresh_token is not None and now.refresh_token != row["refresh_token"])
                or (made_at is not None and now.last_refreshed_at is not None and now.last_refreshed_at > made_at)
            )
            extras = json.loads(row["extras"] or "{}")
            extras[RESTORED_EXTRA] = {"backup_made": made, "spent": used}
            conn.execute(
                "UPDATE credentials SET extras = ?, last_error = ? WHERE name = ?",
                (json.dumps(extras), hold_reason(name, made, spent=used), name),
            )
            held.append(name)
            if used:
                spent.append(name)
    return Held(tuple(held), tuple(spent), tuple(unchanged))


def read_replaced(store: Store) -> dict[str, Replaced]:
    """The vault a restore replaces, as :func:`hold` compares it."""
    rows = store.query("SELECT name, refresh_token, last_refreshed_at, extras FROM credentials WHERE kind = 'oauth'")
    return {
        row["name"]: Replaced(
            row["refresh_token"], row["last_refreshed_at"], RESTORED_EXTRA in json.loads(row["extras"] or "{}")
        )
        for row in rows
    }
