"""The backup file: one file with a consistent, still encrypted copy of the vault and what
is needed to open it, never a key.

It is a zip archive (stored, not compressed: an encrypted database does not shrink) of two
members, so ``unzip -l`` shows what it is:

- ``tokendeck-backup.json``: the format, when it was made, the vault's id, how many
  credentials it holds, and its key slot (mode, keyring entry, KDF cost, key-check value);
- ``vault.db``: the SQLCipher database, written by SQLite's online backup
  (:meth:`vault.core.rekeying.VaultKeys.copy_to`).

A keyring vault's backup is encrypted under the key in this machine's keyring, which does not
travel; one made with a passphrase opens anywhere.  Files are created 0600 and the backup
replaces its path atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from vault.core.keys import KeySlot
from vault.core.outside import Unparsable, copy_member, load_json, open_regular, read_member
from vault.core.paths import failed, private_atomic
from vault.errors import InvalidInput, NotFound, VaultCorrupt

FORMAT = 1
MANIFEST = "tokendeck-backup.json"
DATABASE = "vault.db"
_MANIFEST_LIMIT = 64 * 1024
DATABASE_LIMIT = 256 << 20
"""The largest database a backup may hold (a vault of 10,000 credentials and a year of its
audit log is tens of MiB): a member declaring more is refused before a byte is written, and
none is written past it."""


@dataclass(frozen=True)
class Manifest:
    """What a backup says about itself (nothing secret)."""

    vault_id: str
    slot: KeySlot
    created_at: float
    credentials: int

    @property
    def holds(self) -> str:
        """``1 credential``, ``3 credentials``."""
        return f"{self.credentials} credential{'' if self.credentials == 1 else 's'}"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "vault_id": self.vault_id,
            "created_at": self.created_at,
            "credentials": self.credentials,
            "key": self.slot.to_json(),
        }


def write(path: Path, database: Path, manifest: Manifest) -> None:
    """Write the backup to ``path`` atomically (a 0600 file beside it, fsync, rename)."""
    with private_atomic(path) as out, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest.to_json(), indent=2) + "\n")
        archive.write(database, DATABASE)


def read_manifest(path: Path) -> Manifest:
    """What the backup at ``path`` says about itself.

    Raises:
        InvalidInput: no such file, or not a tokendeck backup.
        VaultCorrupt: a tokendeck backup whose manifest is damaged.
    """
    with _archive(path) as archive:
        try:
            info = archive.getinfo(MANIFEST)
            archive.getinfo(DATABASE)
        except KeyError:
            raise InvalidInput(f"{path} is not a tokendeck backup; nothing was changed") from None
        if info.file_size > _MANIFEST_LIMIT:
            raise VaultCorrupt(f"{path} is damaged (its description is too large); nothing was changed")
        try:
            raw = load_json(read_member(archive, MANIFEST, _MANIFEST_LIMIT))
            if raw.get("format") != FORMAT:
                raise InvalidInput(f"{path} is a backup format this tokendeck does not know; nothing was changed")
            return Manifest(
                str(raw["vault_id"]), KeySlot.from_json(raw["key"]), float(raw["created_at"]), int(raw["credentials"])
            )
        except (zipfile.BadZipFile, ValueError, KeyError, TypeError, AttributeError, VaultCorrupt):
            raise VaultCorrupt(f"{path} is damaged (its description does not read); nothing was changed") from None


def extract_database(path: Path, dest: Path) -> None:
    """Copy the backup's database into ``dest``, an empty file the caller created 0600.

    Raises:
        VaultCorrupt: the archive's checksum does not match: the backup is damaged.
        InvalidInput: its database is over :data:`DATABASE_LIMIT` (nothing written past it).
        VaultError: the backup could not be read, or ``dest`` written (the line says which).
    """
    with _archive(path) as archive, _written(dest) as out:
        try:
            copy_member(archive, DATABASE, out, DATABASE_LIMIT)  # a zip bomb stops at the limit
        except Unparsable as exc:
            raise InvalidInput(f"{path} is not a tokendeck backup: it {exc.reason}; nothing was changed") from None
        except (zipfile.BadZipFile, EOFError):
            raise VaultCorrupt(f"{path} is damaged (its database does not read back); nothing was changed") from None
        except OSError as exc:  # reading the backup: the disk's fault, not the backup's
            raise failed(exc, "read", path) from None


@contextlib.contextmanager
def _written(dest: Path) -> Iterator[BinaryIO]:
    """``dest`` to write, flushed to disk at the end; an OS error says it was writing ``dest``."""
    try:
        with dest.open("r+b") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise failed(exc, "write", dest) from None


@contextlib.contextmanager
def _archive(path: Path) -> Iterator[zipfile.ZipFile]:
    with contextlib.ExitStack() as stack:
        try:
            f = stack.enter_context(open_regular(path))  # never a FIFO or /dev/zero
        except NotFound:
            raise InvalidInput(f"no backup at {path}") from None
        try:
            archive = stack.enter_context(zipfile.ZipFile(f))
        except (zipfile.BadZipFile, OSError):
            raise InvalidInput(f"{path} is not a tokendeck backup, or is damaged; nothing was changed") from None
        yield archive
