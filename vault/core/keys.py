"""Where the key that opens the vault comes from.

Two modes, recorded (never the key itself) in ``vault.json`` beside the database:

- **keyring**: a random 256-bit key, kept in the OS keyring, given to SQLCipher
  as a raw key (no KDF, so unlocking is instant).
- **passphrase**: the key is derived from a passphrase with SQLCipher 4's own KDF
  (PBKDF2-HMAC-SHA512, 256,000 iterations, the salt in the file's first 16 bytes).
  tokendeck runs that KDF itself (:meth:`Key.database_key`), so SQLCipher only ever
  sees the derived 256-bit key, which a ``sqlcipher`` shell still opens with the passphrase.

``vault.json`` also keeps a **key-check value** for each key: an HMAC of the derived key
under a fixed label, so it reveals nothing a 256-bit random value would not.  A key whose
check value does not match is wrong, and is refused before any file is opened; a key whose
check value matches but that does not decrypt the file means the file is damaged.  While
a passphrase change is in flight ``vault.json`` also holds the next key's slot
(:class:`KeySlot`), so a change cut short at any step still opens with exactly one of the
two passphrases, and the message says which.

A passphrase vault is unlocked by the first of these that is set:
``TOKENDECK_PASSPHRASE_COMMAND`` (its standard output), ``TOKENDECK_PASSPHRASE_FILE``
(the file's first line), ``TOKENDECK_PASSPHRASE``, and finally an interactive
prompt when the caller supplies one.  A keyring vault is unlocked by its keyring
entry alone.  A missing keyring never falls back to plaintext: ``init`` asks for
a passphrase instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from vault.core.paths import write_private_atomic
from vault.core.secret import Secret
from vault.errors import (
    InvalidInput,
    KeyringUnavailable,
    NoKey,
    VaultCorrupt,
    VaultLocked,
    VaultUnusable,
    WrongPassphrase,
)
from vault.settings import PASSPHRASE_COMMAND_ENV, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV

KeyMode = Literal["keyring", "passphrase"]
Prompt = Callable[[str], str]
"""Asks the user for a hidden line of input, given the prompt text."""

KEYRING_SERVICE = "tokendeck"
MAX_PASSPHRASE = 1024
SHORT_PASSPHRASE = 12
"""A new passphrase shorter than this is taken, with a warning (:func:`passphrase_warning`)."""
SALT_BYTES = 16
"""SQLCipher's salt: the first bytes of the database file, stored in the clear."""
SQLCIPHER_KDF_ITER = 256_000
"""SQLCipher 4's default PBKDF2-HMAC-SHA512 cost: what a vault without a recorded cost used."""
KDF_ITER = SQLCIPHER_KDF_ITER
"""The cost of every new passphrase key.  Only the test suite's one fixture lowers it; the cost
an existing vault was made with is read from its ``vault.json``."""
_CHECK_LABEL = b"tokendeck key check v1"


@dataclass(frozen=True)
class Key:
    """Key material for SQLCipher: a raw 256-bit key (hex) or a passphrase."""

    kind: Literal["raw", "passphrase"]
    secret: Secret

    @classmethod
    def passphrase(cls, text: str) -> Key:
        """A passphrase key, checked to be usable.

        Raises:
            WrongPassphrase: an empty passphrase.
            InvalidInput: a NUL byte or an absurd length.
        """
        if not text:
            raise WrongPassphrase("empty passphrase")
        if "\x00" in text or len(text) > MAX_PASSPHRASE:
            raise InvalidInput("a passphrase may not contain NUL or exceed 1024 characters")
        return cls("passphrase", Secret(text))

    @classmethod
    def new_raw(cls) -> Key:
        """A fresh random 256-bit key."""
        import secrets  # deferred, like uuid below: only init and rekey need them

        return cls("raw", Secret(secrets.token_hex(32)))

    def database_key(self, salt: bytes, kdf_iter: int) -> DatabaseKey:
        """The 256-bit key SQLCipher encrypts with: a raw key as it is, a passphrase through
        SQLCipher 4's KDF (PBKDF2-HMAC-SHA512 over ``salt``, ``kdf_iter`` rounds)."""
        if self.kind == "raw":
            return DatabaseKey(self.secret, salt)
        derived = hashlib.pbkdf2_hmac("sha512", self.secret.reveal().encode("utf-8"), salt, kdf_iter, 32)
        return DatabaseKey(Secret(derived.hex()), salt)


def passphrase_warning(passphrase: str) -> str | None:
    """What to tell the user about a new passphrase that is easy to guess, or None."""
    if len(passphrase) < SHORT_PASSPHRASE:
        return (
            f"the passphrase is shorter than {SHORT_PASSPHRASE} characters: anyone with a copy of the "
            "vault file can try guesses offline; a few random words are stronger"
        )
    return None


@dataclass(frozen=True)
class DatabaseKey:
    """The derived key and the file's salt: all SQLCipher is ever given."""

    secret: Secret
    """64 hex digits."""
    salt: bytes

    def sql_literal(self) -> str:
        """The key as the SQL literal ``PRAGMA key`` and ``PRAGMA rekey`` expect (key and salt)."""
        return f"\"x'{self.secret.reveal()}{self.salt.hex()}'\""

    def check_value(self) -> str:
        """A value that tells this key from any other and reveals nothing about it."""
        return hmac.new(bytes.fromhex(self.secret.reveal()), _CHECK_LABEL, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class KeySlot:
    """One key that may open the vault: its mode, keyring entry, KDF cost and check value."""

    mode: KeyMode
    keyring_user: str | None = None
    kdf_iter: int = SQLCIPHER_KDF_ITER
    check: str | None = None

    def with_check(self, key: DatabaseKey) -> KeySlot:
        """This slot, with ``key``'s check value."""
        return replace(self, check=key.check_value())

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mode": self.mode, "kdf_iter": self.kdf_iter}
        if self.keyring_user:
            data["keyring_user"] = self.keyring_user
        if self.check:
            data["check"] = self.check
        return data

    @classmethod
    def from_json(cls, raw: Any) -> KeySlot:
        """Raises VaultCorrupt: not a slot tokendeck wrote."""
        if not isinstance(raw, dict) or raw.get("mode") not in ("keyring", "passphrase"):
            raise VaultCorrupt("vault.json does not describe a tokendeck vault's key")
        kdf_iter, check, user = raw.get("kdf_iter", SQLCIPHER_KDF_ITER), raw.get("check"), raw.get("keyring_user")
        if not isinstance(kdf_iter, int) or not 1 <= kdf_iter <= 100_000_000 or not isinstance(check, str | None):
            raise VaultCorrupt("vault.json's key description is damaged")
        return cls(raw["mode"], str(user) if user else None, kdf_iter, check)


@dataclass(frozen=True)
class VaultMeta:
    """The non-secret facts needed before unlocking: the vault id, its key's slot, and while
    a key change is in flight, the next key's slot."""

    vault_id: str
    slot: KeySlot
    pending: KeySlot | None = None

    @property
    def mode(self) -> KeyMode:
        return self.slot.mode

    @property
    def keyring_user(self) -> str | None:
        return self.slot.keyring_user

    @classmethod
    def new(cls, mode: KeyMode) -> VaultMeta:
        import uuid

        vault_id = uuid.uuid4().hex
        user = f"vault-{vault_id}" if mode == "keyring" else None
        return cls(vault_id, KeySlot(mode, user, KDF_ITER))

    @classmethod
    def read(cls, path: Path) -> VaultMeta:
        """Read ``vault.json``; a vault copied without it is taken to be a passphrase vault."""
        from vault.core.outside import load_json

        try:
            raw: Any = load_json(path.read_bytes())
        except FileNotFoundError:
            return cls("unknown", KeySlot("passphrase"))
        except PermissionError:
            raise VaultUnusable(f"permission denied reading {path}") from None
        except ValueError:
            raise VaultCorrupt(f"{path} is unreadable; it should hold the vault's key mode") from None
        except OSError as exc:  # an I/O error is the disk's, not the file's: it may read next time
            raise VaultUnusable(f"could not read {path}: {exc.strerror}") from None
        if not isinstance(raw, dict):
            raise VaultCorrupt(f"{path} does not describe a tokendeck vault")
        pending = KeySlot.from_json(raw["pending"]) if raw.get("pending") is not None else None
        return cls(str(raw.get("vault_id", "unknown")), KeySlot.from_json(raw), pending)

    def write(self, path: Path) -> None:
        data = {"format": 1, "vault_id": self.vault_id, **self.slot.to_json()}
        if self.pending is not None:
            data["pending"] = self.pending.to_json()
        write_private_atomic(path, (json.dumps(data, indent=2) + "\n").encode())


MAX_PASSPHRASE_FILE = 64 * 1024
"""The largest passphrase file read (its first line is the passphrase)."""


def passphrase_from_environment(env: Mapping[str, str]) -> Key | None:
    """The passphrase from the first of the three environment sources that is set."""
    if command := env.get(PASSPHRASE_COMMAND_ENV):
        return Key.passphrase(_run_passphrase_command(command))
    if file := env.get(PASSPHRASE_FILE_ENV):
        from vault.core.outside import read_file
        from vault.errors import VaultError

        try:
            text = read_file(Path(file), MAX_PASSPHRASE_FILE).decode("utf-8")
        except VaultError as exc:  # a FIFO or a device too: regular files only
            hint = f" (for a command's output: {PASSPHRASE_COMMAND_ENV})" if "not a regular file" in exc.message else ""
            raise VaultLocked(f"cannot read {PASSPHRASE_FILE_ENV}: {exc.message}{hint}") from None
        except UnicodeDecodeError:
            raise VaultLocked(f"cannot read {PASSPHRASE_FILE_ENV} ({file}): not UTF-8 text") from None
        return Key.passphrase(text.splitlines()[0] if text else "")
    if PASSPHRASE_ENV in env:
        return Key.passphrase(env[PASSPHRASE_ENV])
    return None


def _run_passphrase_command(command: str) -> str:
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
        done = subprocess.run(argv, stdout=subprocess.PIPE, check=False)  # noqa: S603 - the user's own command
    except (OSError, ValueError) as exc:
        raise VaultLocked(f"{PASSPHRASE_COMMAND_ENV} could not be run: {exc}") from None
    if done.returncode != 0:
        raise VaultLocked(f"{PASSPHRASE_COMMAND_ENV} failed with exit code {done.returncode}")
    try:
        text = done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise VaultLocked(f"{PASSPHRASE_COMMAND_ENV} printed something that is not UTF-8") from None
    return text.rstrip("\r\n")


def unlock_key(slot: KeySlot, env: Mapping[str, str], prompt: Prompt | None) -> Key:
    """Find the key for one of a vault's slots, in the documented order.

    Raises:
        NoKey: no source has the key (the message says which to set).
        WrongPassphrase: a source gave an empty passphrase.
    """
    if slot.mode == "keyring":
        return Key("raw", Secret(_keyring_get(slot)))
    key = passphrase_from_environment(env)
    if key is not None:
        return key
    if prompt is not None:
        return Key.passphrase(prompt("Vault passphrase: "))
    raise NoKey(
        f"the vault is locked: run in a terminal, or set {PASSPHRASE_COMMAND_ENV}, "
        f"{PASSPHRASE_FILE_ENV} or {PASSPHRASE_ENV}"
    )


# ------------------------------------------------------------------- keyring


def _backend() -> Any:
    import keyring  # deferred: only keyring vaults pay for it

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if "fail" in name.split(".") or "null" in name.split(".") or "Plaintext" in name:
        raise KeyringUnavailable(f"no usable OS keyring (backend {name})")
    return backend


def keyring_usable() -> tuple[bool, str]:
    """Whether a real, encrypted OS keyring backend is configured, and its name."""
    try:
        backend = _backend()
    except KeyringUnavailable as exc:
        return False, exc.message
    return True, f"{type(backend).__module__}.{type(backend).__name__}"


def _keyring_get(meta: KeySlot) -> str:
    from keyring.errors import KeyringError

    try:
        value = _backend().get_password(KEYRING_SERVICE, meta.keyring_user)
    except KeyringUnavailable as exc:
        raise VaultLocked(f"this vault's key is in the OS keyring, but {exc.message}") from None
    except KeyringError as exc:
        raise VaultLocked(f"the OS keyring refused to give the vault key: {type(exc).__name__}") from None
    if value is None:
        user = repr(meta.keyring_user) if meta.keyring_user else "not recorded"
        raise VaultLocked(f"the OS keyring has no key for this vault (service {KEYRING_SERVICE!r}, user {user})")
    return str(value)


def keyring_store(meta: KeySlot, key: Key) -> None:
    """Put a raw key into the keyring under ``meta``'s entry and read it back.

    Raises:
        KeyringUnavailable: the keyring is missing, refuses, or loses the value.
    """
    from keyring.errors import KeyringError

    backend = _backend()
    try:
        backend.set_password(KEYRING_SERVICE, meta.keyring_user, key.secret.reveal())
        stored = backend.get_password(KEYRING_SERVICE, meta.keyring_user)
    except KeyringError as exc:
        raise KeyringUnavailable(f"the OS keyring refused to store the vault key: {type(exc).__name__}") from None
    if stored != key.secret.reveal():
        raise KeyringUnavailable("the OS keyring did not keep the vault key")


def keyring_delete(meta: KeySlot) -> None:
    """Remove ``meta``'s keyring entry if it is there."""
    from keyring.errors import KeyringError

    with contextlib.suppress(KeyringError, KeyringUnavailable):
        _backend().delete_password(KEYRING_SERVICE, meta.keyring_user)
