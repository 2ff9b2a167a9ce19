"""Google credentials for Google's own client libraries.

Sign-in to Google goes through google-auth-oauthlib; programs that use Google's
APIs want a ``google.oauth2.credentials.Credentials``.  :func:`credentials`
builds one from a stored credential and its client registration.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from vault.core.providers import builtin, resolve
from vault.errors import InvalidInput
from vault.services.tokens import Vault


def credentials(vault: Vault, name: str) -> Any:
    """A ``google.oauth2.credentials.Credentials`` for the stored credential ``name``,
    refreshed first when it is due.

    Raises:
        NotFound: no such credential, or no registration for its provider.
        InvalidInput: it is not a Google credential.
        NeedsSignIn: its access token cannot be used now.
    """
    from google.oauth2.credentials import Credentials

    return Credentials(**_fields(vault, name, fresh=True))  # type: ignore[no-untyped-call]


def _fields(vault: Vault, name: str, *, fresh: bool) -> dict[str, Any]:
    """The ``Credentials`` arguments for ``name``; with ``fresh``, refreshed first when due.  One
    stored without its client id (by :mod:`vault.compat`) has none, and the token URI it came with."""
    stored = vault.get(name)
    registration = None if stored.no_client_id else vault.records.get_client(stored.provider)
    provider = builtin(stored.provider) if registration is None else resolve(registration)
    if provider.client_library != "google-auth-oauthlib":
        raise InvalidInput(f"{name} is a {stored.provider} credential, not a Google one")
    if fresh:
        vault.token(name)  # refreshed first when due...
    credential = vault.get(name)  # ...so read the facts after it
    expiry = None
    if credential.expires_at is not None:  # google-auth wants naive UTC
        expiry = datetime.fromtimestamp(credential.expires_at, UTC).replace(tzinfo=None)
    return {
        "token": None if credential.access_token is None else credential.access_token.reveal(),
        "refresh_token": None if credential.refresh_token is None else credential.refresh_token.reveal(),
        "id_token": credential.id_token.reveal() if credential.id_token else None,
        "token_uri": provider.token_url if registration is not None else credential.extras.get("token_uri"),
        "client_id": registration.client_id if registration is not None else None,
        "client_secret": registration.client_secret.reveal() if registration and registration.client_secret else None,
        "scopes": list(credential.scopes) or None,
        "expiry": expiry,
    }


VaultSource = Callable[[], AbstractContextManager[Vault]]
"""Lends a vault for one refresh: an already open one, or one opened for the occasion."""


@functools.cache
def _vault_credentials_class() -> Any:
    """Defined on first use, so importing this module does not import google-auth."""
    from google.oauth2.credentials import Credentials

    class VaultCredentials(Credentials):
        """Google ``Credentials`` whose ``refresh`` goes through the vault.

        google-auth calls :meth:`refresh` when the token has expired; instead of
        talking to Google itself (leaving the vault with a stale, maybe rotated-away
        pair), it runs the vault's rotation-safe refresh and takes the stored result.
        """

        _vault_name: str
        _vault_source: VaultSource

        def refresh(self, request: Any) -> None:
            """Refresh through the vault (``request``, google-auth's transport, is unused)."""
            from google.auth.exceptions import RefreshError

            from vault.errors import VaultError
            from vault.services.refreshing import refresh

            try:
                with self._vault_source() as v:
                    refresh(v, self._vault_name, force=True)
                    fresh = _fields(v, self._vault_name, fresh=False)
            except VaultError as exc:  # what google-auth's callers catch, with our one-line message
                raise RefreshError(exc.message) from None  # type: ignore[no-untyped-call]
            self.token = fresh["token"]
            self.expiry = fresh["expiry"]
            self._refresh_token = fresh["refresh_token"]

    return VaultCredentials


def vault_credentials(vault: Vault, name: str, source: VaultSource, *, fresh: bool = True) -> Any:
    """Credentials for ``name`` whose every refresh goes through the vault ``source`` lends;
    with ``fresh``, refreshed first when due, else exactly as stored (even expired)."""
    made = _vault_credentials_class()(**_fields(vault, name, fresh=fresh))
    made._vault_name = name
    made._vault_source = source
    return made


def load_credentials(name: str, *, home: Any = None) -> Any:
    """Credentials for ``name`` that refresh through the vault (see ``vault.google_credentials``)."""
    from vault.services.opening import open_vault

    with open_vault(home) as v:
        return vault_credentials(v, name, lambda: open_vault(home))
