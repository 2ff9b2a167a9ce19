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
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.core.keys import KeySlot
from vault.core.paths import private_atomic
from vault.errors import InvalidInput, VaultCorrupt

FORMAT = 1
MANIFEST = "tokendeck-backup.json"
DATABASE = "vault.db"
_MANIFEST_LIMIT = 64 * 1024


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
            raw = json.loads(archive.read(MANIFEST))
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
    """
    with _archive(path) as archive:
        try:
            with archive.open(DATABASE) as source, dest.open("r+b") as out:
                shutil.copyfileobj(source, out)
                out.flush()
                os.fsync(out.fileno())
        except (zipfile.BadZipFile, OSError, EOFError):
            raise VaultCorrupt(f"{path} is damaged (its database does not read back); nothing was changed") from None


@contextlib.contextmanager
def _archive(path: Path) -> Any:
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise InvalidInput(f"no backup at {path}") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory, not a backup") from None
    except PermissionError:
        raise InvalidInput(f"permission denied reading {path}") from None
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput(f"{path} is not a tokendeck backup, or is damaged; nothing was changed") from None
    with archive:
        yield archive
