"""Refreshing a credential, on read and on demand: the rules every refresher follows
(:meth:`vault.services.tokens.Vault.token`, ``tokendeck refresh``, the background refresher,
the agent, the library's bearer and Google credentials).

The refresh rules, each one a way comparable tools lose their users' sessions:

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
- Refreshes that keep failing back off (:func:`~vault.core.model.next_refresh_try`,
  stored with the credential, so every process keeps to it): no request before
  ``retry_at``, unless the user forces one.
- A sick disk never burns a grant (:mod:`vault.services.held`): no refresh starts
  while the vault cannot be written, and an answer that could not be stored is
  held and served from memory, never followed by a second refresh with the spent
  token.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from vault.core.locks import credential_lock
from vault.core.model import Credential, next_refresh_try
from vault.core.phrases import said
from vault.core.providers import Provider, resolve
from vault.core.repository import Repository
from vault.core.secret import Secret
from vault.core.timefmt import relative
from vault.errors import (
    InvalidInput,
    NeedsSignIn,
    ProviderError,
    RefreshBackoff,
    RefreshDiscarded,
    VaultError,
)
from vault.services.held import Held, HeldAnswers
from vault.settings import MAX_BACKOFF, REFRESH_ATTEMPTS

CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope"})
"""Errors about the app registration, not the grant: retrying will not help until it is fixed."""


class Refreshable(Protocol):
    """What a refresh needs of the open vault (:class:`vault.services.tokens.Vault` is one)."""

    @property
    def records(self) -> Repository: ...

    @property
    def held(self) -> HeldAnswers: ...

    @property
    def http_client(self) -> Any: ...


def sign_in_again(credential: Credential) -> str:
    """What to do when ``credential`` gives no token: sign in again, or replace a static token."""
    return "replace it with a new token" if credential.kind == "static" else f"run {credential.sign_in_command()}"


def needs_sign_in(credential: Credential, situation: str, advice: str | None = None) -> NeedsSignIn:
    """``situation`` and what to do about it at the command line (:func:`sign_in_again` unless
    ``advice`` says otherwise); the situation travels on its own for front ends that say their own."""
    return NeedsSignIn(
        f"{situation}; {advice or sign_in_again(credential)}",
        credential=credential.name,
        situation=situation,
        static=credential.kind == "static",
    )


def usable_token(credential: Credential, now: float) -> str:
    """``credential``'s access token, if it may be handed out at ``now``.

    Raises:
        NeedsSignIn: expired, revoked, needs a new sign-in, or holds no token, or none that is
            one (:attr:`~vault.core.model.Credential.access_token_fault`); the message says what to do.
    """
    name = credential.name
    if credential.access_token_fault is not None:
        raise needs_sign_in(credential, f"{name} holds no usable token: {credential.access_token_fault}")
    status = credential.status_at(now)
    if status in ("expired", "revoked", "needs_login", "error") or credential.access_token is None:
        when = f" ({relative(credential.expires_at, now)})" if status == "expired" else ""
        raise needs_sign_in(credential, f"{said(name, status)}{when}")
    if credential.kind == "oauth" and credential.expires_at is not None and credential.expires_at <= now:
        raise needs_sign_in(credential, f"{name}'s access token expired {relative(credential.expires_at, now)}")
    return credential.access_token.reveal()


def is_dead_grant(error: ProviderError, provider: Provider) -> bool:
    """The refresh token will never work again: the user must sign in."""
    return error.code == "invalid_grant" or error.code in provider.dead_grant_errors


def refresh(
    vault: Refreshable,
    name: str,
    *,
    force: bool = False,
    skew: float | None = None,
    ahead: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    in_flight: AbstractContextManager[object] | None = None,
    used: bool = False,
) -> Credential:
    """Refresh ``name`` if it is due within ``skew`` seconds (by default its read margin, or with
    ``ahead`` the background refresher's longer one), or ``force``; once across all processes.
    The margin is judged on the credential as read under its lock, so one that another party
    refreshed meanwhile is not refreshed again.  ``in_flight`` is held around each request to
    the provider, and only then (the background refresher bounds its requests in flight with
    it, not its threads, so a thread waiting for the disk holds no provider's slot).  ``used``:
    the token is refreshed to be handed out now, so the same commit stamps ``last_used_at``.

    Returns:
        The stored credential afterwards (refreshed here or by someone else).

    Raises:
        NeedsSignIn: no refresh token, or none the vault can use (stored without its client id;
            empty: now marked ``needs_login``), or a dead grant (now marked ``needs_login``).
        ProviderError: the provider failed after retries; the credential is unchanged.
        RefreshBusy: another process held the refresh lock too long.
    """
    held = vault.held
    with credential_lock(vault.records.paths.home, name):
        kept = held.get(name)
        if kept is not None and not held.store(vault.records, name):
            return kept.credential  # still cannot be stored: served from memory, its old token never sent again
        credential = vault.records.get(name)
        if credential.kind != "oauth":
            raise InvalidInput(f"{name} is a static token; there is nothing to refresh")
        if skew is None and ahead:
            skew = credential.refresh_margin(ahead=True)
        if not force and not credential.due(vault.records.clock.now(), skew):
            return credential
        if credential.stored_status in ("revoked", "needs_login"):
            situation = said(name, credential.stored_status)
            raise needs_sign_in(credential, situation, credential.sign_in_command())
        if credential.refresh_token is None:
            vault.records.record("refresh", "no_refresh_token", credential=name)
            raise needs_sign_in(
                credential, f"{name} has no refresh token", f"sign in again: {credential.sign_in_command()}"
            )
        if credential.no_client_id:
            vault.records.record("refresh", "no_client_id", credential=name)
            situation = (
                f"{name} was stored without the OAuth client id its tokens were issued to, so it cannot be refreshed"
            )
            raise needs_sign_in(
                credential, situation, "store it again with its client id (TokenStorage.upsert_gdrive_token)"
            )
        if not credential.refresh_token.reveal():  # stored so by vault.compat: as dead as a refused one
            vault.records.mark(
                name, "needs_login", last_error="the refresh token is empty", action="refresh", outcome="dead_grant"
            )
            raise needs_sign_in(
                credential, f"{name}'s refresh token is empty", f"sign in again: {credential.sign_in_command()}"
            )
        if not force and credential.backing_off(vault.records.clock.now()):
            raise backing_off(credential, vault.records.clock.now())
        vault.records.writable()  # no refresh starts while its answer could not be stored
        if held:
            held.store_all(vault.records)  # it can be written again: what other refreshes held goes first
        from vault.oauth.tokens import token_set  # the network layer, loaded only when a refresh happens

        registration = vault.records.get_client(credential.provider)
        provider = resolve(registration)
        attempts = 1 if ahead else REFRESH_ATTEMPTS  # the background refresher retries by its backoff
        context = in_flight or nullcontext()
        data = _call_token_endpoint(vault, credential, provider, registration, sleep, context, attempts)
        tokens = token_set(data, provider, now=vault.records.clock.now(), requested=credential.scopes)
        now = vault.records.clock.now()
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
            last_used_at=now if used else credential.last_used_at,
        )
        lost = sorted(set(credential.scopes) - set(renewed.scopes))
        rotated = "rotated" if tokens.refresh_token is not None else "kept refresh token"
        detail = f"{rotated}; scopes narrowed: -{' -'.join(lost)}" if lost else rotated
        sent = credential.refresh_token
        try:
            vault.records.save_refreshed(renewed, sent_refresh_token=sent.reveal(), detail=detail)
        except RefreshDiscarded:
            raise
        except VaultError as exc:  # the answer is real, the disk failed: hold it, never send `sent` again
            held.hold(Held(renewed, Secret(sent.reveal()), detail, exc.message, now))
            return renewed
        if renewed.access_token is not None:  # plaintext copies follow the new token (best effort, never raises)
            from vault.services.exports import reexport

            reexport(vault.records, name, renewed.access_token.reveal())
        return renewed


def backing_off(credential: Credential, now: float) -> RefreshBackoff:
    """The answer to a read of a credential whose refreshes keep failing, before its next try."""
    last = f" (last: {credential.last_error})" if credential.last_error else ""
    when = relative(credential.retry_at, now) if credential.retry_at is not None else "soon"
    return RefreshBackoff(
        f"{credential.name}'s refreshes are failing{last}; the next try is {when} "
        f"(tokendeck refresh {credential.name} tries now)"
    )


def _call_token_endpoint(
    vault: Refreshable,
    credential: Credential,
    provider: Provider,
    registration: Any,
    sleep: Callable[[float], None],
    in_flight: AbstractContextManager[object],
    attempts: int = REFRESH_ATTEMPTS,
) -> dict[str, Any]:
    from vault.oauth.client import OAuthClient

    name = credential.name
    assert credential.refresh_token is not None  # noqa: S101 - checked by the caller
    fields = {"refresh_token": credential.refresh_token.reveal()}
    if provider.refresh_sends_redirect_uri and credential.extras.get("redirect_uri"):
        fields["redirect_uri"] = str(credential.extras["redirect_uri"])
    for attempt in range(attempts):
        try:
            with in_flight, OAuthClient(provider, registration, http=vault.http_client) as client:
                return client.token_request("refresh_token", **fields)
        except ProviderError as raised:
            error = _without_access_token(raised, credential)
            if is_dead_grant(error, provider):
                vault.records.mark(name, "needs_login", last_error=error.detail, action="refresh", outcome="dead_grant")
                situation = f"{name}: the provider refused the refresh token ({error.code})"
                raise needs_sign_in(credential, situation, f"sign in again: {credential.sign_in_command()}") from None
            if error.transient and attempt + 1 < attempts:
                vault.records.record("refresh", "retrying", credential=name, detail=error.detail)
                sleep(min(error.retry_after if error.retry_after is not None else 2.0**attempt, MAX_BACKOFF))
                continue
            if error.code in CLIENT_ERRORS:
                vault.records.mark(name, "error", last_error=error.detail, action="refresh", outcome="client_error")
            else:
                retry_at = next_refresh_try(
                    credential.refresh_failures + 1, vault.records.clock.now(), retry_after=error.retry_after
                )
                vault.records.note_error(name, error.detail, action="refresh", outcome="failed", retry_at=retry_at)
            raise error from None
    raise AssertionError("unreachable")  # pragma: no cover


def _without_access_token(error: ProviderError, credential: Credential) -> ProviderError:
    """``error`` with the credential's access token masked too, where a server echoed it (the
    OAuth client masks what it sent: the refresh token and the client secret)."""
    token = credential.access_token.reveal() if credential.access_token is not None else ""
    if not token or token not in error.message:
        return error
    return ProviderError(
        error.provider, error.code, error.description, transient=error.transient, retry_after=error.retry_after,
        secrets=[token],
    )  # fmt: skip


def fresh(vault: Refreshable, name: str, *, skew: float | None = None) -> Credential:
    """The credential, refreshed first if it is due (within ``skew``, by default its read margin)."""
    credential = vault.records.get(name)
    if credential.due(vault.records.clock.now(), skew):
        return refresh(vault, name, skew=skew)
    return credential
