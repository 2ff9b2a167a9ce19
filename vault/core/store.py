"""The SQLCipher connection: keying, pragmas, migrations, transactions, errors.

This is the only module that talks to ``sqlcipher3``.  Every database error is
translated here into the :mod:`vault.errors` tree, so callers never see a
driver exception, and none of those messages can carry a secret.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import sqlcipher3

from vault.core.keys import Key
from vault.core.migrations import LATEST_VERSION, MIGRATIONS
from vault.errors import VaultBusy, VaultCorrupt, VaultError, VaultTooNew, WrongPassphrase
from vault.settings import VAULT_BUSY_TIMEOUT

BUSY_TIMEOUT_SECONDS = VAULT_BUSY_TIMEOUT
"""How long a writer waits for another process's write lock before "vault busy" (the budget's
:data:`~vault.settings.VAULT_BUSY_TIMEOUT`; a test shortens it here)."""

KDF_ITER: int | None = None
"""PBKDF2 iterations for passphrase vaults; ``None`` keeps SQLCipher's default.

Only the test suite's one fixture lowers this; the product never sets it.
"""

PAGE_SIZE = 4096
"""SQLCipher 4's page size; a vault file is always a whole number of pages."""

Row: TypeAlias = Any
"""A result row (``sqlcipher3.Row``), indexable by column name."""


def _translate(exc: sqlcipher3.Error) -> VaultError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return VaultBusy("the vault is busy: another tokendeck process is writing; try again")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return VaultCorrupt("the vault file is damaged; restore vault.db from a backup")
    return VaultError(f"vault database error: {exc}")


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except sqlcipher3.Error as exc:
        raise _translate(exc) from None


class Store:
    """An open, unlocked SQLCipher database.

    Thread-safe: one lock serialises use of the single connection, so Textual
    workers may share a store.  Use :meth:`create` or :meth:`open`.
    """

    def __init__(self, conn: sqlcipher3.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # ----------------------------------------------------------------- opening

    @classmethod
    def create(cls, path: Path, key: Key) -> Store:
        """Write the schema into ``path``, an empty file the caller created 0600."""
        conn = _connect(path, key)
        store = cls(conn, path)
        with _mapped():
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
        store._configure()
        store._migrate(0)
        return store

    @classmethod
    def open(cls, path: Path, key: Key) -> Store:
        """Open an existing vault; nothing is written unless a migration is due.

        Raises:
            WrongPassphrase: the key does not decrypt the file, or it is no vault.
            VaultTooNew: the schema is newer than this tokendeck knows.
            VaultCorrupt: the file decrypts but is damaged.
        """
        size = path.stat().st_size
        if size == 0 or size % PAGE_SIZE:
            raise VaultCorrupt(f"{path} is truncated or is not a tokendeck vault ({size} bytes)")
        conn = _connect(path, key)
        try:
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            except sqlcipher3.DatabaseError:
                raise WrongPassphrase() from None
            with _mapped():
                # Checks every page's HMAC (well under a millisecond for a vault),
                # so a damaged file is refused before anything reads or writes it.
                damage = conn.execute("PRAGMA cipher_integrity_check").fetchall()
            if damage:
                raise VaultCorrupt(f"{path} is damaged ({damage[0][0]}); restore it from a backup")
            with _mapped():
                version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                raise WrongPassphrase()
            if version > LATEST_VERSION:
                raise VaultTooNew(
                    f"this vault has schema version {version}, newer than this tokendeck "
                    f"understands ({LATEST_VERSION}); upgrade tokendeck"
                )
            store = cls(conn, path)
            store._configure()
            if version < LATEST_VERSION:
                store._migrate(version)
            return store
        except BaseException:
            conn.close()
            raise

    def _configure(self) -> None:
        with _mapped():
            for pragma in (
                "PRAGMA synchronous = FULL",
                "PRAGMA secure_delete = ON",
                "PRAGMA temp_store = MEMORY",
                "PRAGMA foreign_keys = ON",
            ):
                self._conn.execute(pragma)

    def _migrate(self, version: int) -> None:
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as conn:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number:d}")

    # ------------------------------------------------------------------- using

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlcipher3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): all of it commits, or none.

        Raises:
            VaultBusy: another process kept the write lock past the busy timeout.
        """
        with self._lock, _mapped():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read-only statement and return every row."""
        with self._lock, _mapped():
            return list(self._conn.execute(sql, params).fetchall())

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: it changes when another connection (another process,
        or another ``Store``) commits, and not for this connection's own writes.  Cheap: it reads
        no page, so it can be asked every second."""
        with self._lock, _mapped():
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def write_if_free(self, sql: str, params: Sequence[Any] = ()) -> bool:
        """Run one small write only if no other process holds the write lock.

        For bookkeeping such as "last used" that must never make a read wait.
        Returns whether the write happened.
        """
        with self._lock:
            with _mapped():
                self._conn.execute("PRAGMA busy_timeout = 0")
            try:
                with self.transaction() as conn:
                    conn.execute(sql, params)
                return True
            except VaultBusy:
                return False
            finally:
                with _mapped():
                    self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000):d}")

    def rekey(self, key: Key) -> None:
        """Re-encrypt every page under ``key`` (SQLCipher ``PRAGMA rekey``)."""
        with self._lock, _mapped():
            self._conn.execute(f"PRAGMA rekey = {key.sql_literal()}")

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlcipher3.Error):
            self._conn.close()


def _connect(path: Path, key: Key) -> sqlcipher3.Connection:
    with _mapped():
        conn = sqlcipher3.connect(
            str(path),
            isolation_level=None,
            timeout=BUSY_TIMEOUT_SECONDS,
            check_same_thread=False,
        )
        conn.row_factory = sqlcipher3.Row
        # SQLCipher logs HMAC failures to stderr by default; a wrong passphrase
        # must produce exactly one line, ours.
        conn.execute("PRAGMA cipher_log_level = NONE").fetchall()
        conn.execute(f"PRAGMA key = {key.sql_literal()}")
        if KDF_ITER is not None:
            # Also on raw-key connections: harmless for opening them, and it is the
            # cost a later ``rekey`` to a passphrase will use.
            conn.execute(f"PRAGMA kdf_iter = {int(KDF_ITER):d}")
    return conn
