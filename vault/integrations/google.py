"""Google credentials for Google's own client libraries.

Sign-in to Google goes through google-auth-oauthlib; programs that use Google's
APIs want a ``google.oauth2.credentials.Credentials``.  :func:`credentials`
builds one from a stored credential and its client registration.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from vault.core.providers import resolve
from vault.errors import InvalidInput
from vault.services.tokens import Vault


def credentials(vault: Vault, name: str) -> Any:
    """A ``google.oauth2.credentials.Credentials`` for the stored credential ``name``.

    Raises:
        NotFound: no such credential, or no registration for its provider.
        InvalidInput: it is not a Google credential.
        NeedsSignIn: its access token cannot be used now.
    """
    from google.oauth2.credentials import Credentials

    registration = vault.get_client(vault.get(name).provider)
    provider = resolve(registration)
    if provider.client_library != "google-auth-oauthlib":
        raise InvalidInput(f"{name} is a {registration.provider} credential, not a Google one")
    token = vault.token(name)  # refreshed first when due
    credential = vault.get(name)  # ...so read the facts after it
    expiry = None
    if credential.expires_at is not None:  # google-auth wants naive UTC
        expiry = datetime.fromtimestamp(credential.expires_at, UTC).replace(tzinfo=None)
    return Credentials(  # type: ignore[no-untyped-call]
        token=token,
        refresh_token=credential.refresh_token.reveal() if credential.refresh_token else None,
        id_token=credential.id_token.reveal() if credential.id_token else None,
        token_uri=provider.token_url,
        client_id=registration.client_id,
        client_secret=registration.client_secret.reveal() if registration.client_secret else None,
        scopes=list(credential.scopes) or None,
        expiry=expiry,
    )


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
        _vault_home: Any

        def refresh(self, request: Any) -> None:
            """Refresh through the vault (``request``, google-auth's transport, is unused)."""
            from vault.services.opening import open_vault
            from vault.services.tokens import refresh

            with open_vault(self._vault_home) as v:
                refresh(v, self._vault_name, force=True)
                fresh = credentials(v, self._vault_name)
            self.token = fresh.token
            self.expiry = fresh.expiry
            self._refresh_token = fresh.refresh_token

    return VaultCredentials


def load_credentials(name: str, *, home: Any = None) -> Any:
    """Credentials for ``name`` that refresh through the vault (see ``vault.google_credentials``)."""
    from vault.services.opening import open_vault

    with open_vault(home) as v:
        base = credentials(v, name)
    made = _vault_credentials_class()(
        token=base.token,
        refresh_token=base.refresh_token,
        id_token=base.id_token,
        token_uri=base.token_uri,
        client_id=base.client_id,
        client_secret=base.client_secret,
        scopes=base.scopes,
        expiry=base.expiry,
    )
    made._vault_name = name
    made._vault_home = home
    return made
