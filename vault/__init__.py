"""tokendeck's core: an encrypted token vault you can use without the TUI.

::

    import vault

    with vault.open_vault() as v:          # $TOKENDECK_HOME, keyring or passphrase env
        token = v.token("github")          # a token that is valid now

This package never imports textual, rich or the ``screens`` package, and keeps
its own imports light so ``tokendeck token`` starts fast.
"""

from __future__ import annotations

from vault.api import get_token, google_credentials, httpx_auth
from vault.clock import Clock, FrozenClock, SystemClock
from vault.core import Vault
from vault.errors import (
    AlreadyExists,
    InvalidInput,
    NeedsSignIn,
    NotFound,
    NoVault,
    VaultBusy,
    VaultCorrupt,
    VaultError,
    VaultLocked,
    VaultTooNew,
    WrongPassphrase,
)
from vault.model import AuditEvent, ClientRegistration, Credential
from vault.opening import change_to_keyring, change_to_passphrase, init_vault, open_vault
from vault.secret import Secret

__all__ = [
    "AlreadyExists",
    "AuditEvent",
    "ClientRegistration",
    "Clock",
    "Credential",
    "FrozenClock",
    "InvalidInput",
    "NeedsSignIn",
    "NoVault",
    "NotFound",
    "Secret",
    "SystemClock",
    "Vault",
    "VaultBusy",
    "VaultCorrupt",
    "VaultError",
    "VaultLocked",
    "VaultTooNew",
    "WrongPassphrase",
    "change_to_keyring",
    "change_to_passphrase",
    "get_token",
    "google_credentials",
    "httpx_auth",
    "init_vault",
    "open_vault",
]
