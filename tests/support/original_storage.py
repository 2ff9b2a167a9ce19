"""A stand-in for the plaintext ``TokenStorage`` tokendeck replaces, for the differential
test, written from its documented contract (issue 14) and corrected where a run of the real
class on real SQLAlchemy (issue 29) showed it wrong.  It behaves as the original did:

- SQLite tables ``jira_tokens`` and ``gdrive_tokens`` with the original's columns, its
  NOT NULL rules (no token, no ``server_url``, no Drive access token: ``False``) and no
  other check: a Jira token that is empty or has a space, an empty ``server_url``, a Drive
  credential without a client id are all stored (``True``);
- user ids in a text column: an integer is stored as its text (``42`` as ``'42'``, SQLite's
  TEXT affinity) and found again by ``42`` or ``'42'``;
- user ids listed in byte order: the original's ``SELECT user_id`` had no ``ORDER BY``,
  and SQLite answered it from the column's unique index (BINARY collation), so
  ``'' < '42' < 'Alice@...' < 'Zoë' < 'alice@...'``, whatever the order of insertion;
- ``True``/``False``/``None``/``[]`` instead of exceptions, naive UTC ``datetime`` values,
  ``None`` scopes when there are none, ``token[:20] + "..."`` previews.

It also writes the plaintext file the replacement imports (:mod:`vault.integrations.
plaintext_import`), so that import is tested against the same schema.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials

SCHEMA = """
CREATE TABLE IF NOT EXISTS jira_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user_id VARCHAR NOT NULL UNIQUE, token VARCHAR NOT NULL,
    server_url VARCHAR NOT NULL, username VARCHAR, created_at DATETIME, updated_at DATETIME);
CREATE TABLE IF NOT EXISTS gdrive_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user_id VARCHAR NOT NULL UNIQUE, token VARCHAR NOT NULL,
    refresh_token VARCHAR, token_uri VARCHAR, client_id VARCHAR, client_secret VARCHAR, scopes TEXT,
    expiry DATETIME, created_at DATETIME, updated_at DATETIME);
"""


class OriginalTokenStorage:
    """The original's behaviour, call for call; ``now`` gives its ``datetime.utcnow()``."""

    def __init__(self, path: Path, now: Callable[[], datetime]) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.executescript(SCHEMA)
        self._now = now

    def close(self) -> None:
        self._conn.close()

    def _row(self, table: str, user_id: object) -> sqlite3.Row | None:
        """The user's row; None when there is none, or on any error (as the original logged and did)."""
        self._conn.row_factory = sqlite3.Row
        try:
            rows = self._conn.execute(f"SELECT * FROM {table} WHERE user_id = ?", (user_id,)).fetchall()  # noqa: S608
        except (sqlite3.Error, TypeError, ValueError):
            return None
        return rows[0] if rows else None

    def _upsert(self, table: str, user_id: object, values: dict[str, Any]) -> bool:
        try:
            now = self._now().isoformat(" ")
            if self._row(table, user_id) is not None:
                sets = ", ".join(f"{k} = ?" for k in values)
                self._conn.execute(
                    f"UPDATE {table} SET {sets}, updated_at = ? WHERE user_id = ?",  # noqa: S608
                    (*values.values(), now, user_id),
                )
            else:
                columns = ", ".join(["user_id", *values, "created_at", "updated_at"])
                marks = ", ".join("?" * (len(values) + 3))
                self._conn.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                    (user_id, *values.values(), now, now),
                )
            return True
        except (sqlite3.Error, TypeError, ValueError):
            return False

    def _delete(self, table: str, user_id: object) -> bool:
        try:
            return self._conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,)).rowcount > 0  # noqa: S608
        except (sqlite3.Error, TypeError, ValueError):
            return False

    def _users(self, table: str) -> list[str]:
        """As the original listed them: its query had no ``ORDER BY``, and SQLite answered it from
        the ``UNIQUE`` index on ``user_id`` (the smaller, covering one), so in that index's BINARY
        collation: UTF-8 byte order.  Written out here so the order does not rest on the planner
        (:func:`original_query` is the original's query, for a test that the two agree)."""
        return [r[0] for r in self._conn.execute(f"SELECT user_id FROM {table} ORDER BY user_id COLLATE BINARY")]  # noqa: S608

    def original_query(self, table: str) -> list[str]:
        """The original's own listing query, ``SELECT user_id`` with no ``ORDER BY``."""
        return [r[0] for r in self._conn.execute(f"SELECT user_id FROM {table}")]  # noqa: S608

    # ------------------------------------------------------------------- Jira

    def upsert_jira_token(self, user_id: str, token: str, server_url: str, username: str | None = None) -> bool:
        return self._upsert("jira_tokens", user_id, {"token": token, "server_url": server_url, "username": username})

    def get_jira_token(self, user_id: str) -> dict[str, Any] | None:
        row = self._row("jira_tokens", user_id)
        if row is None:
            return None
        return {
            "user_id": row["user_id"],
            "token": row["token"],
            "server_url": row["server_url"],
            "username": row["username"],
            "created_at": datetime.fromisoformat(row["created_at"]),
            "updated_at": datetime.fromisoformat(row["updated_at"]),
        }

    def delete_jira_token(self, user_id: str) -> bool:
        return self._delete("jira_tokens", user_id)

    def list_users_with_jira_tokens(self) -> list[str]:
        return self._users("jira_tokens")

    # ----------------------------------------------------------- Google Drive

    def upsert_gdrive_token(self, user_id: str, credentials: Credentials) -> bool:
        values = {
            "token": credentials.token,
            "refresh_token": credentials.refresh_token,
            "token_uri": credentials.token_uri,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "scopes": json.dumps(credentials.scopes) if credentials.scopes else None,
            "expiry": credentials.expiry.isoformat(" ") if credentials.expiry else None,
        }
        return self._upsert("gdrive_tokens", user_id, values)

    def get_gdrive_credentials(self, user_id: str) -> Credentials | None:
        row = self._row("gdrive_tokens", user_id)
        if row is None:
            return None
        credentials = Credentials(
            token=row["token"],
            refresh_token=row["refresh_token"],
            token_uri=row["token_uri"],
            client_id=row["client_id"],
            client_secret=row["client_secret"],
            scopes=json.loads(row["scopes"]) if row["scopes"] else None,
        )
        if row["expiry"]:
            credentials.expiry = datetime.fromisoformat(row["expiry"])
        return credentials

    def get_gdrive_token_info(self, user_id: str) -> dict[str, Any] | None:
        row = self._row("gdrive_tokens", user_id)
        if row is None:
            return None
        return {
            "user_id": row["user_id"],
            "token": row["token"][:20] + "...",
            "has_refresh_token": row["refresh_token"] is not None,
            "scopes": json.loads(row["scopes"]) if row["scopes"] else None,
            "expiry": datetime.fromisoformat(row["expiry"]) if row["expiry"] else None,
            "created_at": datetime.fromisoformat(row["created_at"]),
            "updated_at": datetime.fromisoformat(row["updated_at"]),
        }

    def delete_gdrive_token(self, user_id: str) -> bool:
        return self._delete("gdrive_tokens", user_id)

    def list_users_with_gdrive_tokens(self) -> list[str]:
        return self._users("gdrive_tokens")
