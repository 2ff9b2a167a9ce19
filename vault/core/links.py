"""What points at a credential: the files its token is exported to in plaintext (re-written
on every refresh) and the git hosts it answers for.  A part of
:class:`~vault.core.repository.Repository` (``repository.links``); each change commits with
its audit row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vault.core.clock import Clock
from vault.core.masking import echo
from vault.core.store import Store
from vault.errors import NotFound


@dataclass(frozen=True)
class ExportBinding:
    """A plaintext copy of a credential's token in a file, re-written on every refresh."""

    credential: str
    target: str
    path: str
    key: str
    options: dict[str, Any]
    created_at: float


class CredentialLinks:
    """Export bindings and git hosts, on the repository's store.

    Args:
        store: the repository's open database.
        clock: its time source.
        audit: writes one audit row inside a transaction (the repository's, so the masking
            of secrets is the same).
    """

    def __init__(
        self, store: Store, clock: Clock, audit: Callable[[Any, str | None, str, str, str | None], None]
    ) -> None:
        self._store = store
        self.clock = clock
        self._audit = audit

    # --------------------------------------------------------- export bindings

    def add_export_binding(self, name: str, *, target: str, path: str, key: str, options: Mapping[str, Any]) -> None:
        """Remember that ``name``'s token is written in plaintext at ``path`` (re-written on refresh).

        ``options`` (never secret) are what the target needs to write it again; they
        are kept as JSON in the table's ``format`` column.
        """
        with self._store.transaction() as conn:
            row = conn.execute("SELECT id FROM credentials WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"no credential named {echo(name)}")
            conn.execute(
                """
                INSERT INTO export_bindings (credential_id, target, path, format, key, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (credential_id, target, path, key) DO UPDATE SET format = excluded.format
                """,
                (row["id"], target, path, json.dumps(dict(options), sort_keys=True), key, self.clock.now()),
            )
            self._audit(conn, name, "export", "bound", f"target={target} path={path} key={key}")

    def export_bindings(self, name: str | None = None) -> list[ExportBinding]:
        """Plaintext export bindings (of ``name``, or all), by credential, target and path."""
        where = "WHERE c.name = ?" if name is not None else ""
        rows = self._store.query(
            "SELECT c.name AS credential, b.target, b.path, b.key, b.format, b.created_at "  # noqa: S608 - fixed
            f"FROM export_bindings b JOIN credentials c ON c.id = b.credential_id {where} "
            "ORDER BY c.name, b.target, b.path, b.key",
            (name,) if name is not None else (),
        )
        return [
            ExportBinding(r["credential"], r["target"], r["path"], r["key"], json.loads(r["format"]), r["created_at"])
            for r in rows
        ]

    def remove_export_bindings(self, name: str, *, target: str, path: str) -> int:
        """Forget ``name``'s bindings of ``target`` at ``path``; returns how many there were."""
        with self._store.transaction() as conn:
            removed = int(
                conn.execute(
                    "DELETE FROM export_bindings WHERE target = ? AND path = ? AND credential_id = "
                    "(SELECT id FROM credentials WHERE name = ?)",
                    (target, path, name),
                ).rowcount
            )
            if removed:
                self._audit(conn, name, "unexport", "ok", f"target={target} path={path}")
        return removed

    # -------------------------------------------------------------- git hosts

    def map_git_host(self, host: str, name: str, username: str | None = None) -> None:
        """Answer git's credential requests for ``host`` with ``name``'s token (replacing any mapping)."""
        with self._store.transaction() as conn:
            row = conn.execute("SELECT id FROM credentials WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"no credential named {echo(name)}")
            conn.execute(
                "INSERT INTO git_hosts (host, credential_id, username, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (host) DO UPDATE SET credential_id = excluded.credential_id, username = excluded.username",
                (host, row["id"], username, self.clock.now()),
            )
            self._audit(conn, name, "git-host", "mapped", f"host={host}")

    def git_hosts(self, host: str | None = None) -> list[tuple[str, str, str | None]]:
        """``(host, credential, username)`` for every mapped git host (or just ``host``)."""
        where = "WHERE g.host = ?" if host is not None else ""
        rows = self._store.query(
            "SELECT g.host, c.name, g.username FROM git_hosts g "  # noqa: S608 - fixed text
            f"JOIN credentials c ON c.id = g.credential_id {where} ORDER BY g.host",
            (host,) if host is not None else (),
        )
        return [(r["host"], r["name"], r["username"]) for r in rows]

    def unmap_git_host(self, host: str) -> bool:
        with self._store.transaction() as conn:
            removed = conn.execute("DELETE FROM git_hosts WHERE host = ?", (host,)).rowcount
            if removed:
                self._audit(conn, None, "git-host", "unmapped", f"host={host}")
        return bool(removed)
