"""The drop-in replacement for the plaintext SQLite ``TokenStorage``, backed by the
encrypted vault.

:class:`TokenStorage` has the method names and return shapes of the documented
SQLite ``TokenStorage`` (per-user Jira personal access tokens and per-user Google
Drive credentials); the Linear store is :mod:`vault.integrations.linear_store`.
Every token lands in the vault, encrypted; nothing is written anywhere else.

Records are named and dated as :mod:`vault.integrations.keyed` says.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import TYPE_CHECKING, Any

from vault.core.model import ClientRegistration, Credential
from vault.core.secret import Secret
from vault.errors import InvalidInput, NeedsSignIn
from vault.integrations.keyed import (
    GDRIVE_PREFIX,
    GOOGLE_BASE,
    JIRA_PREFIX,
    JIRA_PROVIDER,
    KeyedStore,
    credential_name,
    iso,
    posix,
)
from vault.services.tokens import Vault

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

__all__ = ["TokenStorage"]


class TokenStorage(KeyedStore):
    """Per-user Jira tokens and Google Drive credentials, kept in the vault.

    The replacement for the SQLite ``TokenStorage``: the same methods and the same
    return shapes, but every token is encrypted at rest.

    Args:
        home: the vault directory (default ``$TOKENDECK_HOME`` or the platform's).
        passphrase: for a passphrase vault (otherwise the keyring, or the
            ``TOKENDECK_PASSPHRASE*`` environment sources).
        vault: an already open vault to use instead (not closed by :meth:`close`).
        create: create the vault when there is none yet (instead of raising
            :class:`~vault.errors.NoVault`).
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        passphrase: str | None = None,
        *,
        vault: Vault | None = None,
        create: bool = False,
    ) -> None:
        super().__init__(home, passphrase, vault, create)

    # ------------------------------------------------------------------- Jira

    def upsert_jira_token(self, user_id: str, token: str, server_url: str, username: str | None = None) -> None:
        """Store (or replace) ``user_id``'s Jira personal access token.

        ``created_at`` is kept across updates; ``updated_at`` moves.

        Raises:
            InvalidInput: an empty user id, or a token that is empty, has whitespace or is over 64 KiB.
        """
        name = credential_name(JIRA_PREFIX, user_id)
        if not server_url:
            raise InvalidInput("server_url is required")
        extras = {"user_id": user_id, "server_url": server_url, "username": username}
        self._vault.add_static(name, provider=JIRA_PROVIDER, token=token, account=username, extras=extras, replace=True)

    def get_jira_token(self, user_id: str) -> dict[str, Any] | None:
        """``{user_id, token, server_url, username, created_at, updated_at}``, or None."""
        credential = self._find(credential_name(JIRA_PREFIX, user_id), "user_id", user_id)
        if credential is None or credential.access_token is None:
            return None
        return {
            "user_id": user_id,
            "token": credential.access_token.reveal(),
            "server_url": credential.extras.get("server_url"),
            "username": credential.extras.get("username"),
            "created_at": iso(credential.created_at),
            "updated_at": iso(credential.updated_at),
        }

    def delete_jira_token(self, user_id: str) -> bool:
        """Delete ``user_id``'s Jira token: True if there was one."""
        return self._delete(credential_name(JIRA_PREFIX, user_id), "user_id", user_id)

    def list_users_with_jira_tokens(self) -> list[str]:
        """Every user id with a stored Jira token, sorted."""
        return self._keys(JIRA_PREFIX, "user_id")

    # ----------------------------------------------------------- Google Drive

    def upsert_gdrive_token(self, user_id: str, credentials: Credentials) -> None:
        """Store (or replace) ``user_id``'s Google credentials.

        The access and refresh tokens, expiry and scopes become the credential
        ``gdrive-user-<user_id>``; the OAuth client (id, secret, token URI) becomes
        a ``google``-based client registration, reused when one with the same
        client id and token URI exists (its secret is updated if it changed), so
        the vault can refresh the token itself.

        Raises:
            InvalidInput: no client id, or neither an access nor a refresh token.
        """
        name = credential_name(GDRIVE_PREFIX, user_id)
        token: str | None = credentials.token
        refresh_token: str | None = credentials.refresh_token
        if not token and not refresh_token:
            raise InvalidInput("the credentials hold neither an access token nor a refresh token")
        provider = self._google_registration(credentials)
        now = self._vault.clock.now()
        scopes = credentials.scopes or credentials.granted_scopes or ()
        id_token = credentials.id_token if isinstance(credentials.id_token, str) else None
        self._vault.save(
            Credential(
                name=name,
                provider=provider,
                kind="oauth",
                access_token=Secret(token) if token else None,
                refresh_token=Secret(refresh_token) if refresh_token else None,
                id_token=Secret(id_token) if id_token else None,
                token_type="Bearer",
                scopes=tuple(scopes),
                expires_at=posix(credentials.expiry),
                extras={"user_id": user_id},
                created_at=now,
                updated_at=now,
                last_refreshed_at=now,  # the tokens were issued now: their lifetime counts from here
            ),
            action="compat-upsert",
        )

    def _google_registration(self, credentials: Credentials) -> str:
        """The provider name of a google-based registration for these credentials' client."""
        from vault.core.providers import builtin, resolve

        client_id: str | None = credentials.client_id
        if not client_id:
            raise InvalidInput("the credentials have no client_id; the vault needs it to refresh them")
        secret: str | None = credentials.client_secret
        token_uri: str = credentials.token_uri or builtin(GOOGLE_BASE).token_url or ""
        overrides = {} if token_uri == builtin(GOOGLE_BASE).token_url else {"token_url": token_uri}
        clients = self._vault.clients()
        for registration in clients:
            if registration.base != GOOGLE_BASE or registration.client_id != client_id:
                continue
            if resolve(registration).token_url != token_uri:
                continue
            stored = registration.client_secret.reveal() if registration.client_secret else None
            if secret and stored != secret:
                self._vault.set_client(dataclasses.replace(registration, client_secret=Secret(secret)))
            return registration.provider
        taken = {r.provider for r in clients}
        provider = GOOGLE_BASE
        if provider in taken:
            digest = hashlib.sha256(f"{client_id}\n{token_uri}".encode()).hexdigest()[:10]
            provider = f"google-{digest}"
        registration = ClientRegistration(
            provider=provider,
            base=GOOGLE_BASE,
            client_id=client_id,
            client_secret=Secret(secret) if secret else None,
            overrides=overrides,
        )
        resolve(registration)  # refuses a token URI that is neither https nor loopback http
        self._vault.set_client(registration)
        return provider

    def get_gdrive_credentials(self, user_id: str) -> Credentials | None:
        """``user_id``'s ``google.oauth2.credentials.Credentials``, valid now, or None.

        An access token that is expired (or expires within a minute) is refreshed
        first through the vault (once, under its lock), and the new tokens are
        stored in the vault before they are returned.  None also when the grant is
        dead (revoked at Google, or refused): the user must connect again.

        Raises:
            ProviderError: Google could not be reached or failed (the stored credential is unchanged).
        """
        from vault.integrations.google import credentials as google_credentials
        from vault.services.tokens import refresh

        name = credential_name(GDRIVE_PREFIX, user_id)
        credential = self._find(name, "user_id", user_id)
        if credential is None:
            return None
        try:
            if credential.access_token is None and credential.refresh_token is not None:
                refresh(self._vault, name, force=True)
            return google_credentials(self._vault, name)  # type: ignore[no-any-return]
        except NeedsSignIn:
            return None

    def get_gdrive_token_info(self, user_id: str) -> dict[str, Any] | None:
        """What is stored for ``user_id``, with the token cut to 8 characters and ``...``.

        ``{user_id, token, has_refresh_token, scopes, expiry, created_at, updated_at}``,
        or None.  Never refreshes.
        """
        credential = self._find(credential_name(GDRIVE_PREFIX, user_id), "user_id", user_id)
        if credential is None:
            return None
        token = credential.access_token.reveal() if credential.access_token else None
        return {
            "user_id": user_id,
            "token": f"{token[:8]}..." if token else None,
            "has_refresh_token": credential.refresh_token is not None,
            "scopes": list(credential.scopes),
            "expiry": iso(credential.expires_at),
            "created_at": iso(credential.created_at),
            "updated_at": iso(credential.updated_at),
        }

    def delete_gdrive_token(self, user_id: str) -> bool:
        """Delete ``user_id``'s Drive credentials from the vault: True if there were some.

        Nothing is revoked at Google (as in the original); the client registration stays.
        """
        return self._delete(credential_name(GDRIVE_PREFIX, user_id), "user_id", user_id)

    def list_users_with_gdrive_tokens(self) -> list[str]:
        """Every user id with stored Drive credentials, sorted."""
        return self._keys(GDRIVE_PREFIX, "user_id")
