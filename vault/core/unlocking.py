"""Which key opens a vault, and, when none does, exactly why.

:func:`choose_key` tries each of the vault's key slots (see :mod:`vault.core.keys`): the
one in use and, while a key change is in flight, the next one.  A key whose check value
does not match its slot is wrong and never reaches SQLite, so a wrong passphrase leaves
every file as it was.  A key that matches is proven on a read-only connection, which
writes neither the database nor its WAL and never checkpoints.

When the files cannot be read at all, the OS is asked why (permission, a read-only file
system, a full disk), and where reading can go on without writing (the WAL is empty), the
vault opens read-only: a token can still be read and a command still run on a full disk.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vault.core.keys import SALT_BYTES, DatabaseKey, Key, KeySlot, VaultMeta
from vault.core.store import PAGE_SIZE, Store
from vault.core.walfiles import wal_has_frames
from vault.errors import VaultCorrupt, VaultLocked, VaultUnusable, WrongPassphrase

KeyFor = Callable[[KeySlot], Key]
"""Finds the key for a slot (keyring entry, environment, prompt); raises VaultLocked."""


@dataclass(frozen=True)
class Unlocked:
    """A proven key, and what opening with it must record."""

    key: DatabaseKey
    meta: VaultMeta
    """The vault's description after this open: a key change that had re-encrypted the file
    is finished, and a vault that had no check value gets one."""
    read_only: str | None = None
    """Why the files can only be read here, when that is so."""
    retired: KeySlot | None = None
    """The slot a finished key change left behind (its keyring entry can go)."""
    changed: bool = False
    """Whether ``meta`` differs from what ``vault.json`` holds (so the open must write it)."""


def choose_key(db: Path, meta: VaultMeta, key_for: KeyFor) -> Unlocked:
    """The slot whose key opens ``db``.

    Raises:
        VaultLocked: no slot's key could be found (the first slot's reason).
        WrongPassphrase: the key is wrong; after a key change cut short, which key opens it.
        VaultCorrupt: the key is right but the file does not decrypt.
        VaultUnusable: the files cannot be read (the message says why).
    """
    salt = read_salt(db)
    slots = [("current", meta.slot)] + ([("pending", meta.pending)] if meta.pending else [])
    slots.sort(key=lambda named: named[1].mode != "keyring")  # a keyring key costs no prompt
    matched: list[str] = []
    locked: VaultLocked | None = None
    read_only: str | None = None
    for name, slot in slots:
        try:
            key = key_for(slot).database_key(salt, slot.kdf_iter)
        except VaultLocked as exc:
            if isinstance(exc, WrongPassphrase):
                raise
            locked = locked or exc
            continue
        locked = None
        if slot.check is not None and not hmac.compare_digest(key.check_value(), slot.check):
            continue
        outcome = Store.probe(db, key, immutable=read_only is not None)
        if outcome == "unreadable":
            read_only = _why_unreadable(db)
            outcome = Store.probe(db, key, immutable=True)
            if outcome == "unreadable":
                raise VaultUnusable(f"{read_only}, and {db} cannot be read even so")
        if outcome == "ok":
            return _opened(meta, name, slot.with_check(key), key, read_only)
        matched.append(name)
    if locked is not None and not matched:
        raise locked  # the last slot's key could not be had, and no other opened it
    raise _refusal(db, meta, matched)


def _opened(meta: VaultMeta, name: str, slot: KeySlot, key: DatabaseKey, read_only: str | None) -> Unlocked:
    if name == "pending":  # the file was re-encrypted under the next key: the change is done
        return Unlocked(key, VaultMeta(meta.vault_id, slot), read_only, retired=meta.slot, changed=True)
    after = VaultMeta(meta.vault_id, slot, meta.pending)
    return Unlocked(key, after, read_only, changed=after != meta)


def _refusal(db: Path, meta: VaultMeta, matched: list[str]) -> Exception:
    pending = meta.pending
    if matched == ["current"] and pending is not None:
        where = "the new passphrase" if pending.mode == "passphrase" else "its new key, in the OS keyring"
        return WrongPassphrase(
            "that is the old key: a passphrase change was cut short after the vault was re-encrypted; "
            f"unlock it with {where}"
        )
    if matched == ["pending"]:
        old = "the old passphrase" if meta.mode == "passphrase" else "its key in the OS keyring"
        return WrongPassphrase(
            f"that is the new passphrase of a passphrase change that was cut short before it re-encrypted "
            f"the vault: it still opens with {old}"
        )
    if meta.slot.check is None:
        return WrongPassphrase()  # no check value to tell a wrong key from a damaged file
    if matched:
        return VaultCorrupt(  # the key is proven right (its check value): damage, or a read the disk failed
            f"{db} does not decrypt though the key is right: the file is damaged, or the disk misread it; "
            "nothing was changed: try once more, then restore a backup with: tokendeck restore FILE"
        )
    if meta.mode == "keyring" and pending is None:
        return WrongPassphrase("the key in the OS keyring does not open this vault")
    return WrongPassphrase("wrong passphrase")


def read_salt(db: Path) -> bytes:
    """The salt SQLCipher keeps in the clear at the start of ``db``.

    Raises:
        VaultUnusable: the file cannot be read.
        VaultCorrupt: it is not a whole number of pages.
    """
    try:
        with open(db, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            salt = f.read(SALT_BYTES)
    except PermissionError:
        raise VaultUnusable(f"permission denied reading {db}") from None
    except OSError as exc:
        raise VaultUnusable(f"cannot read {db}: {exc.strerror}") from None
    if size == 0 or size % PAGE_SIZE:
        raise VaultCorrupt(
            f"{db} is truncated or is not a tokendeck vault ({size} bytes); "
            "restore a backup with: tokendeck restore FILE"
        )
    return salt


def _why_unreadable(db: Path) -> str:
    """Why SQLite could not read ``db``, when reading can go on without writing anything.

    Raises:
        VaultUnusable: it cannot (the message says why).
    """
    home = db.parent
    if not os.access(db, os.R_OK):
        raise VaultUnusable(f"permission denied reading {db}")
    try:
        disk = os.statvfs(home)
    except OSError as exc:
        raise VaultUnusable(f"cannot use {home}: {exc.strerror}") from None
    if disk.f_flag & os.ST_RDONLY:
        why = f"{home} is on a read-only file system"
    elif not os.access(home, os.W_OK | os.X_OK) or not os.access(db, os.W_OK):
        why = f"no permission to write in {home}"
    elif disk.f_bavail == 0:
        why = f"no space left on the disk that holds {home}"
    else:
        raise VaultUnusable(
            f"the OS could not read {db} or write its {db.name}-shm (an I/O error); nothing was changed: try again"
        )
    if wal_has_frames(db):
        raise VaultUnusable(f"{why}, and the vault's newest changes (in {db.name}-wal) cannot be read without writing")
    return why
