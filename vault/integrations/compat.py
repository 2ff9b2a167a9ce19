"""Drop-in replacements for two plaintext token stores, backed by the encrypted vault.

:class:`TokenStorage` has the method names and return shapes of the documented
SQLite ``TokenStorage`` (per-user Jira personal access tokens and per-user Google
Drive credentials); :class:`LinearTokenStore` those of the Linear
organization-token store (``store_tokens`` / ``get_access_token`` /
``revoke_tokens``).  Every token lands in the vault, encrypted; nothing is written
anywhere else.

Credential names
    Each stored record is an ordinary vault credential, visible in
    ``tokendeck list``:

    ======================  ===========================  ==================
    record                  credential name              provider
    ======================  ===========================  ==================
    Jira token of a user    ``jira-user-<user_id>``      ``jira-dc``
    Drive credentials       ``gdrive-user-<user_id>``    a ``google``-based
                                                         registration
    Linear organization     ``linear-org-<org_id>``      ``linear`` (or the
                                                         name given)
    ======================  ===========================  ==================

    A key made only of the vault's name characters (``A-Z a-z 0-9 . _ @ + -``)
    and at most 64 characters long is used as is.  Any other key is slugged:
    every other character becomes ``-``, the slug is cut to 40 characters and
    ``-`` plus the first 10 hex digits of the key's SHA-256 are appended, so two
    different keys never share a name.  The original key is kept in the
    credential's ``extras`` (``user_id`` / ``organization_id``), which is what the
    listing methods return and what every read checks.

Times
    ``created_at``, ``updated_at`` and ``expiry`` are ISO 8601 strings in UTC
    with microseconds and an explicit offset, as ``datetime.isoformat()`` gives
    them: ``2026-11-22T11:57:46.123456+00:00``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from vault.core.model import ClientRegistration, Credential, check_name
from vault.core.secret import Secret
from vault.errors import InvalidInput, NeedsSignIn, NotFound, NoVault
from vault.services.tokens import Vault

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

__all__ = ["LinearTokenStore", "TokenStorage", "credential_name"]

JIRA_PREFIX = "jira-user-"
GDRIVE_PREFIX = "gdrive-user-"
LINEAR_PREFIX = "linear-org-"
JIRA_PROVIDER = "jira-dc"
GOOGLE_BASE = "google"

_PLAIN_KEY = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
_OTHER = re.compile(r"[^A-Za-z0-9._@+-]")


def credential_name(prefix: str, key: str) -> str:
    """The vault credential name for ``key`` under ``prefix`` (see the module notes).

    Raises:
        InvalidInput: the key is empty or not a string.
    """
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"the key for {prefix.rstrip('-')} must be a non-empty string")
    if _PLAIN_KEY.fullmatch(key):
        return check_name(prefix + key)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    slug = _OTHER.sub("-", key)[:40]
    return check_name(f"{prefix}{slug}-{digest}")


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _posix(moment: datetime | float | None) -> float | None:
    """POSIX seconds from a datetime (naive = UTC, as google-auth uses) or a number."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, int | float):
        raise InvalidInput("expires_at must be a datetime or POSIX seconds")
    return float(moment)


class _VaultUser:
    """Opens (or borrows) a vault; closes only what it opened."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None,
        passphrase: str | None,
        vault: Vault | None,
        create: bool,
    ) -> None:
        if vault is not None:
            self._vault, self._owned = vault, False
            return
        from vault.services.opening import init_vault, open_vault

        try:
            self._vault = open_vault(home, passphrase)
        except NoVault:
            if not create:
                raise
            self._vault = init_vault(home, passphrase=passphrase)
        self._owned = True

    @property
    def vault(self) -> Vault:
        """The vault the records live in."""
        return self._vault

    def close(self) -> None:
        """Close the vault if this object opened it (a vault passed in stays open)."""
        if self._owned:
            self._vault.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _find(self, name: str, field: str, key: str) -> Credential | None:
        """The credential ``name`` if it exists and belongs to ``key``."""
        try:
            credential = self._vault.get(name)
        except NotFound:
            return None
        return credential if credential.extras.get(field) == key else None

    def _keys(self, prefix: str, field: str) -> list[str]:
        return sorted(
            str(c.extras[field])
            for c in self._vault.credentials()
            if c.name.startswith(prefix) and isinstance(c.extras.get(field), str)
        )

    def _delete(self, name: str, field: str, key: str) -> bool:
        if self._find(name, field, key) is None:
            return False
        try:
            self._vault.remove(name)
        except NotFound:  # removed meanwhile by someone else
            return False
        return True


class TokenStorage(_VaultUser):
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
            "created_at": _iso(credential.created_at),
            "updated_at": _iso(credential.updated_at),
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
                expires_at=_posix(credentials.expiry),
                extras={"user_id": user_id},
                created_at=now,
                updated_at=now,
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
            "expiry": _iso(credential.expires_at),
            "created_at": _iso(credential.created_at),
            "updated_at": _iso(credential.updated_at),
        }

    def delete_gdrive_token(self, user_id: str) -> bool:
        """Delete ``user_id``'s Drive credentials from the vault: True if there were some.

        Nothing is revoked at Google (as in the original); the client registration stays.
        """
        return self._delete(credential_name(GDRIVE_PREFIX, user_id), "user_id", user_id)

    def list_users_with_gdrive_tokens(self) -> list[str]:
        """Every user id with stored Drive credentials, sorted."""
        return self._keys(GDRIVE_PREFIX, "user_id")


class LinearTokenStore(_VaultUser):
    """Linear organization tokens (an app installed per organization), kept in the vault.

    Args:
        client_id: the Linear OAuth application's client id.
        client_secret: its secret, if it has one.
        home, passphrase, vault, create: as for :class:`TokenStorage`.
        provider: the client registration's name (default ``linear``).
        overrides: catalog fields for a registration created here (endpoints of a
            stand-in server in tests; see :class:`~vault.core.model.ClientRegistration`).

    The registration is created when absent; an existing one with the same client
    id is reused (its secret updated when a different one is given).

    Raises:
        InvalidInput: ``provider`` is registered for another client id or another base.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str | None = None,
        *,
        home: str | os.PathLike[str] | None = None,
        passphrase: str | None = None,
        vault: Vault | None = None,
        create: bool = False,
        provider: str = "linear",
        overrides: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(home, passphrase, vault, create)
        try:
            self._register(client_id, client_secret, provider, overrides)
        except BaseException:
            self.close()
            raise
        self.provider = provider

    def _register(self, client_id: str, secret: str | None, provider: str, overrides: dict[str, Any] | None) -> None:
        from vault.core.providers import resolve

        try:
            current = self._vault.get_client(provider)
        except NotFound:
            registration = ClientRegistration(
                provider=provider,
                base="linear",
                client_id=client_id,
                client_secret=Secret(secret) if secret else None,
                overrides=dict(overrides or {}),
            )
            resolve(registration)  # endpoints must be https (or loopback http)
            self._vault.set_client(registration)
            return
        if current.base != "linear" or current.client_id != client_id:
            raise InvalidInput(
                f"the vault's {provider!r} registration is for another app ({current.base}, client "
                f"{current.client_id}); pass provider= to use a separate one"
            )
        stored = current.client_secret.reveal() if current.client_secret else None
        if secret and stored != secret:
            self._vault.set_client(dataclasses.replace(current, client_secret=Secret(secret)))

    def _name(self, organization_id: str) -> str:
        return credential_name(LINEAR_PREFIX, organization_id)

    def store_tokens(
        self,
        organization_id: str,
        access_token: str,
        refresh_token: str | None,
        app_user_id: str | None,
        expires_at: datetime | float | None,
    ) -> None:
        """Store (or replace) an organization's tokens.

        Args:
            expires_at: when the access token expires: a datetime (naive means
                UTC) or POSIX seconds.
        """
        from vault.core.model import check_token

        name = self._name(organization_id)
        check_token(access_token)
        if refresh_token is not None:
            check_token(refresh_token)
        now = self._vault.clock.now()
        self._vault.save(
            Credential(
                name=name,
                provider=self.provider,
                kind="oauth",
                account=app_user_id,
                access_token=Secret(access_token),
                refresh_token=Secret(refresh_token) if refresh_token else None,
                token_type="Bearer",
                expires_at=_posix(expires_at),
                extras={"organization_id": organization_id, "app_user_id": app_user_id},
                created_at=now,
                updated_at=now,
            ),
            action="compat-store",
        )

    def get_access_token(self, organization_id: str) -> str | None:
        """A valid access token for the organization, or None when nothing is stored.

        An expired (or nearly expired) token is refreshed through Linear's token
        endpoint first, once, and the rotated refresh token is stored before the
        access token is returned.  None too when the grant is dead (the app was
        uninstalled or the refresh token refused): the organization must install again.

        Raises:
            ProviderError: Linear could not be reached or failed (nothing changed).
        """
        name = self._name(organization_id)
        if self._find(name, "organization_id", organization_id) is None:
            return None
        try:
            return self._vault.token(name)
        except NeedsSignIn:
            return None

    def revoke_tokens(self, organization_id: str) -> bool:
        """Revoke the organization's tokens at Linear, then delete them from the vault.

        Returns:
            True if tokens were stored (and are now revoked and deleted), False if none were.

        Raises:
            RevokeFailed: Linear did not confirm; the tokens are kept, so it can be retried.
        """
        from vault.services.revoke import revoke

        name = self._name(organization_id)
        if self._find(name, "organization_id", organization_id) is None:
            return False
        revoke(self._vault, name)
        return self._delete(name, "organization_id", organization_id)

    def list_organizations(self) -> list[str]:
        """Every organization id with stored tokens, sorted."""
        return self._keys(LINEAR_PREFIX, "organization_id")
