"""Moving a plaintext ``TokenStorage`` file into the vault, once.

Code written against the original ``TokenStorage`` names its store (``db_url``,
``db_file``, ``db_engine``, or by default ``./tokens.db``).  When that names an existing
SQLite file with the original's tables (``jira_tokens``, ``gdrive_tokens``), the
replacement imports it:

- read-only: the file is never written, locked for writing, or deleted;
- each row whose user has no record in the vault yet is stored, with its own
  ``created_at`` / ``updated_at`` (a record already in the vault always wins: the file
  is older than anything written since the switch);
- once per file: the import is recorded in the vault's audit log (the file's absolute
  path, never its contents), so a record deleted later is not brought back by the next
  start;
- every start while the file exists logs a warning that it still holds the tokens in
  plaintext, naming the command that destroys it: ``shred -u PATH``.

A row the original stored but that is odd (a token that is empty or has whitespace, an
empty ``server_url``, a Drive row without a client id) is imported as ``upsert_*`` stores it,
with the same warning line.  A row that cannot be imported (a Jira token over 64 KiB, a
Drive token URI that is neither https nor loopback http) is skipped and counted in the
warning.  Nothing about a row is logged but the name of its credential.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from vault.core.model import Credential
from vault.core.outside import load_json
from vault.core.secret import Secret
from vault.errors import InvalidInput, VaultError
from vault.services.imports import Incoming, Skipped
from vault.services.tokens import Vault


class ImportingStore(Protocol):
    """What the import needs of :class:`vault.integrations.compat.TokenStorage` (a protocol, as
    that module imports this one; one class is named ``TokenStorage``, the one users import)."""

    @property
    def vault(self) -> Vault: ...

    def _find(self, prefix: str, field: str, key: str) -> Credential | None: ...

    @property
    def _write_jira(self) -> Callable[..., tuple[str, list[str]]]:
        """:meth:`vault.integrations.compat.TokenStorage._write_jira` (its arguments, and ``at=``)."""

    @property
    def _write_gdrive(self) -> Callable[..., tuple[str, list[str]]]:
        """:meth:`vault.integrations.compat.TokenStorage._write_gdrive` (likewise)."""


log = logging.getLogger("vault.compat")

DEFAULT_FILE = "tokens.db"
"""The original's store when it is given none: ``./tokens.db``."""
IMPORT_EVENT = "compat-import"
"""The audit action (and its ``credential`` column) that marks a file as imported."""


def plaintext_store(db_url: str | None, db_file: Any, db_engine: Any) -> Path | None:
    """The file the original would have used, by its priority (engine, URL, file, default),
    when that is an SQLite file; None for anything else (said in the log)."""
    if db_engine is not None:
        database = getattr(getattr(db_engine, "url", None), "database", None)
        return Path(database).resolve() if isinstance(database, str) and database else None
    if db_url is not None:
        scheme, sep, rest = str(db_url).partition(":///")
        if not sep or not scheme.startswith("sqlite") or rest in ("", ":memory:"):
            log.warning("TokenStorage: %s is not an SQLite file; only the vault is used", scheme or "db_url")
            return None
        return Path(rest).resolve()
    return Path(db_file if db_file is not None else DEFAULT_FILE).resolve()


def import_once(storage: ImportingStore, path: Path) -> None:
    """Import ``path`` into ``storage``'s vault unless it was imported before; warn while it exists."""
    if not path.is_file():
        return
    try:
        rows = read_rows(path)
    except sqlite3.Error:
        return  # not the original's store (or not SQLite at all): nothing to import
    if rows is None:
        return
    vault = storage.vault
    where = str(path)
    if not any(e.detail == where for e in vault.records.audit_log(credential=IMPORT_EVENT)):
        imported, skipped = _store(storage, *rows)
        vault.records.record(IMPORT_EVENT, "ok", credential=IMPORT_EVENT, detail=where)
        log.warning("TokenStorage: imported %d records from %s into the vault (%d skipped)", imported, path, skipped)
    log.warning(
        "TokenStorage: %s still holds tokens in plaintext; they are in the encrypted vault now. Delete it: shred -u %s",
        path,
        path,
    )


def read_rows(path: Path) -> tuple[list[sqlite3.Row], list[sqlite3.Row]] | None:
    """The Jira and Drive rows, oldest first; None when the file has neither table.

    Raises:
        sqlite3.Error: not an SQLite file.
    """
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables & {"jira_tokens", "gdrive_tokens"}:
            return None
        jira = list(conn.execute("SELECT * FROM jira_tokens ORDER BY id")) if "jira_tokens" in tables else []
        drive = list(conn.execute("SELECT * FROM gdrive_tokens ORDER BY id")) if "gdrive_tokens" in tables else []
        return jira, drive
    finally:
        conn.close()


def _store(
    storage: ImportingStore, jira: list[sqlite3.Row], drive: list[sqlite3.Row], *, warn: bool = True
) -> tuple[int, int]:
    """Store the rows whose users have no record yet: how many were stored, and skipped.  With
    ``warn``, a warning line for each odd one (``tokendeck import`` says it in its plan instead)."""
    from vault.integrations.keyed import GDRIVE_PREFIX, JIRA_PREFIX

    imported = skipped = 0
    for row in jira:
        if storage._find(JIRA_PREFIX, "user_id", row["user_id"]) is not None:
            continue
        try:
            times = (_when(row["created_at"]), _when(row["updated_at"]))
            name, odd = storage._write_jira(row["user_id"], row["token"], row["server_url"], row["username"], at=times)
            imported += 1
        except (VaultError, TypeError, ValueError):
            skipped += 1
            continue
        if odd and warn:
            log.warning("TokenStorage: imported %s, but %s", name, "; ".join(odd))
    for row in drive:
        if storage._find(GDRIVE_PREFIX, "user_id", row["user_id"]) is not None:
            continue
        try:
            name, odd = storage._write_gdrive(
                row["user_id"],
                token=row["token"],
                refresh_token=row["refresh_token"],
                id_token=None,
                scopes=load_json(row["scopes"]) if row["scopes"] else (),
                expiry=datetime.fromisoformat(row["expiry"]) if row["expiry"] else None,
                client=(row["client_id"], row["client_secret"], row["token_uri"]),
                at=(_when(row["created_at"]), _when(row["updated_at"])),
            )
            imported += 1
        except (VaultError, TypeError, ValueError):
            skipped += 1
            continue
        if odd and warn:
            log.warning("TokenStorage: imported %s, but %s", name, "; ".join(odd))
    return imported, skipped


def incoming(jira: list[sqlite3.Row], drive: list[sqlite3.Row]) -> Iterator[Incoming | Skipped]:
    """The rows as an import plan's records (names, providers, accounts, and what is odd about
    each: what the plan shows), checked by the rules :mod:`vault.compat` stores them by
    (:mod:`vault.integrations.compat_rules`), so the plan skips only what it would not store."""
    from vault.integrations.compat_rules import gdrive_oddities, jira_oddities
    from vault.integrations.keyed import GDRIVE_PREFIX, JIRA_PREFIX, JIRA_PROVIDER, credential_name

    for table, prefix, rows in (("jira_tokens", JIRA_PREFIX, jira), ("gdrive_tokens", GDRIVE_PREFIX, drive)):
        for row in rows:
            origin = f"{table} row {row['id']}"
            user = row["user_id"]
            if not isinstance(user, str):
                yield Skipped(origin, "the user id is not text")
                continue
            try:
                if prefix == JIRA_PREFIX:
                    token, provider, account = row["token"], JIRA_PROVIDER, row["username"]
                    odd = jira_oddities(token, row["server_url"])
                else:
                    token, provider, account = row["token"] or row["refresh_token"], "google", None
                    odd = gdrive_oddities(row["token"], row["refresh_token"], row["client_id"], row["client_secret"])
            except InvalidInput as exc:
                yield Skipped(origin, exc.message)
                continue
            note = f": {'; '.join(odd)}" if odd else ""
            yield Incoming(
                credential_name(prefix, user),
                provider,
                Secret(token or ""),
                account,
                {"user_id": user},
                f"{origin} (user {user}){note}",
                token_checked=True,
            )


def migrate(
    storage: ImportingStore, path: Path, rows: tuple[list[sqlite3.Row], list[sqlite3.Row]], names: set[str]
) -> int:
    """Store the rows whose records are ``names`` (replacing those already there) and mark the
    file imported, in one transaction: every one of them, or none.

    Raises:
        VaultError: a row could not be stored; nothing was imported.
    """
    from vault.integrations.keyed import GDRIVE_PREFIX, JIRA_PREFIX, credential_name

    jira = [r for r in rows[0] if isinstance(r["user_id"], str) and credential_name(JIRA_PREFIX, r["user_id"]) in names]
    drive = [
        r for r in rows[1] if isinstance(r["user_id"], str) and credential_name(GDRIVE_PREFIX, r["user_id"]) in names
    ]
    vault = storage.vault
    with vault.records.all_or_nothing():
        for name in names:
            if vault.records.exists(name):
                vault.remove(name)
        imported, skipped = _store(storage, jira, drive, warn=False)  # the plan said what is odd
        if skipped or imported != len(names):
            raise VaultError(f"{len(names) - imported} rows of {path} could not be stored; nothing was imported")
        vault.records.record(IMPORT_EVENT, "ok", credential=IMPORT_EVENT, detail=str(path))
    return imported


def _when(text: str | None) -> float:
    """The original's naive UTC ``DateTime`` text as POSIX seconds."""
    if not text:
        return datetime.now(UTC).timestamp()
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
