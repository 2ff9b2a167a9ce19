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
)

LATEST_VERSION = len(MIGRATIONS)
"""The schema version this tokendeck writes."""
