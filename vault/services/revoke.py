"""Revoking a credential: at its provider first (its own way), then erasing the secrets.

Nothing is erased unless the provider confirmed, except where it has no revocation
endpoint and the user asked for the local copy to go.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vault.core.locks import credential_lock
from vault.core.model import Credential
from vault.core.providers import Provider, resolve
from vault.errors import ProviderError, RevokeFailed
from vault.services.tokens import Vault


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


def revoke(vault: Vault, name: str, *, erase_without_provider: bool = False) -> RevokeResult:
    """Revoke ``name`` at its provider, then erase its secrets and mark it revoked.

    For providers with no revocation endpoint (Atlassian, Microsoft, Bitbucket,
    static tokens) nothing is sent: the result says where to revoke by hand, and
    the secrets are erased only with ``erase_without_provider``.

    Raises:
        RevokeFailed: the provider did not confirm; nothing was erased.
    """
    with credential_lock(vault.paths.home, name):
        credential = vault.get(name)
        if credential.stored_status == "revoked" and credential.access_token is None:
            return RevokeResult(revoked_at_provider=False, erased=True)
        provider, registration = provider_of(vault, credential)
        if provider is None or provider.revoke.style == "none" or registration is None:
            manual = None if provider is None else (provider.revoke.manual_url or provider.register_url)
            if erase_without_provider:
                vault.erase_secrets(name, detail="erased locally; the provider has no revocation endpoint")
            return RevokeResult(revoked_at_provider=False, erased=erase_without_provider, manual_url=manual)
        from vault.oauth.revocation import send_revocation

        try:
            send_revocation(provider, registration, credential, vault.http_transport)
        except ProviderError as error:
            vault.record("revoke", "failed", credential=name, detail=error.detail)
            raise RevokeFailed(provider.key, error.code, error.description) from None
        vault.erase_secrets(name, detail=f"revoked at {provider.key} ({provider.revoke.style})")
        return RevokeResult(revoked_at_provider=True, erased=True)


def provider_of(vault: Vault, credential: Credential) -> tuple[Provider | None, Any]:
    from vault.core.providers import builtin
    from vault.errors import NotFound

    if credential.kind == "static":
        try:
            return builtin(credential.provider), None
        except NotFound:
            return None, None
    registration = vault.get_client(credential.provider)
    return resolve(registration), registration
