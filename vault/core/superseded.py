"""The secrets a change replaced, kept ONLY as keyed hashes, for ``tokendeck scan`` to tell an old
copy of a token from a stranger's string (docs/scan.md).

The vault holds a random 32-byte scan key (table ``scan_key``, inside the encrypted file and
nowhere else).  When a change replaces or deletes an access token, a refresh token, a static
token or a client secret, the migration's triggers (:mod:`vault.core.migrations`,
``0005_superseded``: the one place it is recorded, whatever path made the change) store
HMAC-SHA256(scan key, old value) with its length, its kind and the time, for
:data:`~vault.core.migrations.RETENTION_DAYS` days.  The digest is computed by
:func:`digest`, registered on every connection of the store as ``tokendeck_scan_digest``.
A part of :class:`~vault.core.repository.Repository` (``repository.superseded``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from vault.core.secret import Secret

FUNCTION = "tokendeck_scan_digest"
"""The SQL name of :func:`digest` (the triggers call it)."""


def digest(key: bytes | Secret, value: str | bytes) -> bytes:
    """HMAC-SHA256 of ``value`` (UTF-8) under the scan key."""
    raw_key = key.reveal().encode("latin-1") if isinstance(key, Secret) else key
    data = value.encode() if isinstance(value, str) else value
    return hmac.digest(raw_key, data, "sha256")  # one call into OpenSSL: a scan may hash 100,000 runs


def _sql_digest(key: Any, value: Any) -> bytes | None:
    if not isinstance(key, bytes) or not isinstance(value, str | bytes):
        return None
    return digest(key, value)


def register(conn: Any) -> None:
    """Make :func:`digest` callable from SQL on ``conn`` (every connection that may write)."""
    conn.create_function(FUNCTION, 2, _sql_digest, deterministic=True)


@dataclass(frozen=True)
class Previous:
    """One replaced secret: whose, what kind, how long it was, its keyed hash, when replaced."""

    credential: str
    kind: str
    length: int
    digest: bytes
    at: float


class Superseded:
    """The replaced secrets' hashes and the scan key, on the repository's store."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def scan_key(self) -> Secret:
        """The vault's scan key (as latin-1 text in a :class:`Secret`, so it never prints)."""
        rows = self._store.query("SELECT key FROM scan_key WHERE id = 1")
        return Secret(bytes(rows[0]["key"]).decode("latin-1"))

    def entries(self) -> list[Previous]:
        """Every kept hash, newest first."""
        rows = self._store.query("SELECT credential, kind, length, digest, at FROM superseded ORDER BY at DESC, id")
        return [Previous(r[0], r[1], int(r[2]), bytes(r[3]), float(r[4])) for r in rows]
