"""Revoking a credential: at its provider first (its own way), then erasing the secrets.

Nothing is erased unless the provider confirmed, except where it has no revocation
endpoint and the user asked for the local copy to go.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from vault.core.locks import credential_lock
from vault.core.model import ClientRegistration, Credential
from vault.core.paths import VaultPaths
from vault.core.providers import Provider, builtin, resolve
from vault.core.repository import Repository
from vault.errors import NotFound, ProviderError, RevokeFailed


class Revoking(Protocol):
    """What a revocation needs of the open vault (:class:`vault.services.tokens.Vault` is one,
    whose :meth:`~vault.services.tokens.Vault.revoke` calls :func:`revoke`)."""

    @property
    def records(self) -> Repository: ...

    @property
    def paths(self) -> VaultPaths: ...

    @property
    def http_transport(self) -> Any: ...


@dataclasses.dataclass(frozen=True)
class RevokeResult:
    """What a revocation did.

    Attributes:
        revoked_at_provider: the provider confirmed it.
        erased: the secrets are gone from the vault.
        manual_url: where to revoke by hand, for providers without an endpoint.
    """

    revoked_at_provider: bool
    erased: bool
    manual_url: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class RevocationPlan:
    """What revoking a credential will and will not do, before anything is done.

    Attributes:
        by_api: the provider revokes tokens by API, and there is a registration to
            call it with; otherwise revoking only erases the local copy.
        manual_url: where to revoke by hand when it cannot be done by API (None:
            the provider is not in the catalog, so its site is not known).
        reason: why it cannot be done by API, as one clause for the user.
    """

    by_api: bool
    manual_url: str | None = None
    reason: str | None = None

    @property
    def why(self) -> str:
        """:attr:`reason` for a sentence: never None (every plan not by API has one today)."""
        return self.reason or "it cannot be revoked by API here"


def revocation_plan(vault: Revoking, credential: Credential) -> RevocationPlan:
    """What :func:`revoke` would do with ``credential``: the CLI's prompt and the TUI's dialog say this.

    Raises:
        NotFound: an OAuth credential whose provider registration is gone.
    """
    return _plan(*_provider_of(vault, credential), no_client_id=credential.no_client_id)


def _plan(
    provider: Provider | None, registration: ClientRegistration | None, *, no_client_id: bool = False
) -> RevocationPlan:
    if provider is None:
        return RevocationPlan(by_api=False, reason="its provider is not known here, so it has no revocation endpoint")
    manual_url = provider.revoke.manual_url or provider.register_url
    if no_client_id:
        reason = (
            f"it was stored without the OAuth client id its tokens were issued to, so {provider.key} cannot be asked"
        )
        return RevocationPlan(by_api=False, manual_url=manual_url, reason=reason)
    if registration is None or provider.revoke.style == "none":
        return RevocationPlan(by_api=False, manual_url=manual_url, reason=f"{provider.key} has no revocation endpoint")
    if provider.revoke.needs_secret and registration.client_secret is None:
        reason = (
            f"{provider.key} revokes a token only with the app's client secret, and this registration has none "
            f"(add it with tokendeck provider add {provider.key} --client-id ID --with-secret)"
        )
        return RevocationPlan(by_api=False, manual_url=manual_url, reason=reason)
    return RevocationPlan(by_api=True)


def revoke(vault: Revoking, name: str, *, erase_without_provider: bool = False) -> RevokeResult:
    """Revoke ``name`` at its provider, then erase its secrets and mark it revoked.

    For providers with no revocation endpoint (Atlassian, Microsoft, Bitbucket, static
    tokens), or none this registration can call (GitHub without the secret), nothing is
    sent: the result says why and where to revoke by hand, and the secrets are erased only
    with ``erase_without_provider``.

    Raises:
        RevokeFailed: the provider did not confirm; nothing was erased.
    """
    with credential_lock(vault.paths.home, name):
        credential = vault.records.get(name)
        if credential.stored_status == "revoked" and credential.access_token is None:
            return RevokeResult(revoked_at_provider=False, erased=True)
        provider, registration = _provider_of(vault, credential)
        plan = _plan(provider, registration, no_client_id=credential.no_client_id)
        if not plan.by_api:
            if erase_without_provider:
                vault.records.erase_secrets(name, detail=f"erased locally; {plan.why}")
            return RevokeResult(
                revoked_at_provider=False, erased=erase_without_provider, manual_url=plan.manual_url, reason=plan.reason
            )
        assert provider is not None and registration is not None  # noqa: S101 - by_api says so
        from vault.oauth.revocation import send_revocation

        try:
            send_revocation(provider, registration, credential, vault.http_transport)
        except ProviderError as error:
            vault.records.record("revoke", "failed", credential=name, detail=error.detail)
            raise RevokeFailed(provider.key, error.code, error.description) from None
        vault.records.erase_secrets(name, detail=f"revoked at {provider.key} ({provider.revoke.style})")
        return RevokeResult(revoked_at_provider=True, erased=True)


def _provider_of(vault: Revoking, credential: Credential) -> tuple[Provider | None, ClientRegistration | None]:
    """A static token's catalog entry (None if unknown), or an OAuth credential's provider and
    registration (none for one stored without its client id)."""
    if credential.kind == "static" or credential.no_client_id:
        try:
            return builtin(credential.provider), None
        except NotFound:
            return None, None
    registration = vault.records.get_client(credential.provider)
    return resolve(registration), registration
