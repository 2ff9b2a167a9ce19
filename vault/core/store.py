"""The SQLCipher connection: keying, pragmas, migrations, transactions, errors.

This is the only module that talks to ``sqlcipher3``.  Every database error is
translated here into the :mod:`vault.errors` tree, so callers never see a
driver exception, and none of those messages can carry a secret.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, Literal, TypeAlias, TypeVar

import sqlcipher3

from vault.core import faults
from vault.core.keys import DatabaseKey
from vault.core.migrations import LATEST_VERSION, MIGRATIONS
from vault.core.sqlerrors import check_pages, check_version, mapped, translate
from vault.core.superseded import register as register_digest
from vault.core.walfiles import remove_unused_wal, wal_has_frames
from vault.errors import VaultBusy, VaultCorrupt, VaultError, VaultUnusable
from vault.settings import VAULT_BUSY_TIMEOUT

BUSY_TIMEOUT_SECONDS = VAULT_BUSY_TIMEOUT
"""How long a writer waits for another process's write lock before "vault busy" (the budget's
:data:`~vault.settings.VAULT_BUSY_TIMEOUT`; a test shortens it here)."""

PAGE_SIZE = 4096
"""SQLCipher 4's page size; a vault file is always a whole number of pages."""

Row: TypeAlias = Any
"""A result row (``sqlcipher3.Row``), indexable by column name."""

T = TypeVar("T")


class _Work(Generic[T]):
    """One thread's part of a shared commit (:meth:`Store.grouped`): what to run, and how it went."""

    __slots__ = ("done", "error", "result", "run")

    def __init__(self, run: Callable[[sqlcipher3.Connection], T]) -> None:
        self.run = run
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None


class Store:
    """An open, unlocked SQLCipher database.

    Thread-safe: one lock serialises use of the connection, so Textual workers and the
    refresher's pool may share a store.  A read that finds the connection busy in another
    thread (a commit waiting for its fsync) goes to a second connection instead, opened the
    first time that happens (:meth:`query`).  Use :meth:`create` or :meth:`open`.
    """

    def __init__(self, conn: sqlcipher3.Connection, path: Path, key: DatabaseKey, read_only: str | None = None) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._key: DatabaseKey | None = key
        """For the second connection; None while a re-key is under way."""
        self._reader: sqlcipher3.Connection | None = None
        self._reader_lock = threading.Lock()
        self._queued: list[_Work[Any]] = []
        self._queue_lock = threading.Lock()
        self.path = path
        self.salt = key.salt
        """The file's SQLCipher salt (not secret): a re-key keeps it."""
        self.read_only = read_only
        """Why this store cannot be written, when it was opened immutable."""
        self._verified = False
        self.commits = 0
        """This store's own commits so far, but those of audit rows alone: with
        :meth:`data_version` (everyone else's), what tells a cache of decoded rows that it is stale."""
        self.wrote = False
        """A write of this store's has been committed (durably) since it was opened."""
        self.write_problem: str | None = None
        """Why its last write failed, when it failed for the disk (full, failing, read-only);
        None once one succeeds."""

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # ----------------------------------------------------------------- opening

    @classmethod
    def create(cls, path: Path, key: DatabaseKey) -> Store:
        """Write the schema into ``path``, an empty file the caller created 0600."""
        conn = _connect(path, key)
        store = cls(conn, path, key)
        with mapped():
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
        store._configure()
        store._migrate(0)
        return store

    @staticmethod
    def probe(path: Path, key: DatabaseKey, *, immutable: bool = False) -> Literal["ok", "undecryptable", "unreadable"]:
        """Whether ``key`` opens ``path``, asked on a read-only connection, which writes neither
        the database nor its WAL and never checkpoints on close: a refusal leaves every file as
        it was.  ``immutable`` also reads no WAL and takes no lock (for a disk that cannot take
        the WAL index: see :meth:`open`).  ``unreadable``: the OS or SQLite could not read the
        files at all (the caller finds out why).

        Every page it reads is HMAC-checked (SQLCipher does that on every read); the check of
        every page is :meth:`verify`'s, before the first write.

        Raises:
            VaultTooNew: the schema is newer than this tokendeck knows.
        """
        fresh = not os.path.exists(f"{path}-wal") and not os.path.exists(f"{path}-shm")
        try:
            conn = _connect(path, key, mode="ro&immutable=1" if immutable else "ro")
        except VaultError:
            return "unreadable"
        proven = False
        try:
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            except sqlcipher3.OperationalError:
                return "unreadable"
            except sqlcipher3.DatabaseError:
                return "undecryptable"
            check_version(conn)
            proven = True
            return "ok"
        finally:
            conn.close()
            if fresh and not proven:
                remove_unused_wal(path)

    @classmethod
    def open(cls, path: Path, key: DatabaseKey, *, read_only: str | None = None) -> Store:
        """Open a vault whose key :meth:`probe` has proven; nothing is written but SQLite's own
        checkpoint of committed WAL frames, and a migration when one is due.

        With ``read_only`` (why the files cannot be written: a full disk, a read-only file
        system) the vault is opened immutable: reads work, a write says ``read_only``, and
        bookkeeping (:meth:`write_if_free`) is skipped.

        Raises:
            VaultTooNew: the schema is newer than this tokendeck knows.
            VaultCorrupt: the file decrypts but is damaged.
        """
        conn = _connect(path, key, mode="ro&immutable=1" if read_only else None)
        try:
            with mapped():
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            if read_only is None and wal_has_frames(path):
                # verify() reads the file's pages: bring them up to date first (after a re-key
                # cut short, the file's pages are still under the old key).
                with contextlib.suppress(sqlcipher3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            version = check_version(conn)
            store = cls(conn, path, key, read_only)
            if read_only is None:
                store._configure()
                if version < LATEST_VERSION:
                    store._migrate(version)
            return store
        except BaseException:
            conn.close()
            raise

    def _configure(self) -> None:
        with mapped():
            for pragma in (
                "PRAGMA synchronous = FULL",
                "PRAGMA secure_delete = ON",
                "PRAGMA temp_store = MEMORY",
                "PRAGMA foreign_keys = ON",
            ):
                self._conn.execute(pragma)
            register_digest(self._conn)  # the superseded-secret triggers call it

    def _migrate(self, version: int) -> None:
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as conn:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number:d}")

    # ------------------------------------------------------------------- using

    def verify(self) -> None:
        """Check every page's HMAC (``cipher_integrity_check``), once per store: before its
        first write, and when the agent starts.  A read needs no such check: SQLCipher checks
        each page it reads, so a read cannot return damaged data, and the ``token`` path's
        cost does not grow with the vault.  The trade-off: a damaged page that nothing reads
        is found at the next write, or the next agent start, not at every open.

        Raises:
            VaultCorrupt: a page is damaged; nothing was written.
        """
        if not self._verified:
            with self._lock:
                check_pages(self._conn, self.path)
            self._verified = True

    @contextlib.contextmanager
    def transaction(self, *, bookkeeping: bool = False, audit_only: bool = False) -> Iterator[sqlcipher3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): all of it commits, or none.  The first
        one :meth:`verify`-s the file, unless it is ``bookkeeping`` (one small update of a row
        just read, and so just checked).  Inside another in this thread it is a savepoint:
        what raises is undone alone, and nothing commits until the outer one does.  One that is
        ``audit_only`` (it writes audit rows and nothing else) is not counted in :attr:`commits`:
        the rows a cache decoded are the same after it.

        Raises:
            VaultBusy: another process kept the write lock past the busy timeout.
            VaultCorrupt: the file is damaged; nothing was written.
        """
        if self.read_only is not None:
            raise VaultUnusable(f"{self.read_only}; nothing was changed")
        if not bookkeeping:
            self.verify()
        with self._lock, mapped():
            if self._conn.in_transaction:  # this thread's own (it holds the lock): nested
                self._conn.execute("SAVEPOINT nested")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK TO nested")
                    raise
                finally:
                    self._conn.execute("RELEASE nested")
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException as exc:
                self._undo(exc)
                raise
            faults.reached("commit")
            try:
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._undo(exc)
                raise
            self.commits += 0 if audit_only else 1
            self.wrote, self.write_problem = True, None
            faults.reached("committed")

    def _undo(self, exc: BaseException) -> None:
        """After a write transaction failed: roll it back (SQLite may have already: a full disk
        or an I/O error ends it), and remember a failure of the disk, not of a busy lock."""
        if self._conn.in_transaction:
            with contextlib.suppress(sqlcipher3.Error):
                self._conn.execute("ROLLBACK")
        if isinstance(exc, sqlcipher3.Error):
            failure = translate(exc)
            if not isinstance(failure, VaultBusy):
                self.write_problem = failure.message

    def probe_write(self) -> None:
        """A durable write that changes nothing (the schema version, written again, and
        committed with its fsync): whether the vault can be written now.

        Raises:
            VaultUnusable, VaultError: it cannot (a full disk, a failing one); VaultBusy.
        """
        with self.transaction(bookkeeping=True) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute(f"PRAGMA user_version = {version}")

    def grouped(self, run: Callable[[sqlcipher3.Connection], T]) -> T:
        """``run(conn)`` in a write transaction shared with what other threads hand in meanwhile:
        one commit, and so one fsync, for all of them (a group commit).  Each part runs in a
        savepoint of its own, so one that raises is undone alone and raises in its own thread;
        every part returns only after the commit that made it durable.

        While one thread commits, the others queue; the next to take the connection commits
        everything queued.  For many small independent writes at once: the background
        refresher's saves, where one fsync each was the floor under a run's time.

        Raises:
            VaultBusy, VaultCorrupt, VaultUnusable: as :meth:`transaction` (for every part).
        """
        if self.read_only is not None:
            raise VaultUnusable(f"{self.read_only}; nothing was changed")
        self.verify()
        if self._lock.acquire(blocking=False):  # free, or held by this thread (the lock is re-entrant)
            try:
                if self._conn.in_transaction:  # this thread's own transaction: a part of it, and
                    with self.transaction(bookkeeping=True) as conn:  # never a commit of others' work
                        return run(conn)
            finally:
                self._lock.release()
        work = _Work(run)
        with self._queue_lock:
            self._queued.append(work)
        with self._lock:
            if not work.done:
                with self._queue_lock:
                    batch, self._queued = self._queued, []
                self._commit(batch)
        if work.error is not None:
            raise work.error
        return work.result  # type: ignore[return-value]  # done without an error: run returned it

    def _commit(self, batch: list[_Work[Any]]) -> None:
        try:
            with self.transaction(bookkeeping=True) as conn:
                for work in batch:
                    conn.execute("SAVEPOINT part")
                    try:
                        work.result = work.run(conn)
                    except Exception as exc:  # noqa: BLE001 - it is raised again in the thread that handed it in
                        conn.execute("ROLLBACK TO part")
                        work.error = translate(exc) if isinstance(exc, sqlcipher3.Error) else exc
                    conn.execute("RELEASE part")
        except BaseException as exc:  # the whole commit failed: every part says so
            for work in batch:
                work.error = work.error or exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for work in batch:
                work.done = True

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a read-only statement and return every row.

        On the store's connection when it is free (or held by this thread, whose own
        transaction the read must see).  When another thread holds it, on the second
        connection: WAL lets it read the last commit at once instead of waiting behind a
        commit's fsync, and what it reads is what the read would have returned a moment
        earlier.  A single-threaded caller (every command) never opens the second one.
        """
        if self._lock.acquire(blocking=False):
            try:
                return _rows(self._conn, sql, params)
            finally:
                self._lock.release()
        with self._reader_lock:
            if self._key is not None:
                if self._reader is None:
                    self._reader = _connect(self.path, self._key, mode="ro&immutable=1" if self.read_only else None)
                return _rows(self._reader, sql, params)
        with self._lock:  # a re-key under way (the second connection knows the old key only): wait for it
            return _rows(self._conn, sql, params)

    def _close_reader(self) -> None:
        with self._reader_lock:
            reader, self._reader = self._reader, None
            if reader is not None:
                with contextlib.suppress(sqlcipher3.Error):
                    reader.close()

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: it changes when another connection (another process,
        or another ``Store``) commits, and not for this connection's own writes.  Cheap: it reads
        no page, so it can be asked every second."""
        with self._lock, mapped():
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def write_if_free(self, sql: str, params: Sequence[Any] = ()) -> bool:
        """Run one small write only if no other process holds the write lock, and no other
        thread this store's connection.

        For bookkeeping such as "last used" that must never make a read wait.
        Returns whether the write happened.
        """
        if self.read_only is not None or not self._lock.acquire(blocking=False):
            return False
        try:
            with self._without_waiting():
                with self.transaction(bookkeeping=True) as conn:
                    conn.execute(sql, params)
                return True
        except (VaultBusy, VaultUnusable):  # busy, or a full disk: bookkeeping waits for next time
            return False
        finally:
            self._lock.release()

    def rekey(self, key: DatabaseKey) -> None:
        """Re-encrypt every page under ``key`` (SQLCipher ``PRAGMA rekey``)."""
        if self.read_only is not None:
            raise VaultUnusable(f"{self.read_only}; nothing was changed")
        self.verify()
        with self._lock:
            with self._reader_lock:
                old, self._key = self._key, None  # reads wait: the second connection knows the old key only
            self._close_reader()
            try:
                with mapped():
                    self._conn.execute(f"PRAGMA rekey = {key.sql_literal()}")
            except BaseException:
                self._key = old  # nothing was re-keyed
                raise
            self.commits += 1
            self._key = key

    def copy_to(self, path: Path, key: DatabaseKey | None = None) -> int:
        """Copy the database as it is now, what is still in the WAL included, into ``path`` (an
        empty file the caller created 0600) by SQLite's online backup: one consistent snapshot
        while others go on writing.  The copy is encrypted under ``key``, or this store's own;
        every page of it is checked, and the number of credentials it holds is returned."""
        with self._lock, mapped():
            chosen = key or self._key  # never None here: a re-key holds the lock while it is
            if chosen is None:
                raise VaultBusy("the vault is being re-keyed; try again")
            dest = _connect(path, chosen)
            try:
                self._conn.backup(dest)
                if dest.execute("PRAGMA cipher_integrity_check").fetchall():
                    raise VaultCorrupt(f"the copy at {path} does not read back; it was not kept")
                return int(dest.execute("SELECT count(*) FROM credentials").fetchone()[0])
            finally:
                dest.close()

    def checkpoint(self) -> bool:
        """Copy every committed WAL frame into the file and empty the WAL (``TRUNCATE``), so no
        old copy of a page survives in it; whether it finished (a reader may hold it back, and
        then a later call finishes the job)."""
        if self.read_only is not None:
            return False
        try:
            with self._without_waiting():
                busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except (sqlcipher3.Error, VaultError):
            return False
        return not busy

    @contextlib.contextmanager
    def _without_waiting(self) -> Iterator[None]:
        """No busy wait for the statements inside (``busy_timeout = 0``), then the usual one."""
        with self._lock:
            with mapped():
                self._conn.execute("PRAGMA busy_timeout = 0")
            try:
                yield
            finally:
                with mapped():
                    self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000):d}")

    def handover_key(self) -> DatabaseKey | None:  # for a TUI joining the agent (vault.agent.joining); None mid re-key
        return self._key

    def close(self) -> None:
        self._close_reader()
        with self._lock, contextlib.suppress(sqlcipher3.Error):
            self._conn.close()


def _rows(conn: sqlcipher3.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    with mapped():
        return list(conn.execute(sql, params).fetchall())


def _connect(path: Path, key: DatabaseKey, mode: str | None = None) -> sqlcipher3.Connection:
    with mapped():
        target, uri = (f"{path.resolve().as_uri()}?mode={mode}", True) if mode else (str(path), False)
        conn = sqlcipher3.connect(
            target,
            uri=uri,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_SECONDS,
            check_same_thread=False,
        )
        conn.row_factory = sqlcipher3.Row
        # SQLCipher logs HMAC failures to stderr by default; a wrong passphrase
        # must produce exactly one line, ours.
        conn.execute("PRAGMA cipher_log_level = NONE").fetchall()
        conn.execute(f"PRAGMA key = {key.sql_literal()}")
    return conn
