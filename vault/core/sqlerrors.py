"""SQLCipher's errors in the :mod:`vault.errors` tree: what :mod:`vault.core.store`, the only
module that talks to ``sqlcipher3``, raises instead of a driver exception (none of those
messages can carry a secret)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

from vault.core.migrations import LATEST_VERSION
from vault.errors import VaultBusy, VaultCorrupt, VaultError, VaultTooNew, VaultUnusable, WrongPassphrase


def translate(exc: sqlcipher3.Error) -> VaultError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return VaultBusy("the vault is busy: another tokendeck process is writing; try again")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return VaultCorrupt(
            "the vault file is damaged (a page does not decrypt), or the disk misread it; nothing was changed: "
            "try once more, then restore a backup with: tokendeck restore FILE"
        )
    if "full" in text:
        return VaultUnusable("no space left on the vault's disk; nothing was changed")
    if "disk i/o error" in text:
        return VaultUnusable("the vault's disk failed a read or write (disk I/O error); nothing was changed")
    if "readonly" in text or "read-only" in text:
        return VaultUnusable("the vault's files are read-only here; nothing was changed")
    return VaultError(f"vault database error: {exc}")


@contextlib.contextmanager
def mapped() -> Iterator[None]:
    try:
        yield
    except sqlcipher3.Error as exc:
        raise translate(exc) from None


def check_pages(conn: sqlcipher3.Connection, path: Path) -> None:
    """Every page's HMAC, so a damaged file is refused before anything reads it.

    Raises:
        VaultCorrupt: a page is damaged.
    """
    with mapped():
        damage = conn.execute("PRAGMA cipher_integrity_check").fetchall()
    if damage and str(damage[0][0]).startswith("error reading"):  # the OS failed to read it: try again
        raise VaultUnusable(f"the OS could not read {path} ({damage[0][0]}); nothing was changed: try again")
    if damage:
        raise VaultCorrupt(f"{path} is damaged ({damage[0][0]}); restore a backup with: tokendeck restore FILE")


def check_version(conn: sqlcipher3.Connection) -> int:
    """The schema version, when this tokendeck can use it.

    Raises:
        VaultTooNew: newer than this tokendeck.
        WrongPassphrase: no schema at all (it decrypts, but is no vault).
    """
    with mapped():
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == 0:
        raise WrongPassphrase()
    if version > LATEST_VERSION:
        raise VaultTooNew(
            f"this vault has schema version {version}, newer than this tokendeck "
            f"understands ({LATEST_VERSION}); upgrade tokendeck"
        )
    return version
