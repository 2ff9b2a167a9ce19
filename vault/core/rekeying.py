"""The key the vault's file is encrypted under: re-encrypting it in place, and copying it
under a key (a backup).  A part of :class:`~vault.core.repository.Repository`
(``repository.keys``), which reads its :attr:`VaultKeys.meta`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vault.core import faults, keys
from vault.core.keys import SALT_BYTES, DatabaseKey, Key, KeySlot, VaultMeta
from vault.core.paths import VaultPaths
from vault.core.store import Store
from vault.errors import VaultBusy, VaultError


class VaultKeys:
    """The key the vault's file is encrypted under, on the repository's store.

    Args:
        store: the repository's open database.
        paths: the home it lives in (``vault.json`` is written there).
        meta: its key mode and slot as opened; :attr:`meta` follows every re-key.
        record: appends an audit event (the repository's).
    """

    def __init__(self, store: Store, paths: VaultPaths, meta: VaultMeta, record: Callable[..., Any]) -> None:
        self._store = store
        self.paths = paths
        self.meta = meta
        """The vault's key slot now (the repository's ``meta`` reads it)."""
        self.record = record

    def rekey(self, key: Key, slot: KeySlot, *, detail: str) -> None:
        """Re-encrypt under ``key`` and record ``slot`` as the vault's key.

        The new key must already be retrievable (e.g. stored in the keyring).  ``vault.json``
        names the next key before the file is re-encrypted and the old one only after, so a
        kill at any step leaves a vault that opens on the first try with exactly one of the two
        keys, and a refusal that names the other (:func:`vault.core.unlocking.choose_key`).
        """
        if len(self._store.salt) != SALT_BYTES:
            raise VaultError("the vault's salt is unknown; nothing was changed")  # a store not opened by open/create
        database_key = key.database_key(self._store.salt, slot.kdf_iter)
        slot = slot.with_check(database_key)
        old = self.meta
        self.record("rekey", "started", detail=detail)
        VaultMeta(old.vault_id, old.slot, pending=slot).write(self.paths.meta)
        faults.reached("rekey-announced")
        try:
            self._store.rekey(database_key)
        except BaseException:
            old.write(self.paths.meta)
            raise
        # From here on the file is under the new key, whatever fails next: ``self.meta`` says
        # so at once (a caller must then keep the new key), and ``vault.json``'s pending slot
        # opens it until the last write below.
        self.meta = VaultMeta(old.vault_id, slot)
        faults.reached("rekeyed")
        self._store.checkpoint()  # the file's pages under the new key, and no old page left in the WAL
        faults.reached("checkpointed")
        self.meta.write(self.paths.meta)
        self.record("rekey", "ok", detail=detail)

    def copy_to(self, path: Path, key: Key | None = None) -> tuple[KeySlot, int]:
        """Copy the vault, consistent while others write, into ``path`` (an empty file created
        0600), encrypted under ``key`` or this vault's own key: the slot that opens the copy,
        and how many credentials it holds."""
        if key is None:
            return self.meta.slot, self._store.copy_to(path)
        database_key = key.database_key(self._store.salt, keys.KDF_ITER)
        slot = KeySlot("passphrase", kdf_iter=keys.KDF_ITER).with_check(database_key)
        return slot, self._store.copy_to(path, database_key)

    def handover_key(self) -> DatabaseKey:
        """The key that opens this vault, for the agent to hand to a TUI of the same user that
        joins it (:mod:`vault.agent.joining`); never for a log, an error or a screen.

        Raises:
            VaultBusy: a re-key is under way (the key is about to change).
        """
        key = self._store.handover_key()
        if key is None:
            raise VaultBusy("the vault is being re-keyed; try again")
        return key
