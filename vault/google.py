"""Google credentials for Google's own client libraries.

Sign-in to Google goes through google-auth-oauthlib; programs that use Google's
APIs want a ``google.oauth2.credentials.Credentials``.  :func:`credentials`
builds one from a stored credential and its client registration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vault.core import Vault
from vault.errors import InvalidInput
from vault.providers import resolve


def credentials(vault: Vault, name: str) -> Any:
    """A ``google.oauth2.credentials.Credentials`` for the stored credential ``name``.

    Raises:
        NotFound: no such credential, or no registration for its provider.
        InvalidInput: it is not a Google credential.
        NeedsSignIn: its access token cannot be used now.
    """
    from google.oauth2.credentials import Credentials

    credential = vault.get(name)
    registration = vault.get_client(credential.provider)
    provider = resolve(registration)
    if provider.client_library != "google-auth-oauthlib":
        raise InvalidInput(f"{name} is a {credential.provider} credential, not a Google one")
    token = vault.token(name)
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
