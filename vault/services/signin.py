"""``tokendeck login``: from a client registration to a stored credential.

The flow runs first and writes nothing; only a complete answer (tokens and,
where it can be learned, the account) is stored, in one transaction.  A failed,
refused or cancelled sign-in leaves the vault exactly as it was, including any
existing credential of the same name.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable, Mapping

import httpx2

from vault.core.masking import check_new_name
from vault.core.model import MCP_URL_EXTRA, ClientRegistration, Credential, check_name
from vault.core.providers import Provider, resolve
from vault.errors import AccountChanged, InvalidInput, ProviderError, SignInFailed
from vault.oauth.flows import DEFAULT_TIMEOUT, DeviceCode, SignInUI, Timings, browser_sign_in, device_sign_in
from vault.oauth.identity import SUBJECT_EXTRA, learn_identity
from vault.oauth.tokens import TokenSet
from vault.services.registration import registered
from vault.services.tokens import Vault

__all__ = [
    "DEFAULT_TIMEOUT", "AccountChange", "DeviceCode", "SignInUI", "SignedIn", "Timings", "account_change", "cancelled",
    "default_name", "discard_signed_in", "login", "sign_in", "store_signed_in",
]  # fmt: skip
"""``DeviceCode``, ``SignInUI`` and ``DEFAULT_TIMEOUT`` are the flows', handed on so front ends
talk to this use case and not to :mod:`vault.oauth`."""


def default_name(vault: Vault, provider: str, account: str | None) -> str:
    """``PROVIDER``, or ``PROVIDER-ACCOUNT`` when ``PROVIDER`` holds another account."""
    if not vault.records.exists(provider):
        return provider
    if account is None or vault.get(provider).account == account:
        return provider
    slug = re.sub(r"[^A-Za-z0-9._@+-]+", "-", account).strip("-.")[:60] or "account"
    return f"{provider}-{slug}"


def login(
    vault: Vault,
    provider_name: str,
    ui: SignInUI,
    *,
    name: str | None = None,
    device: bool = False,
    no_browser: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx2.BaseTransport | None = None,
    notice: Callable[[str], None] = lambda message: None,
    timings: Timings | None = None,
    cancel: threading.Event | None = None,
    extras: Mapping[str, str] | None = None,
    unsaved: ClientRegistration | None = None,
    replace_account: bool = False,
    confirm: Callable[[AccountChanged], bool] | None = None,
) -> Credential:
    """Sign in to ``provider_name`` with its stored registration and store the result
    (with ``extras`` among the credential's facts).  Signing in again to a credential of an
    MCP server keeps its server's URL.

    Args:
        unsaved: a registration to sign in with instead of the stored one, stored with the
            credential only when the sign-in succeeds (``login --mcp``'s new registrations).
        replace_account: store over a credential that holds another account
            (:func:`account_change`) without asking.
        confirm: asked (on this thread) whether to replace another account; when it says
            no, or there is none to ask, the new tokens are revoked where the provider can
            (:func:`discard_signed_in`) and :class:`AccountChanged` is raised.

    Raises:
        NotFound: no registration for the provider.
        InvalidInput: a static provider, a missing required secret, no device flow.
        SignInFailed, ProviderError: the sign-in did not complete; nothing was stored.
        AccountChanged: the sign-in is another account than the credential's, and no
            ``replace_account``; nothing was stored (:func:`store_signed_in`).
    """
    if name is not None:
        check_new_name(name)
        check_name(name)
    registration = unsaved if unsaved is not None else registered(vault.records, provider_name)
    signed = sign_in(
        registration, provider_name, ui, device=device, no_browser=no_browser, timeout=timeout,
        transport=transport, notice=notice, timings=timings, cancel=cancel, now=vault.clock.now,
    )  # fmt: skip
    try:
        return store_signed_in(
            vault, signed, name=name, extras=extras, unsaved=unsaved, timings=timings, replace_account=replace_account
        )
    except AccountChanged as change:
        if confirm is not None and confirm(change):
            return store_signed_in(
                vault, signed, name=name, extras=extras, unsaved=unsaved, timings=timings, replace_account=True
            )
        if change.known:
            left = discard_signed_in(registration, signed, vault.http_transport if transport is None else transport)
            if left is not None:
                notice(left)
        raise


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """What a sign-in got, not yet stored: the provider's key, the tokens, the account and
    what was learned with it."""

    provider: str
    tokens: TokenSet
    account: str | None
    identity_extras: Mapping[str, object]


def sign_in(
    registration: ClientRegistration,
    provider_name: str,
    ui: SignInUI,
    *,
    device: bool = False,
    no_browser: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx2.BaseTransport | None = None,
    notice: Callable[[str], None] = lambda message: None,
    timings: Timings | None = None,
    cancel: threading.Event | None = None,
    now: Callable[[], float] = time.time,
) -> SignedIn:
    """The sign-in itself with ``registration`` (the browser or the device code, then the
    account): needs the user, not the vault, and stores nothing (:func:`store_signed_in` does).

    Raises:
        InvalidInput, SignInFailed, ProviderError: as :func:`login`.
    """
    provider = resolve(registration)
    if provider.device_only and not device:
        notice(f"{provider_name}'s app is a {provider.device_client_name or provider.client_type} client: "
               "signing in with a device code")  # fmt: skip
        device = True
    _check_usable(provider, registration.client_secret is not None, device)
    scopes = provider.default_scopes
    if device:
        tokens = device_sign_in(provider, registration, ui, scopes=scopes, transport=transport, cancel=cancel)
    else:
        tokens = browser_sign_in(
            provider,
            registration,
            ui,
            scopes=scopes,
            no_browser=no_browser,
            timeout=timeout,
            transport=transport,
            now=now,
            timings=timings,
            cancel=cancel,
        )
    account, identity_extras, warning = learn_identity(provider, tokens, transport=transport)
    if cancel is not None and cancel.is_set():  # cancelled while the code was being redeemed
        raise cancelled(provider.key)
    if warning:
        notice(f"signed in, but {warning}; the account is unknown")
    return SignedIn(provider.key, tokens, account, identity_extras)


def store_signed_in(
    vault: Vault,
    signed: SignedIn,
    *,
    name: str | None = None,
    extras: Mapping[str, str] | None = None,
    unsaved: ClientRegistration | None = None,
    timings: Timings | None = None,
    replace_account: bool = False,
) -> Credential:
    """Store what :func:`sign_in` got (with ``unsaved``, the registration it was made with,
    when that is new), in one transaction; the stored credential.

    Over a credential that holds another account (:func:`account_change`) it stores only
    with ``replace_account``, and the audit names both accounts.

    Raises:
        AccountChanged: another account, and no ``replace_account``; nothing was stored.
    """
    if name is not None:
        check_new_name(name)
        check_name(name)
    started = time.perf_counter()
    credential = _credential(
        name or default_name(vault, signed.provider, signed.account),
        signed.provider,
        signed.tokens,
        signed.account,
        {**signed.identity_extras, **(extras or {})},
        vault,
    )
    with vault.records.all_or_nothing():
        before = vault.get(credential.name) if vault.records.exists(credential.name) else None
        change = account_change(before, signed)
        if change is not None and not replace_account:
            raise change.refusal()
        if unsaved is not None:
            vault.records.set_client(unsaved)
        detail = None if change is None else f"account changed: {change.stored} -> {change.signed}"
        vault.records.save(credential, replace=True, action="login", detail=detail)
    if timings is not None:
        timings["vault_write"] = time.perf_counter() - started
    return vault.get(credential.name)


@dataclasses.dataclass(frozen=True)
class AccountChange:
    """A sign-in over credential ``name`` that is not the account it holds: each account as
    shown (the account, else its subject, else ``an unnamed account``)."""

    name: str
    stored: str
    signed: str
    known: bool
    """The accounts are known to differ: both sign-ins, with the same provider, named one
    (not: the new one named none, or it is another provider, which may share a grant)."""

    def refusal(self) -> AccountChanged:
        """The error that refuses to store it."""
        return AccountChanged(
            f"{self.name} holds {self.stored}, but this sign-in is {self.signed}: nothing was stored",
            name=self.name,
            stored=self.stored,
            signed=self.signed,
            known=self.known,
        )


def account_change(before: Credential | None, signed: SignedIn) -> AccountChange | None:
    """Whether storing ``signed`` over ``before`` would put another account behind its name:
    the one rule the CLI, the TUI and the agent apply (through :func:`store_signed_in`).

    Identity is the provider and the account's stable id (:data:`SUBJECT_EXTRA`) where both
    sign-ins have one, else the account (letter case aside).  A credential that names no
    account (a static one, or one whose lookup failed) may be replaced by anyone; one that
    names an account may not be replaced by a sign-in that names none or another.
    """
    if before is None:
        return None
    old_subject, old_account = _text(before.extras.get(SUBJECT_EXTRA)), before.account
    new_subject, new_account = _text(signed.identity_extras.get(SUBJECT_EXTRA)), signed.account
    if old_subject is None and old_account is None:
        return None
    if before.provider == signed.provider:
        if old_subject is not None and new_subject is not None:
            if old_subject == new_subject:
                return None
        elif old_account is not None and new_account is not None and old_account.casefold() == new_account.casefold():
            return None
    known = before.provider == signed.provider and (new_subject is not None or new_account is not None)
    stored = _shown(before.provider, old_account, old_subject)
    return AccountChange(before.name, stored, _shown(signed.provider, new_account, new_subject), known)


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _shown(provider: str, account: str | None, subject: str | None) -> str:
    """An account for a message and the audit: ``alice@example.com``, ``github user 42``, ``an unnamed account``."""
    if account is not None:
        return account
    if subject is not None:
        return f"{provider} user {subject}"
    return "an unnamed account"


def discard_signed_in(
    registration: ClientRegistration, signed: SignedIn, transport: httpx2.BaseTransport | None = None
) -> str | None:
    """Throw away a sign-in that was not stored (another account, declined): revoke its
    tokens at the provider where it has a revocation endpoint.  Best effort, one request;
    what could not be done, as a line to show (None when revoked or nothing to do).

    Only call it for an :class:`AccountChange` that is ``known``: revoking may revoke the
    whole grant (Google's revocation, ``oidc-provider``'s), which is another account's grant
    only when the accounts are known to differ.
    """
    from vault.oauth.revocation import send_revocation

    provider = resolve(registration)
    if provider.revoke.url is None:
        return f"{provider.key} has no revocation endpoint: the unused tokens expire on their own"
    tokens, now = signed.tokens, time.time()
    unsaved = Credential(
        name="unsaved", provider=signed.provider, kind="oauth", access_token=tokens.access_token,
        refresh_token=tokens.refresh_token, token_type=tokens.token_type, created_at=now, updated_at=now,
    )  # fmt: skip
    try:
        send_revocation(provider, registration, unsaved, transport)
    except ProviderError as exc:
        return f"could not revoke the unused tokens at {provider.key} ({exc.code}); they expire on their own"
    return None


def cancelled(provider: str) -> SignInFailed:
    """The error of a sign-in the user cancelled before anything was stored."""
    return SignInFailed(provider, "cancelled", "the sign-in was cancelled; nothing was stored")


def _check_usable(provider: Provider, has_secret: bool, device: bool) -> None:
    if provider.kind != "oauth":
        raise InvalidInput(
            f"{provider.key} is a static-token provider: use tokendeck add NAME --provider {provider.key}"
        )
    refusal = provider.device_refusal() if device else None
    if refusal is not None:
        raise InvalidInput(refusal)
    if provider.needs_secret(device=device) and not has_secret:
        raise InvalidInput(
            f"{provider.key} needs the app's client secret: tokendeck provider add {provider.key} --client-id ID"
        )


def _credential(
    name: str, provider: str, tokens: TokenSet, account: str | None, extras: dict[str, object], vault: Vault
) -> Credential:
    now = vault.clock.now()
    before = vault.get(name) if vault.records.exists(name) else None
    created = before.created_at if before is not None else now
    keep = {k: v for k, v in tokens.extras.items() if isinstance(v, str | int | float | bool | dict | list)}
    if before is not None and before.provider == provider and MCP_URL_EXTRA in before.extras:
        extras = {MCP_URL_EXTRA: before.extras[MCP_URL_EXTRA], **extras}  # signed in again by provider name
    return Credential(
        name=name,
        provider=provider,
        kind="oauth",
        account=account,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        id_token=tokens.id_token,
        token_type=tokens.token_type,
        scopes=tokens.scopes,
        expires_at=tokens.expires_at,
        refresh_expires_at=tokens.refresh_expires_at,
        extras={**keep, **extras},
        created_at=created,
        updated_at=now,
        last_refreshed_at=now,
    )
