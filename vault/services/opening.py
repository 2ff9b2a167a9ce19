"""Creating, unlocking and re-keying a vault home.

These are the only functions that turn key material into an open
:class:`~vault.services.tokens.Vault`.  Opening writes nothing until the key is proven and
the schema version checked, so a wrong passphrase or a newer vault leaves every
file exactly as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from vault.core import keys, restoring
from vault.core.clock import Clock
from vault.core.keys import (
    SALT_BYTES,
    Key,
    KeyMode,
    KeySlot,
    Prompt,
    VaultMeta,
    keyring_delete,
    keyring_store,
    keyring_usable,
    passphrase_from_environment,
    passphrase_warning,
    unlock_key,
)
from vault.core.paths import (
    VaultPaths,
    create_private_file,
    ensure_private_dir,
    failed,
    fsync_dir,
    keep_private,
    resolve_home,
)
from vault.core.repository import Repository
from vault.core.secret import Secret
from vault.core.store import Store
from vault.core.unlocking import Unlocked, choose_key
from vault.errors import AlreadyExists, InvalidInput, KeyringUnavailable, NoVault, VaultCorrupt, VaultError
from vault.services.held import HeldAnswers
from vault.services.tokens import Vault
from vault.settings import PASSPHRASE_COMMAND_ENV, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV

Notice = Callable[[str], None]
"""Receives a one-line message for the user (the CLI prints it to stderr)."""


def open_vault(
    home: str | os.PathLike[str] | None = None,
    passphrase: str | None = None,
    *,
    prompt: Prompt | None = None,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    notice: Notice | None = None,
) -> Vault:
    """Unlock an existing vault.

    Args:
        home: the vault directory; default ``$TOKENDECK_HOME`` or the platform data dir.
        passphrase: for passphrase vaults; when ``None`` the environment sources
            are tried, then ``prompt`` if given.
        prompt: asks for the passphrase interactively, as a last resort.
        env: the environment to read (default ``os.environ``).
        clock: the time source.
        notice: told when a restore that was cut short is finished first.

    Raises:
        NoVault: nothing has been initialised at ``home``.
        VaultLocked: no key was found; WrongPassphrase: the key is wrong.
        VaultTooNew, VaultCorrupt: the file cannot be used by this version.
        VaultBusy, VaultUnusable: a restore cut short cannot be finished now (the message
            says what to run).
    """
    paths, unlocked = unlock(home, passphrase, prompt=prompt, env=env, notice=notice)
    return open_unlocked(paths, unlocked, clock)


def unlock(
    home: str | os.PathLike[str] | None = None,
    passphrase: str | None = None,
    *,
    prompt: Prompt | None = None,
    env: Mapping[str, str] | None = None,
    notice: Notice | None = None,
) -> tuple[VaultPaths, Unlocked]:
    """Find and prove the key for the vault at ``home`` without opening it for writing (the
    agent opens it in its own process).  Arguments and errors as :func:`open_vault`."""
    paths = _settled(home, notice)
    meta = VaultMeta.read(paths.meta)
    environ = os.environ if env is None else env
    asked: list[Key] = []

    def key_for(slot: KeySlot) -> Key:
        if slot.mode == "keyring":
            return unlock_key(slot, environ, prompt)
        if not asked:  # one passphrase, asked for at most once, for every passphrase slot
            asked.append(Key.passphrase(passphrase) if passphrase is not None else unlock_key(slot, environ, prompt))
        return asked[0]

    return paths, choose_key(paths.db, meta, key_for)


def _settled(home: str | os.PathLike[str] | None, notice: Notice | None) -> VaultPaths:
    """The home of a finished vault, once a restore cut short is finished.

    Raises:
        NoVault: there is none; VaultBusy, VaultUnusable: as :func:`vault.core.restoring.settle`.
    """
    paths = resolve_home(home)
    restoring.settle(paths, notice)
    if paths.init_mark.exists():
        raise NoVault(f"the vault at {paths.home} was never finished (init failed or was stopped): run tokendeck init")
    if not paths.db.exists():
        raise NoVault(f"no vault at {paths.home} (create one with: tokendeck init)")
    keep_private(paths.home)
    return paths


def open_handed(home: str | os.PathLike[str] | None, key: Secret, clock: Clock | None = None) -> Vault:
    """Open the vault with a key another process of this user proved (the agent hands the key
    it holds to a TUI that joins it: :mod:`vault.agent.joining`).  The key is the derived one
    SQLCipher is given, never a passphrase, and it is proven here exactly as a typed one is
    (its slot's check value, then a read-only probe), so a key that no longer opens the vault
    (re-keyed meanwhile) is refused before anything is written.

    Raises:
        WrongPassphrase: the key does not open this vault (any more).
        NoVault, VaultCorrupt, VaultUnusable, VaultBusy: as :func:`open_vault`.
    """
    paths = _settled(home, None)
    unlocked = choose_key(paths.db, VaultMeta.read(paths.meta), lambda slot: Key("raw", key))
    return open_unlocked(paths, unlocked, clock)


class _Early:
    """An :func:`unlock` running in a thread, and what it came to."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: tuple[VaultPaths, Unlocked] | None = None
        self.error: VaultError | None = None


_EARLY: dict[str, _Early] = {}


def unlock_early() -> None:
    """Start finding and proving the key of this environment's vault in a thread, without a
    prompt, for a front end that has a lot to import first (the TUI: Textual): the KDF
    releases the GIL, so it runs beside the imports instead of after them.  The front end
    takes the result with :func:`open_early`; an error waits for it there."""
    early = _Early()
    _EARLY[str(resolve_home().home)] = early

    def run() -> None:
        try:
            early.result = unlock(prompt=None)
        except VaultError as exc:
            early.error = exc
        finally:
            early.done.set()

    threading.Thread(target=run, name="tokendeck-early-unlock", daemon=True).start()


def open_early(home: str | os.PathLike[str] | None, clock: Clock | None = None) -> Vault | None:
    """The vault :func:`unlock_early` unlocked for ``home``, opened; None when none was started.

    Raises:
        VaultError: what unlocking it raised.
    """
    early = _EARLY.pop(str(resolve_home(home).home), None)
    if early is None:
        return None
    early.done.wait()
    if early.error is not None:
        raise early.error
    assert early.result is not None  # noqa: S101 - set unless error is
    return open_unlocked(*early.result, clock)


def present(home: str | os.PathLike[str] | None = None, notice: Notice | None = None) -> bool:
    """Whether there is a vault at ``home`` (for a front end choosing between "unlock" and
    "create one"), once a restore that was cut short is finished.

    Raises:
        VaultBusy, VaultUnusable: as :func:`vault.core.restoring.settle`.
    """
    paths = resolve_home(home)
    restoring.settle(paths, notice)
    return paths.db.exists()


def open_unlocked(paths: VaultPaths, unlocked: Unlocked, clock: Clock | None = None) -> Vault:
    """Open with a key :func:`unlock` proved, and record what the open settled: a key change
    that had re-encrypted the file is finished, a vault without a key-check value gets one."""
    store = Store.open(paths.db, unlocked.key, read_only=unlocked.read_only)
    if unlocked.read_only is None and unlocked.changed:
        with contextlib.suppress(OSError):
            unlocked.meta.write(paths.meta)
            if unlocked.retired is not None and unlocked.retired.mode == "keyring":
                keyring_delete(unlocked.retired)
    return Vault(Repository(store, paths, unlocked.meta, clock))


class SessionVault:
    """A vault unlocked once and opened for each use: for a process that lives long and needs
    a token now and then (``tokendeck mcp-bridge`` without an agent).

    Unlocking (the KDF at SQLCipher's cost, a keyring's D-Bus round trip, a passphrase
    command) happens on the first use only; every use opens the file with the key proven then
    (about a millisecond) and closes it, so between uses the process holds the vault open
    nowhere: a restore or a passphrase change by another process is not blocked.  A key
    that no longer opens the file (the vault was re-keyed or restored meanwhile) is found
    again by unlocking anew, once per use.  Never a prompt.  Rotation-safety is the vault's
    own: every refresh takes the credential's lock, across threads and processes.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None) -> None:
        self.home = home
        self._env = env
        self._lock = threading.Lock()
        self._unlocked: tuple[VaultPaths, Unlocked] | None = None
        self.held = HeldAnswers()
        """Refresh answers the session got and could not store yet: they outlive each opening."""

    def __repr__(self) -> str:
        return f"SessionVault({self.home!r}, unlocked={self._unlocked is not None})"

    @contextlib.contextmanager
    def opened(self) -> Iterator[Vault]:
        """The vault, open for the ``with`` block.

        Raises:
            VaultError: as :func:`open_vault` (without a prompt).
        """
        vault = self._open()
        vault.held = self.held  # kept by the session: it outlives this opening
        try:
            yield vault
        finally:
            vault.close()

    def _open(self) -> Vault:
        kept = self._unlocked
        # Gone, or a restore cut short: unlock says so, or finishes it (opening would make a file).
        if kept is not None and kept[0].db.exists() and restoring.pending(kept[0]) is None:
            try:
                return open_unlocked(*kept)
            except VaultCorrupt:
                pass  # the key no longer opens it (re-keyed, restored): unlock again, which tells damage apart
        with self._lock:
            if self._unlocked is not None and self._unlocked is not kept:  # another use unlocked meanwhile
                return open_unlocked(*self._unlocked)
            self._unlocked = None
            paths, unlocked = unlock(self.home, prompt=None, env=self._env)
            vault = open_unlocked(paths, unlocked)
            # What that open had to record (a finished key change) is recorded: not again.
            self._unlocked = paths, dataclasses.replace(unlocked, changed=False, retired=None)
            return vault


def init_vault(
    home: str | os.PathLike[str] | None = None,
    *,
    mode: KeyMode | None = None,
    passphrase: str | None = None,
    prompt: Prompt | None = None,
    notice: Notice | None = None,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> Vault:
    """Create a vault and return it open.

    With ``mode=None`` the OS keyring is used when a real one works; otherwise
    the user is told so (through ``notice``) and a passphrase is used.  Never
    plaintext.

    Args:
        passphrase: the new passphrase; otherwise the environment sources, then
            ``prompt`` (asked twice) are used.

    Raises:
        AlreadyExists: a vault is already there.
        KeyringUnavailable: ``mode="keyring"`` but no keyring works.
        VaultLocked: a passphrase is needed and none could be had.
    """
    paths = resolve_home(home)
    env = os.environ if env is None else env
    restoring.settle(paths, notice)
    if paths.init_mark.exists():
        _clear_unfinished(paths)
    if paths.db.exists() or paths.meta.exists():
        raise AlreadyExists(f"a vault already exists at {paths.home}")
    if mode is None and (passphrase is not None or passphrase_from_environment(env) is not None):
        mode = "passphrase"  # the user has arranged a passphrase: take the hint
    if mode is None:
        usable, why = keyring_usable()
        if usable:
            mode = "keyring"
        else:
            if notice:
                notice(f"{why}; protecting the vault with a passphrase instead")
            mode = "passphrase"
    meta = VaultMeta.new(mode)
    key = Key.new_raw() if mode == "keyring" else _new_passphrase(passphrase, env, prompt)
    warning = passphrase_warning(key.secret.reveal()) if key.kind == "passphrase" else None
    if warning and notice:
        notice(warning)
    database_key = key.database_key(os.urandom(SALT_BYTES), meta.slot.kdf_iter)
    meta = VaultMeta(meta.vault_id, meta.slot.with_check(database_key))
    try:
        ensure_private_dir(paths.home)
    except OSError as exc:
        raise failed(exc, "create the folder", paths.home) from None
    try:
        create_private_file(paths.init_mark)
        _MAKING.add(str(paths.home))
        paths.init_mark.write_text(str(os.getpid()))
    except FileExistsError:
        raise AlreadyExists(f"tokendeck init is already making a vault at {paths.home}") from None
    except OSError as exc:
        _MAKING.discard(str(paths.home))
        _remove_unfinished(paths)
        raise failed(exc, "write", paths.init_mark) from None
    store: Store | None = None
    try:
        try:
            create_private_file(paths.db)
        except FileExistsError:
            raise AlreadyExists(f"a vault already exists at {paths.home}") from None
        if mode == "keyring":
            keyring_store(meta.slot, key)
        store = Store.create(paths.db, database_key)
        meta.write(paths.meta)
        try:
            paths.init_mark.unlink()  # the vault is whole: from here on it is one
            fsync_dir(paths.home)
        except OSError as exc:
            raise failed(exc, "remove", paths.init_mark) from None
    except BaseException as exc:
        if store is not None:
            store.close()
        if mode == "keyring":
            keyring_delete(meta.slot)
        left = _remove_unfinished(paths, created=not isinstance(exc, AlreadyExists))
        if left and isinstance(exc, VaultError):
            raise type(exc)(f"{exc.message}; tokendeck init clears what is left ({', '.join(left)})") from None
        raise
    finally:
        _MAKING.discard(str(paths.home))
    vault = Vault(Repository(store, paths, meta, clock))
    vault.records.record("init", "ok", detail=f"mode={mode}")
    return vault


def _remove_unfinished(paths: VaultPaths, *, created: bool = True) -> list[str]:
    """Remove what an unfinished init made (the database and its side files, ``vault.json``,
    when ``created``), then the mark, once they are all gone; the names of what is left."""
    left = []
    for path in [Path(f"{paths.db}-journal"), *paths.all_files()] if created else []:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            if os.path.lexists(path):
                left.append(path.name)
    if not left:  # the mark stays while anything it speaks for does
        try:
            paths.init_mark.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            left.append(paths.init_mark.name)
    return left


_MAKING: set[str] = set()
"""Vault homes an :func:`init_vault` of this process is making now: their init mark names this
process, and is not a leftover to clear."""


def _clear_unfinished(paths: VaultPaths) -> None:
    """Clear the leftover of an init that failed or was killed (:attr:`VaultPaths.init_mark`),
    unless that init is still running.

    Raises:
        AlreadyExists: its process is still running.
        VaultError: a file could not be removed (naming it).
    """
    try:
        pid = int(paths.init_mark.read_text().strip() or 0)
    except (OSError, ValueError):
        pid = 0
    if pid == os.getpid() and str(paths.home) in _MAKING:  # another thread here (a second Enter)
        raise AlreadyExists(f"a vault is being made at {paths.home}")
    if pid and pid != os.getpid() and _running(pid):
        raise AlreadyExists(f"tokendeck init (process {pid}) is making a vault at {paths.home}")
    with contextlib.suppress(VaultError):
        meta = VaultMeta.read(paths.meta)
        if meta.mode == "keyring" and paths.meta.exists():
            keyring_delete(meta.slot)
    left = _remove_unfinished(paths)
    if left:
        raise VaultError(f"could not remove {', '.join(left)} that an unfinished tokendeck init left in {paths.home}")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: running
        return True
    return True


def _new_passphrase(passphrase: str | None, env: Mapping[str, str], prompt: Prompt | None) -> Key:
    if passphrase is not None:
        return Key.passphrase(passphrase)
    key = passphrase_from_environment(env)
    if key is not None:
        return key
    if prompt is None:
        raise InvalidInput(
            f"a passphrase is needed: run in a terminal, or set {PASSPHRASE_FILE_ENV}, "
            f"{PASSPHRASE_COMMAND_ENV} or {PASSPHRASE_ENV}"
        )
    return ask_new_passphrase(prompt)


def ask_new_passphrase(prompt: Prompt) -> Key:
    """Ask for a new passphrase twice.

    Raises:
        InvalidInput: the two entries differ.
        WrongPassphrase: it is empty.
    """
    first = prompt("New vault passphrase: ")
    key = Key.passphrase(first)
    if prompt("Repeat the passphrase: ") != first:
        raise InvalidInput("the passphrases do not match; nothing was changed")
    return key


def change_to_passphrase(vault: Vault, new_passphrase: str) -> None:
    """Re-encrypt under a new passphrase (from either mode); drops a keyring entry."""
    key = Key.passphrase(new_passphrase)
    old = vault.records.meta
    vault.records.keys.rekey(key, KeySlot("passphrase", kdf_iter=keys.KDF_ITER), detail=f"{old.mode}->passphrase")
    if old.mode == "keyring":
        keyring_delete(old.slot)


def change_to_keyring(vault: Vault) -> None:
    """Re-encrypt under a fresh random key kept in the OS keyring (from either mode).

    The new key goes into the keyring, under a new entry, before the database is
    re-keyed; the old entry is removed only afterwards.

    Raises:
        KeyringUnavailable: no real keyring works here; nothing was changed.
    """
    old = vault.records.meta
    usable, why = keyring_usable()
    if not usable:
        raise KeyringUnavailable(f"{why}; the vault was not changed")
    key = Key.new_raw()
    new = KeySlot("keyring", f"vault-{old.vault_id}-{os.urandom(4).hex()}")
    keyring_store(new, key)
    try:
        vault.records.keys.rekey(key, new, detail=f"{old.mode}->keyring")
    except BaseException:
        if vault.records.meta.slot.keyring_user != new.keyring_user:  # not re-encrypted: the new key is no one's
            keyring_delete(new)
        raise
    if old.mode == "keyring":
        keyring_delete(old.slot)
