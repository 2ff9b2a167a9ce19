"""``tokendeck login`` as requests (see :mod:`vault.services.commands`): the sign-in itself
(the browser, the device code, the paste prompt) runs in the user's process; the agent is
asked only for the registration to sign in with, and then stores what the sign-in got, in
one transaction (:func:`vault.services.signin.store_signed_in`).

The registration's client secret goes to the front end in the answer, and the tokens come
back in the request: over the agent's socket only, never argv, the environment or a file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from vault.core.model import MCP_URL_EXTRA, ClientRegistration
from vault.core.secret import Secret
from vault.errors import InvalidInput
from vault.services.protocol import Report
from vault.services.registration import registered
from vault.services.signin import SignedIn
from vault.services.tokens import Vault


def registration_fields(registration: ClientRegistration | None) -> dict[str, Any] | None:
    """A registration for a request or an answer (its secret included)."""
    if registration is None:
        return None
    secret = registration.client_secret
    return {
        "provider": registration.provider,
        "base": registration.base,
        "client_id": registration.client_id,
        "client_secret": None if secret is None else secret.reveal(),
        "params": dict(registration.params),
        "overrides": dict(registration.overrides),
        "created_at": registration.created_at,
        "updated_at": registration.updated_at,
    }


def registration_from(fields: Any) -> ClientRegistration | None:
    """:func:`registration_fields`' inverse.

    Raises:
        InvalidInput: not a registration's fields.
    """
    if fields is None:
        return None
    try:
        secret = fields["client_secret"]
        return ClientRegistration(
            provider=str(fields["provider"]),
            base=str(fields["base"]),
            client_id=str(fields["client_id"]),
            client_secret=None if secret is None else Secret(str(secret)),
            params={str(k): str(v) for k, v in dict(fields["params"]).items()},
            overrides=dict(fields["overrides"]),
            created_at=float(fields.get("created_at") or 0.0),
            updated_at=float(fields.get("updated_at") or 0.0),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidInput("a malformed registration in the request; nothing was stored") from None


def signed_fields(signed: SignedIn) -> dict[str, Any]:
    """What a sign-in got, for the request that stores it (its tokens included)."""
    tokens = signed.tokens

    def reveal(secret: Secret | None) -> str | None:
        return None if secret is None else secret.reveal()

    return {
        "provider": signed.provider,
        "account": signed.account,
        "identity_extras": dict(signed.identity_extras),
        "access_token": tokens.access_token.reveal(),
        "token_type": tokens.token_type,
        "refresh_token": reveal(tokens.refresh_token),
        "id_token": reveal(tokens.id_token),
        "expires_at": tokens.expires_at,
        "refresh_expires_at": tokens.refresh_expires_at,
        "scopes": list(tokens.scopes),
        "extras": dict(tokens.extras),
    }


def _signed_from(fields: dict[str, Any]) -> SignedIn:
    from vault.core.model import token_fault
    from vault.oauth.tokens import TokenSet

    def secret(value: Any) -> Secret | None:
        return None if value is None else Secret(str(value))

    def moment(value: Any) -> float | None:
        return None if value is None else float(value)

    try:
        access = str(fields["access_token"])
        if token_fault(access) is not None:
            raise InvalidInput("the access token in the request is not a token; nothing was stored")
        tokens = TokenSet(
            access_token=Secret(access),
            token_type=str(fields.get("token_type") or "Bearer"),
            refresh_token=secret(fields.get("refresh_token")),
            id_token=secret(fields.get("id_token")),
            expires_at=moment(fields.get("expires_at")),
            refresh_expires_at=moment(fields.get("refresh_expires_at")),
            scopes=tuple(str(s) for s in fields.get("scopes") or ()),
            extras=dict(fields.get("extras") or {}),
        )
        account = fields.get("account")
        return SignedIn(
            str(fields["provider"]),
            tokens,
            None if account is None else str(account),
            dict(fields.get("identity_extras") or {}),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidInput("a malformed sign-in in the request; nothing was stored") from None


def sign_in_registration(vault: Vault, *, provider: str) -> Report:
    """The stored registration of ``provider`` (``data``), to sign in with.

    Raises:
        NotFound: none is stored (the message says where to register an app).
    """
    return Report(data=json.dumps(registration_fields(registered(vault.records, provider))))


def mcp_registration(vault: Vault, *, provider: str, issuer: str, resource: str | None = None) -> Report:
    """The stored registration for an MCP server's sign-in, when it fits (``data``; null when
    none does: :func:`vault.services.mcp_signin.worked_before`)."""
    from vault.services.mcp_signin import worked_before

    return Report(data=json.dumps(registration_fields(worked_before(vault, provider, issuer, resource))))


def registrations(vault: Vault) -> Report:
    """Every stored registration (``data``), for ``provider list`` and ``show``: without the
    client secrets (one that is there is sent as an empty one)."""
    listed = []
    for registration in vault.records.clients():
        fields = registration_fields(registration) or {}
        if fields.get("client_secret") is not None:
            fields["client_secret"] = ""
        listed.append(fields)
    return Report(data=json.dumps(listed))


def sign_in_store(
    vault: Vault,
    *,
    signed: dict[str, Any],
    name: str | None = None,
    extras: dict[str, str] | None = None,
    unsaved: dict[str, Any] | None = None,
    replace_account: bool = False,
) -> Report:
    """Store a sign-in (``data``: the credential's name, account and MCP server URL).

    Raises:
        AccountChanged: the credential holds another account and ``replace_account`` is
            false (:func:`vault.services.signin.account_change`); nothing was stored.
    """
    from vault.services.signin import store_signed_in

    credential = store_signed_in(
        vault, _signed_from(signed), name=name, extras=extras, unsaved=registration_from(unsaved),
        replace_account=replace_account,
    )  # fmt: skip
    facts = {"name": credential.name, "account": credential.account, "mcp_url": credential.extras.get(MCP_URL_EXTRA)}
    return Report(data=json.dumps(facts))


COMMANDS: dict[str, Callable[..., Report]] = {
    "sign-in-registration": sign_in_registration,
    "mcp-registration": mcp_registration,
    "registrations": registrations,
    "sign-in-store": sign_in_store,
}
