"""Where the key that opens the vault comes from.

Two modes, recorded (never the key itself) in ``vault.json`` beside the database:

- **keyring**: a random 256-bit key, kept in the OS keyring, given to SQLCipher
  as a raw key (no KDF, so unlocking is instant).
- **passphrase**: SQLCipher derives the key from a passphrase with its own KDF
  at its default cost.

A passphrase vault is unlocked by the first of these that is set:
``TOKENDECK_PASSPHRASE_COMMAND`` (its standard output), ``TOKENDECK_PASSPHRASE_FILE``
(the file's first line), ``TOKENDECK_PASSPHRASE``, and finally an interactive
prompt when the caller supplies one.  A keyring vault is unlocked by its keyring
entry alone.  A missing keyring never falls back to plaintext: ``init`` asks for
a passphrase instead.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vault.core.paths import write_private_atomic
from vault.core.secret import Secret
from vault.errors import InvalidInput, KeyringUnavailable, VaultCorrupt, VaultLocked, WrongPassphrase
from vault.settings import PASSPHRASE_COMMAND_ENV, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV

KeyMode = Literal["keyring", "passphrase"]
Prompt = Callable[[str], str]
"""Asks the user for a hidden line of input, given the prompt text."""

KEYRING_SERVICE = "tokendeck"
MAX_PASSPHRASE = 1024


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

    def sql_literal(self) -> str:
        """The key as the SQL literal ``PRAGMA key`` and ``PRAGMA rekey`` expect."""
        if self.kind == "raw":
            return f"\"x'{self.secret.reveal()}'\""
        return "'" + self.secret.reveal().replace("'", "''") + "'"


@dataclass(frozen=True)
class VaultMeta:
    """The non-secret facts needed before unlocking: the vault id and key mode."""

    vault_id: str
    mode: KeyMode
    keyring_user: str | None = None

    @classmethod
    def new(cls, mode: KeyMode) -> VaultMeta:
        import uuid

        vault_id = uuid.uuid4().hex
        return cls(vault_id, mode, f"vault-{vault_id}" if mode == "keyring" else None)

    @classmethod
    def read(cls, path: Path) -> VaultMeta:
        """Read ``vault.json``; a vault copied without it is taken to be a passphrase vault."""
        try:
            raw: Any = json.loads(path.read_bytes())
        except FileNotFoundError:
            return cls("unknown", "passphrase")
        except (OSError, ValueError):
            raise VaultCorrupt(f"{path} is unreadable; it should hold the vault's key mode") from None
        if not isinstance(raw, dict) or raw.get("mode") not in ("keyring", "passphrase"):
            raise VaultCorrupt(f"{path} does not describe a tokendeck vault")
        return cls(str(raw.get("vault_id", "unknown")), raw["mode"], raw.get("keyring_user"))

    def write(self, path: Path) -> None:
        data = {"format": 1, "vault_id": self.vault_id, "mode": self.mode}
        if self.keyring_user:
            data["keyring_user"] = self.keyring_user
        write_private_atomic(path, (json.dumps(data, indent=2) + "\n").encode())


def passphrase_from_environment(env: Mapping[str, str]) -> Key | None:
    """The passphrase from the first of the three environment sources that is set."""
    if command := env.get(PASSPHRASE_COMMAND_ENV):
        return Key.passphrase(_run_passphrase_command(command))
    if file := env.get(PASSPHRASE_FILE_ENV):
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise VaultLocked(f"cannot read {PASSPHRASE_FILE_ENV} ({file}): {reason}") from None
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


def unlock_key(meta: VaultMeta, env: Mapping[str, str], prompt: Prompt | None) -> Key:
    """Find the key for an existing vault, in the documented order.

    Raises:
        VaultLocked: no source has the key (the message says which to set).
        WrongPassphrase: a source gave an empty passphrase.
    """
    if meta.mode == "keyring":
        return Key("raw", Secret(_keyring_get(meta)))
    key = passphrase_from_environment(env)
    if key is not None:
        return key
    if prompt is not None:
        return Key.passphrase(prompt("Vault passphrase: "))
    raise VaultLocked(
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


def _keyring_get(meta: VaultMeta) -> str:
    from keyring.errors import KeyringError

    try:
        value = _backend().get_password(KEYRING_SERVICE, meta.keyring_user)
    except KeyringUnavailable as exc:
        raise VaultLocked(f"this vault's key is in the OS keyring, but {exc.message}") from None
    except KeyringError as exc:
        raise VaultLocked(f"the OS keyring refused to give the vault key: {type(exc).__name__}") from None
    if value is None:
        raise VaultLocked(
            f"the OS keyring has no key for this vault (service {KEYRING_SERVICE!r}, user {meta.keyring_user!r})"
        )
    return str(value)


def keyring_store(meta: VaultMeta, key: Key) -> None:
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


def keyring_delete(meta: VaultMeta) -> None:
    """Remove ``meta``'s keyring entry if it is there."""
    from keyring.errors import KeyringError

    with contextlib.suppress(KeyringError, KeyringUnavailable):
        _backend().delete_password(KEYRING_SERVICE, meta.keyring_user)
