"""SQLCipher's errors in the :mod:`vault.errors` tree: what :mod:`vault.core.store`, the only
module that talks to ``sqlcipher3``, raises instead of a driver exception (none of those
messages can carry a secret)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlcipher3

from vault.errors import VaultBusy, VaultCorrupt, VaultError, VaultUnusable


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
