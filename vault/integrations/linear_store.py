"""The drop-in Linear organization-token store (``store_tokens`` / ``get_access_token``
/ ``revoke_tokens``), backed by the encrypted vault; records are named as
:mod:`vault.integrations.keyed` says.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from datetime import datetime
from typing import Any

from vault.core.model import ClientRegistration, Credential
from vault.core.secret import Secret
from vault.errors import InvalidInput, NeedsSignIn, NotFound
from vault.integrations.keyed import LINEAR_PREFIX, KeyedStore, posix
from vault.services.tokens import Vault

__all__ = ["LinearTokenStore"]

log = logging.getLogger("vault.compat")


class LinearTokenStore(KeyedStore):
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
            current = self._vault.records.get_client(provider)
        except NotFound:
            registration = ClientRegistration(
                provider=provider,
                base="linear",
                client_id=client_id,
                client_secret=Secret(secret) if secret else None,
                overrides=dict(overrides or {}),
            )
            resolve(registration)  # endpoints must be https (or loopback http)
            self._vault.records.set_client(registration)
            return
        if current.base != "linear" or current.client_id != client_id:
            raise InvalidInput(
                f"the vault's {provider!r} registration is for another app ({current.base}, client "
                f"{current.client_id}); pass provider= to use a separate one"
            )
        stored = current.client_secret.reveal() if current.client_secret else None
        if secret and stored != secret:
            self._vault.records.set_client(dataclasses.replace(current, client_secret=Secret(secret)))

    def store_tokens(
        self,
        organization_id: str,
        access_token: str,
        refresh_token: str | None,
        app_user_id: str | None,
        expires_at: datetime | float | None,
    ) -> None:
        """Store (or replace) an organization's tokens: what Linear's token endpoint gave
        when the app was installed in that organization (``actor=app``).

        Args:
            organization_id: the Linear organization (workspace) the app is installed in.
            access_token: the app's access token for it.
            refresh_token: its refresh token (Linear rotates it on every refresh).
            app_user_id: the app's own user in that organization (``viewer.id``).
            expires_at: when the access token expires: a datetime (naive means
                UTC) or POSIX seconds.
        """
        from vault.core.model import check_token

        name, stale = self._claim(LINEAR_PREFIX, "organization_id", organization_id)
        check_token(access_token)
        if refresh_token is not None:
            check_token(refresh_token)
        now = self._vault.clock.now()
        self._vault.records.save(
            Credential(
                name=name,
                provider=self.provider,
                kind="oauth",
                account=app_user_id,
                access_token=Secret(access_token),
                refresh_token=Secret(refresh_token) if refresh_token else None,
                token_type="Bearer",
                expires_at=posix(expires_at),
                extras={"organization_id": organization_id, "app_user_id": app_user_id},
                created_at=now,
                updated_at=now,
                last_refreshed_at=now,  # the tokens were issued now: their lifetime counts from here
            ),
            action="compat-store",
        )
        self._retire(stale)

    def get_access_token(self, organization_id: str) -> str | None:
        """A valid access token for the organization, or None when nothing is stored.

        An expired (or nearly expired) token is refreshed through Linear's token
        endpoint first, once, and the rotated refresh token is stored before the
        access token is returned.  None too when the grant is dead (the app was
        uninstalled or the refresh token refused): the organization must install again.

        Raises:
            ProviderError: Linear could not be reached or failed (nothing changed).
        """
        found = self._find(LINEAR_PREFIX, "organization_id", organization_id)
        if found is None:
            return None
        try:
            return self._vault.token(found.name)
        except NeedsSignIn as exc:  # the tokens stay; the organization has to install the app again
            log.warning("Linear organization %s must reconnect: %s", organization_id, exc.situation)
            return None

    def needs_reconnect(self, organization_id: str) -> bool:
        """Whether the organization's grant is dead (a refresh was refused, or the app was
        uninstalled or revoked): its tokens are kept, but it must install the app again."""
        found = self._find(LINEAR_PREFIX, "organization_id", organization_id)
        return found is not None and found.stored_status in ("needs_login", "revoked")

    def revoke_tokens(self, organization_id: str) -> bool:
        """Revoke the organization's tokens at Linear, then delete them from the vault.

        Returns:
            True if tokens were stored (and are now revoked and deleted), False if none were.

        Raises:
            RevokeFailed: Linear did not confirm; the tokens are kept, so it can be retried.
        """
        from vault.services.revoke import revoke

        found = self._find(LINEAR_PREFIX, "organization_id", organization_id)
        if found is None:
            return False
        revoke(self._vault, found.name)
        return self._delete(LINEAR_PREFIX, "organization_id", organization_id)

    def list_organizations(self) -> list[str]:
        """Every organization id with stored tokens, in the order they were first stored."""
        return self._keys(LINEAR_PREFIX, "organization_id")
