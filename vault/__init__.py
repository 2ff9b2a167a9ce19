"""tokendeck's core: an encrypted token vault you can use without the TUI.

::

    import vault

    with vault.open_vault() as v:          # $TOKENDECK_HOME, keyring or passphrase env
        token = v.token("github")          # a token that is valid now

This package never imports textual, rich or the ``screens`` package, and keeps
its own imports light so ``tokendeck token`` starts fast.

Names are loaded on first use (PEP 562): ``import vault`` itself costs nothing,
which is what lets ``tokendeck token`` through the agent start about as fast as
the bare interpreter.
"""

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on the hot path
# (nor `from __future__ import annotations`, another module to load: see docs/launcher.md)

if TYPE_CHECKING:
    from vault.core.clock import Clock, FrozenClock, SystemClock
    from vault.core.model import AuditEvent, ClientRegistration, Credential
    from vault.core.secret import Secret
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
    from vault.integrations.api import get_token, google_credentials, httpx_auth
    from vault.services.opening import change_to_keyring, change_to_passphrase, init_vault, open_vault
    from vault.services.tokens import Vault

_HOMES = {
    "get_token": "vault.integrations.api",
    "google_credentials": "vault.integrations.api",
    "httpx_auth": "vault.integrations.api",
    "Clock": "vault.core.clock",
    "FrozenClock": "vault.core.clock",
    "SystemClock": "vault.core.clock",
    "Vault": "vault.services.tokens",
    "AuditEvent": "vault.core.model",
    "ClientRegistration": "vault.core.model",
    "Credential": "vault.core.model",
    "change_to_keyring": "vault.services.opening",
    "change_to_passphrase": "vault.services.opening",
    "init_vault": "vault.services.opening",
    "open_vault": "vault.services.opening",
    "Secret": "vault.core.secret",
}
"""Where each public name lives; the errors all live in :mod:`vault.errors`."""


def __getattr__(name: str) -> object:
    import importlib

    if name in _HOMES or name in __all__:
        value = getattr(importlib.import_module(_HOMES.get(name, "vault.errors")), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'vault' has no attribute {name!r}")


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
