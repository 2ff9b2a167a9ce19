"""The schema, as named migrations applied in order.

The database's ``PRAGMA user_version`` is the number of migrations applied.  Each
migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the
``user_version`` bump, so a crash leaves the vault at the previous version,
never half way.  Append new migrations; never edit one that has shipped.

Times are POSIX seconds (REAL, UTC).  JSON columns hold lists and objects that
are never secret; every secret has a column of its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step.

    Attributes:
        name: a stable, human name (shown by ``tokendeck show --json`` debugging).
        statements: SQL statements run in order inside one transaction.
    """

    name: str
    statements: tuple[str, ...]


RETENTION_DAYS = 90
"""How long the keyed hash of a replaced secret is kept (``superseded``; docs/scan.md)."""


def _kept(column: str, kind: str, who: str, *, update: bool) -> str:
    """Keep ``OLD.column``'s keyed hash when it is set (and, for an update, changed); drop
    those older than :data:`RETENTION_DAYS`."""
    changed = f"OLD.{column} IS NOT NEW.{column} AND " if update else ""
    insert = "INSERT INTO superseded (credential, kind, length, digest, at)"
    return (
        f"{insert} SELECT {who}, {kind}, length(OLD.{column}), "  # noqa: S608 - fixed names, no input
        f"tokendeck_scan_digest((SELECT key FROM scan_key WHERE id = 1), OLD.{column}), unixepoch('subsec') "
        f"WHERE {changed}OLD.{column} IS NOT NULL AND OLD.{column} != ''; "
        f"DELETE FROM superseded WHERE at < unixepoch('subsec') - {RETENTION_DAYS} * 86400; "
    )


def _trigger(name: str, event: str, table: str, columns: tuple[tuple[str, str], ...], who: str) -> str:
    update = event.startswith("UPDATE")
    body = "".join(_kept(column, kind, who, update=update) for column, kind in columns)
    return f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body}END"


_TOKENS = (
    ("access_token", "CASE OLD.kind WHEN 'static' THEN 'static token' ELSE 'access token' END"),
    ("refresh_token", "'refresh token'"),
)
_CLIENT = (("client_secret", "'client secret'"),)
_CLIENT_WHO = "'client of ' || OLD.provider"


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_initial",
        (
            """
            CREATE TABLE credentials (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                provider TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('oauth', 'static')),
                account TEXT,
                access_token TEXT,
                refresh_token TEXT,
                id_token TEXT,
                token_type TEXT,
                scopes TEXT NOT NULL DEFAULT '[]',
                expires_at REAL,
                refresh_expires_at REAL,
                status TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'needs_login', 'revoked', 'error')),
                last_error TEXT,
                extras TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                last_refreshed_at REAL,
                last_used_at REAL
            )
            """,
            """
            CREATE TABLE client_registrations (
                provider TEXT PRIMARY KEY,
                base TEXT NOT NULL,
                client_id TEXT NOT NULL,
                client_secret TEXT,
                params TEXT NOT NULL DEFAULT '{}',
                overrides TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )
            """,
            """
            CREATE TABLE audit (
                id INTEGER PRIMARY KEY,
                at REAL NOT NULL,
                credential TEXT,
                action TEXT NOT NULL,
                outcome TEXT NOT NULL,
                detail TEXT
            )
            """,
            "CREATE INDEX audit_by_credential ON audit (credential, at)",
            """
            CREATE TABLE export_bindings (
                id INTEGER PRIMARY KEY,
                credential_id INTEGER NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
                target TEXT NOT NULL,
                path TEXT NOT NULL,
                format TEXT NOT NULL,
                key TEXT NOT NULL,
                created_at REAL NOT NULL,
                UNIQUE (credential_id, target, path, key)
            )
            """,
        ),
    ),
    Migration(
        "0002_git_hosts",
        (
            """
            CREATE TABLE git_hosts (
                host TEXT PRIMARY KEY,
                credential_id INTEGER NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
                username TEXT,
                created_at REAL NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "0003_refresh_backoff",
        (
            # Refreshes that keep failing, in a row, and when the next may be tried: the backoff
            # every refresher keeps to (the agent's, the TUI's, a read's), across restarts.
            "ALTER TABLE credentials ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE credentials ADD COLUMN retry_at REAL",
        ),
    ),
    Migration(
        "0004_proxy_ca",
        (
            # The vault's own CA for `tokendeck proxy run` (one row): its certificate is public,
            # its private key a secret like a token, kept here and nowhere on disk.
            """
            CREATE TABLE proxy_ca (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                cert_pem TEXT NOT NULL,
                key_pem TEXT NOT NULL,
                created_at REAL NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "0005_superseded",
        (
            # What `tokendeck scan` looks for besides the current secrets: the secrets a change
            # replaced or deleted, ONLY as HMAC-SHA256 under the vault's own random scan key (kept
            # here, in the encrypted file, and nowhere else), with their length, kind and time;
            # 90 days of them.  The triggers are the one place this is recorded, so every path that
            # replaces a secret (a refresh, a rotation, a new sign-in, add --replace, rm, revoke)
            # keeps it: vault.core.superseded registers the digest function on every connection.
            "CREATE TABLE scan_key (id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL)",
            "INSERT INTO scan_key (id, key) VALUES (1, randomblob(32))",
            """
            CREATE TABLE superseded (
                id INTEGER PRIMARY KEY,
                credential TEXT NOT NULL,
                kind TEXT NOT NULL,
                length INTEGER NOT NULL,
                digest BLOB NOT NULL,
                at REAL NOT NULL
            )
            """,
            "CREATE INDEX superseded_by_length ON superseded (length)",
            _trigger("superseded_tokens", "UPDATE OF access_token, refresh_token", "credentials", _TOKENS, "OLD.name"),
            _trigger("superseded_tokens_deleted", "DELETE", "credentials", _TOKENS, "OLD.name"),
            _trigger("superseded_client", "UPDATE OF client_secret", "client_registrations", _CLIENT, _CLIENT_WHO),
            _trigger("superseded_client_deleted", "DELETE", "client_registrations", _CLIENT, _CLIENT_WHO),
            # A rename keeps its old copies under the new name.
            "CREATE TRIGGER superseded_renamed AFTER UPDATE OF name ON credentials WHEN OLD.name != NEW.name "
            "BEGIN UPDATE superseded SET credential = NEW.name WHERE credential = OLD.name; END",
        ),
    ),
)

LATEST_VERSION = len(MIGRATIONS)
"""The schema version this tokendeck writes."""
