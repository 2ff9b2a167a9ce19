"""Backing the vault up, and restoring it, for every front end.

A backup (:mod:`vault.core.backup`) is taken from the open vault by SQLite's online
backup, so it is consistent while the agent and other processes write, and it holds what a
plain ``cp vault.db`` would lose from the ``-wal``.  A restore proves the backup first (its
key opens it, every page passes the HMAC check and SQLite's integrity check, the schema is
one this tokendeck knows), asks, and only then swaps it in: the vault it replaces is kept,
whole and still openable, as a dated home of its own beside it.  Nothing is replaced while
another process has the vault open.  The swap is journaled (:mod:`vault.core.restoring`): a
kill at any step leaves a home that opens as the old vault or the new one, and a step that
fails says to run ``tokendeck restore --resume``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vault.core import backup as backup_file
from vault.core import restoring
from vault.core.backup import Manifest
from vault.core.keys import Key, KeySlot, VaultMeta
from vault.core.paths import DB_NAME, META_NAME, VaultPaths, create_private_file, ensure_private_dir, unexpected
from vault.core.store import Store
from vault.core.timefmt import iso
from vault.core.unlocking import read_salt
from vault.core.walfiles import sole_user, wal_has_frames
from vault.errors import (
    AlreadyExists,
    Declined,
    InvalidInput,
    VaultBusy,
    VaultCorrupt,
    VaultError,
    VaultLocked,
    VaultUnusable,
    WrongPassphrase,
)
from vault.services.tokens import Vault

KEPT_PREFIX = "before-restore-"
"""The replaced vault's dated home: ``<home>/before-restore-2026-12-02T17-45-00Z``."""


def backup(
    vault: Vault,
    path: Path,
    *,
    passphrase: str | None = None,
    force: bool = False,
    notice: Callable[[str], None] = lambda message: None,
) -> Manifest:
    """Write a backup of ``vault`` to ``path``: under the vault's own key, or ``passphrase``.  A
    vault whose own disk is full (or failing) is still backed up to another one; only the audit
    line recording it is then missing, and ``notice`` says so.

    Raises:
        AlreadyExists: ``path`` exists and ``force`` is not set.
        InvalidInput: ``path`` is inside the vault's home, or its folder does not exist.
    """
    path = path.expanduser().absolute()
    if path.is_dir():
        raise InvalidInput(f"{path} is a directory: name the backup file")
    if path.exists() and not force:
        raise AlreadyExists(f"{path} exists: pass --force to replace it")
    if not path.parent.is_dir():
        raise InvalidInput(f"no folder {path.parent} to write the backup in")
    if path.parent.resolve() == vault.paths.home.resolve():
        raise InvalidInput("a backup beside the vault is lost with it: write it somewhere else")
    key = Key.passphrase(passphrase) if passphrase is not None else None
    copy = path.with_name(f".{path.name}.{os.getpid()}.db")
    _remove(copy)
    create_private_file(copy)
    try:
        slot, count = vault.records.keys.copy_to(copy, key)
        manifest = Manifest(vault.records.meta.vault_id, slot, vault.clock.now(), count)
        backup_file.write(path, copy, manifest)
    finally:
        _remove(copy)
    try:
        vault.records.record("backup", "ok", detail=f"{path} ({'passphrase' if key else vault.records.meta.mode} key)")
    except VaultUnusable as exc:  # the backup is made; the vault's own disk took no audit line
        notice(f"the backup is written, but the vault's audit log could not record it: {exc.message}")
    return manifest


@dataclass(frozen=True)
class Restore:
    """A proven backup, about to replace (or to become) the vault at ``paths``."""

    paths: VaultPaths
    source: Path
    manifest: Manifest
    replaces: bool
    """Whether a vault is there now (it is kept, not deleted)."""

    def describe(self) -> str:
        made = iso(self.manifest.created_at) or "at an unknown time"
        return f"the backup made {made} ({self.manifest.holds})"


def restore(
    paths: VaultPaths,
    source: Path,
    *,
    key_for: Callable[[KeySlot], Key],
    confirm: Callable[[Restore], bool],
    now: float,
    notice: restoring.Notice | None = None,
) -> Path | None:
    """Replace the vault at ``paths`` with the backup at ``source``, once it is proven and
    ``confirm`` says yes; where the replaced vault was kept (None: there was none).

    The swap is journaled (:mod:`vault.core.restoring`): killed at any step, the home opens as
    the old vault or, once the journal is written, as the new one (the next open finishes the
    moves).  A restore cut short earlier is finished first (``notice`` is told).

    Raises:
        InvalidInput: not a backup; VaultCorrupt: a damaged one; WrongPassphrase, VaultLocked:
        its key is not at hand; VaultBusy: another process has the vault open, or is
        restoring; Declined: ``confirm`` said no.  In every case nothing was changed.
        VaultUnusable: a step of the swap failed; the message says what to run.
    """
    source = source.expanduser().absolute()
    manifest = backup_file.read_manifest(source)
    ensure_private_dir(paths.home)
    with restoring.claim(paths):
        restoring.settle_claimed(paths, notice)
        staged = restoring.stage(paths)
        committed = False
        try:
            incoming = staged / DB_NAME
            with _staging(staged):
                create_private_file(incoming)
            backup_file.extract_database(source, incoming)
            _prove(incoming, source, manifest, key_for)
            with _staging(staged):
                _alone(incoming)
                VaultMeta(manifest.vault_id, manifest.slot).write(staged / META_NAME)
            plan = Restore(paths, source, manifest, replaces=paths.db.exists())
            swap = restoring.Swap(str(source), plan.describe(), _kept_name(paths, now) if plan.replaces else None)
            with sole_user(paths.db):
                if not confirm(plan):
                    raise Declined("nothing was restored")
                if paths.db.exists() != plan.replaces:
                    raise VaultBusy(f"a vault was made at {paths.home} meanwhile; nothing was restored")
                restoring.commit(paths, swap)
                committed = True
                restoring.finish(paths, swap)
        finally:
            if not committed:
                restoring.discard(paths)
    return swap.kept_in(paths)


def resume(paths: VaultPaths, notice: restoring.Notice | None = None) -> restoring.Swap:
    """Finish the restore into ``paths`` that was cut short (``tokendeck restore --resume``).

    Raises:
        InvalidInput: there is none to finish (one cut short before it replaced anything
            left the vault as it was).
        VaultBusy, VaultUnusable: as :func:`vault.core.restoring.settle`.
    """
    begun = restoring.staging_dir(paths).exists()
    finished = restoring.settle(paths, notice)
    if finished is not None:
        return finished
    if begun and not restoring.staging_dir(paths).exists():
        raise InvalidInput(
            f"no restore to finish at {paths.home}: the one cut short had not yet replaced anything, "
            "so the vault is as it was; run tokendeck restore FILE again"
        )
    raise InvalidInput(f"no restore to finish at {paths.home}")


def _prove(db: Path, source: Path, manifest: Manifest, key_for: Callable[[KeySlot], Key]) -> None:
    """The backup's key opens it, and every page and the schema check out."""
    try:
        key = key_for(manifest.slot)
    except WrongPassphrase:
        raise
    except VaultLocked as exc:
        if manifest.slot.mode != "keyring":
            raise
        raise VaultLocked(
            f"{source} is encrypted under a vault key kept in an OS keyring, and {exc.message}; "
            "a backup made with `tokendeck backup --passphrase` opens anywhere"
        ) from None
    database_key = key.database_key(read_salt(db), manifest.slot.kdf_iter)
    if manifest.slot.check is not None and database_key.check_value() != manifest.slot.check:
        raise WrongPassphrase("wrong passphrase for this backup; nothing was changed")
    damaged = f"{source} is damaged (it does not pass the integrity check); nothing was changed"
    if Store.probe(db, database_key) != "ok":
        raise VaultCorrupt(damaged)
    try:
        store = Store.open(db, database_key)
        try:
            store.verify()
            if [tuple(row) for row in store.query("PRAGMA integrity_check")] != [("ok",)]:
                raise VaultCorrupt(damaged)
        finally:
            store.close()
    except VaultCorrupt:
        raise VaultCorrupt(damaged) from None


@contextlib.contextmanager
def _staging(staged: Path) -> Iterator[None]:
    """An OS error while the incoming vault is written beside the old one, said in one line
    (:func:`vault.core.paths.failed`'s) that says nothing was restored."""
    try:
        yield
    except OSError as exc:
        error = unexpected(exc)
        raise type(error)(f"{error.message}; nothing was restored") from None
    except VaultError as exc:  # what vault.core.paths already said in one line
        raise type(exc)(f"{exc.message}; nothing was restored") from None


def _alone(db: Path) -> None:
    """Leave the proven copy a single file (proving it opened it: SQLite checkpointed and
    removed its WAL on closing, and only an empty ``-wal`` or the ``-shm`` can be left)."""
    if wal_has_frames(db):
        raise VaultUnusable(f"the copy of the backup in {db.parent} kept changes in its -wal")
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{db}{suffix}")


def _kept_name(paths: VaultPaths, now: float) -> str:
    """A new dated folder name for the replaced vault (a vault home of its own once the
    restore is done: ``TOKENDECK_HOME=<it> tokendeck list``)."""
    stamp = (iso(now) or "unknown").replace(":", "-")
    name = f"{KEPT_PREFIX}{stamp}"
    number = 1
    while (paths.home / name).exists():
        number += 1
        name = f"{KEPT_PREFIX}{stamp}-{number}"
    return name


def _remove(path: Path) -> None:
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            each.unlink()
