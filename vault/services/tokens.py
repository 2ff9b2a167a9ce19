"""Keeping OAuth credentials alive: refresh, on read and on demand.

The rules, each one a way comparable tools lose their users' sessions:

- One party refreshes a credential at a time (:func:`vault.core.locks.credential_lock`);
  the others wait, then read what it stored.  After taking the lock the
  credential is read again, so a refresh that already happened is not repeated.
- The new refresh token is saved, durably, before the new access token is handed
  to anyone; when the response carries none, the old one is kept.
- A refresh never deletes or blanks a credential.  A dead grant
  (``invalid_grant`` and each provider's equivalents) marks it ``needs_login``
  with its tokens kept; a transient failure (network, 5xx, 429,
  ``temporarily_unavailable``) is retried with backoff and changes nothing; every
  outcome is an audit event, never with a token in it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from vault.core.locks import credential_lock
from vault.core.model import Credential
from vault.core.providers import Provider, resolve
from vault.core.repository import Vault
from vault.errors import InvalidInput, NeedsSignIn, ProviderError
from vault.oauth.client import OAuthClient
from vault.oauth.tokens import token_set

DEFAULT_SKEW = 60.0
"""Refresh an access token this many seconds before it expires."""

ATTEMPTS = 3
"""Tries for a transient failure (the first call and two retries)."""

MAX_BACKOFF = 30.0
CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope"})
"""Errors about the app registration, not the grant: retrying will not help until it is fixed."""


def needs_refresh(credential: Credential, now: float, skew: float = DEFAULT_SKEW) -> bool:
    """An active OAuth credential whose access token expires within ``skew`` seconds."""
    return (
        credential.kind == "oauth"
        and credential.stored_status == "active"
        and credential.expires_at is not None
        and credential.expires_at - skew <= now
    )


def is_dead_grant(error: ProviderError, provider: Provider) -> bool:
    """The refresh token will never work again: the user must sign in."""
    return error.code == "invalid_grant" or error.code in provider.dead_grant_errors


def refresh(
    vault: Vault,
    name: str,
    *,
    force: bool = False,
    skew: float = DEFAULT_SKEW,
    sleep: Callable[[float], None] = time.sleep,
) -> Credential:
    """Refresh ``name`` if it is due (or ``force``), once across all processes.

    Returns:
        The stored credential afterwards (refreshed here or by someone else).

    Raises:
        NeedsSignIn: no refresh token, or a dead grant (now marked ``needs_login``).
        ProviderError: the provider failed after retries; the credential is unchanged.
        RefreshBusy: another process held the refresh lock too long.
    """
    with credential_lock(vault.paths.home, name):
        credential = vault.get(name)
        if credential.kind != "oauth":
            raise InvalidInput(f"{name} is a static token; there is nothing to refresh")
        if not force and not needs_refresh(credential, vault.clock.now(), skew):
            return credential
        if credential.stored_status in ("revoked", "needs_login"):
            raise NeedsSignIn(
                f"{name} is {credential.stored_status.replace('_', ' ')}; tokendeck login {credential.provider}"
            )
        if credential.refresh_token is None:
            vault.record("refresh", "no_refresh_token", credential=name)
            raise NeedsSignIn(f"{name} has no refresh token; sign in again: tokendeck login {credential.provider}")
        registration = vault.get_client(credential.provider)
        provider = resolve(registration)
        data = _call_token_endpoint(vault, credential, provider, registration, sleep)
        tokens = token_set(data, provider, now=vault.clock.now(), requested=credential.scopes)
        now = vault.clock.now()
        renewed = dataclasses.replace(
            credential,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token or credential.refresh_token,
            id_token=tokens.id_token or credential.id_token,
            token_type=tokens.token_type,
            expires_at=tokens.expires_at,
            refresh_expires_at=tokens.refresh_expires_at or credential.refresh_expires_at,
            scopes=tokens.scopes or credential.scopes,
            stored_status="active",
            last_error=None,
            updated_at=now,
            last_refreshed_at=now,
        )
        lost = sorted(set(credential.scopes) - set(renewed.scopes))
        rotated = "rotated" if tokens.refresh_token is not None else "kept refresh token"
        detail = f"{rotated}; scopes narrowed: -{' -'.join(lost)}" if lost else rotated
        vault.save_refreshed(renewed, sent_refresh_token=credential.refresh_token.reveal(), detail=detail)
        if renewed.access_token is not None:  # plaintext copies follow the new token (best effort, never raises)
            from vault.export import reexport

            reexport(vault, name, renewed.access_token.reveal())
        return renewed


def _call_token_endpoint(
    vault: Vault, credential: Credential, provider: Provider, registration: Any, sleep: Callable[[float], None]
) -> dict[str, Any]:
    name = credential.name
    assert credential.refresh_token is not None  # noqa: S101 - checked by the caller
    fields = {"refresh_token": credential.refresh_token.reveal()}
    if provider.refresh_sends_redirect_uri and credential.extras.get("redirect_uri"):
        fields["redirect_uri"] = str(credential.extras["redirect_uri"])
    for attempt in range(ATTEMPTS):
        try:
            with OAuthClient(provider, registration, vault.http_transport) as client:
                return client.token_request("refresh_token", **fields)
        except ProviderError as error:
            if is_dead_grant(error, provider):
                vault.mark(name, "needs_login", last_error=error.detail, action="refresh", outcome="dead_grant")
                raise NeedsSignIn(
                    f"{name}: the provider refused the refresh token ({error.code}); "
                    f"sign in again: tokendeck login {credential.provider}"
                ) from None
            if error.transient and attempt + 1 < ATTEMPTS:
                vault.record("refresh", "retrying", credential=name, detail=error.detail)
                sleep(min(error.retry_after if error.retry_after is not None else 2.0**attempt, MAX_BACKOFF))
                continue
            if error.code in CLIENT_ERRORS:
                vault.mark(name, "error", last_error=error.detail, action="refresh", outcome="client_error")
            else:
                vault.note_error(name, error.detail, action="refresh", outcome="failed")
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def fresh(vault: Vault, name: str, *, skew: float = DEFAULT_SKEW) -> Credential:
    """The credential, refreshed first if its access token expires within ``skew``."""
    credential = vault.get(name)
    if needs_refresh(credential, vault.clock.now(), skew):
        return refresh(vault, name, skew=skew)
    return credential
