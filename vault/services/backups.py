"""Backing the vault up, and restoring it, for every front end.

A backup (:mod:`vault.core.backup`) is taken from the open vault by SQLite's online
backup, so it is consistent while the agent and other processes write, and it holds what a
plain ``cp vault.db`` would lose from the ``-wal``.  A restore proves the backup first (its
key opens it, every page passes the HMAC check and SQLite's integrity check, the schema is
one this tokendeck knows), asks, and only then swaps it in: the vault it replaces is kept,
whole and still openable, as a dated home of its own beside it.  Nothing is replaced while
another process has the vault open.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vault.core import backup as backup_file
from vault.core.backup import Manifest
from vault.core.keys import Key, KeySlot, VaultMeta
from vault.core.paths import VaultPaths, create_private_file, ensure_private_dir, fsync_dir
from vault.core.store import Store
from vault.core.timefmt import iso
from vault.core.unlocking import read_salt
from vault.core.walfiles import sole_user
from vault.errors import AlreadyExists, Declined, InvalidInput, VaultCorrupt, VaultLocked, WrongPassphrase
from vault.services.tokens import Vault

KEPT_PREFIX = "before-restore-"
"""The replaced vault's dated home: ``<home>/before-restore-2026-12-02T17-45-00Z``."""


def backup(vault: Vault, path: Path, *, passphrase: str | None = None, force: bool = False) -> Manifest:
    """Write a backup of ``vault`` to ``path``: under the vault's own key, or ``passphrase``.

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
        slot, count = vault.copy_to(copy, key)
        manifest = Manifest(vault.meta.vault_id, slot, vault.clock.now(), count)
        backup_file.write(path, copy, manifest)
    finally:
        _remove(copy)
    vault.record("backup", "ok", detail=f"{path} ({'passphrase' if key else vault.meta.mode} key)")
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
) -> Path | None:
    """Replace the vault at ``paths`` with the backup at ``source``, once it is proven and
    ``confirm`` says yes; where the replaced vault was kept (None: there was none).

    Raises:
        InvalidInput: not a backup; VaultCorrupt: a damaged one; WrongPassphrase, VaultLocked:
        its key is not at hand; VaultBusy: another process has the vault open; Declined:
        ``confirm`` said no.  In every case nothing was changed.
    """
    source = source.expanduser().absolute()
    manifest = backup_file.read_manifest(source)
    ensure_private_dir(paths.home)
    incoming = paths.home / f".restore-{os.getpid()}.db"
    _remove(incoming)
    create_private_file(incoming)
    try:
        backup_file.extract_database(source, incoming)
        _prove(incoming, source, manifest, key_for)
        plan = Restore(paths, source, manifest, replaces=paths.db.exists())
        if not plan.replaces:
            if not confirm(plan):
                raise Declined("nothing was restored")
            _swap_in(incoming, paths, manifest)
            return None
        with sole_user(paths.db):
            if not confirm(plan):
                raise Declined("nothing was restored")
            kept = _keep(paths, now)
            _swap_in(incoming, paths, manifest)
        return kept
    finally:
        _remove(incoming)


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


def _keep(paths: VaultPaths, now: float) -> Path:
    """Move the current vault's files into a dated home beside it (still a vault that opens:
    ``TOKENDECK_HOME=<it> tokendeck list``)."""
    stamp = (iso(now) or "unknown").replace(":", "-")
    kept = paths.home / f"{KEPT_PREFIX}{stamp}"
    number = 1
    while kept.exists():
        number += 1
        kept = paths.home / f"{KEPT_PREFIX}{stamp}-{number}"
    kept.mkdir(mode=0o700)
    db, meta = paths.db, paths.meta
    for path in (db, Path(f"{db}-wal"), meta):
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, kept / path.name)
    _remove(Path(f"{db}-shm"))
    fsync_dir(kept)
    return kept


def _swap_in(incoming: Path, paths: VaultPaths, manifest: Manifest) -> None:
    os.rename(incoming, paths.db)
    VaultMeta(manifest.vault_id, manifest.slot).write(paths.meta)
    fsync_dir(paths.home)


def _remove(path: Path) -> None:
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            each.unlink()
