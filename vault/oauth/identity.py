"""Learning which account a new token belongs to.

Each catalog entry says where to ask (a userinfo endpoint, GitHub's ``/user``,
Linear's GraphQL ``viewer``, Dropbox's POST) and which field names the account;
Notion puts it in the token response itself.  Atlassian also needs the cloud id
of the user's site for every API call.  A failed lookup never loses a sign-in:
the credential is stored without an account and the reason is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from vault.core.providers import Provider
from vault.errors import ProviderError, printable
from vault.oauth.http import get_json, new_client
from vault.oauth.tokens import TokenSet

SUBJECT_EXTRA = "account_subject"
"""The extra holding the provider's stable id of the signed-in account (OIDC ``sub``, GitHub's
user id), as text: a new sign-in over the credential is compared with it
(:func:`vault.services.signin.account_change`).  An extra, not a column, so a vault written
with it still opens in a tokendeck that does not know it."""


def dig(data: Any, path: str) -> Any:
    """Follow a dotted path (``data.viewer.email``) into nested mappings; None if absent."""
    for part in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def learn_identity(
    provider: Provider, tokens: TokenSet, *, transport: httpx2.BaseTransport | None = None
) -> tuple[str | None, dict[str, Any], str | None]:
    """Return (account, extras to store, a warning if the account could not be learned).

    The extras hold the account's stable id (:data:`SUBJECT_EXTRA`) when the provider gives
    one: the entry's ``identity.subject``, else the ID token's ``sub``."""
    account, extras, warning = _learn(provider, tokens, transport)
    subject = _subject(provider, tokens, extras.pop(_ANSWER_SUBJECT, None))
    if subject is not None:
        extras[SUBJECT_EXTRA] = subject
    return account, extras, warning


_ANSWER_SUBJECT = "\0subject"
"""Where :func:`_learn` leaves the subject it read from the identity answer (never stored)."""


def _subject(provider: Provider, tokens: TokenSet, from_answer: Any) -> str | None:
    """The account's stable id, as text: read from the identity answer, the token response or
    the ID token by the entry's ``identity.subject``; else the ID token's ``sub``."""
    path = provider.identity.subject if provider.identity is not None else None
    claims = id_token_claims(tokens.id_token.reveal()) if tokens.id_token is not None else {}
    found: Any = from_answer
    if path is not None and found is None:
        if path.startswith("token:"):
            found = dig(tokens.extras, path.removeprefix("token:"))
        elif path.startswith(ID_TOKEN):
            found = dig(claims, path.removeprefix(ID_TOKEN))
    if not _named(found):
        found = claims.get("sub")
    return printable(str(found))[:200] if _named(found) else None


def _learn(
    provider: Provider, tokens: TokenSet, transport: httpx2.BaseTransport | None
) -> tuple[str | None, dict[str, Any], str | None]:
    identity = provider.identity
    if identity is None:
        return None, {}, None
    if identity.account.startswith("token:"):
        value = dig(tokens.extras, identity.account.removeprefix("token:"))
        return (str(value) if value else None), {}, (None if value else "the token response names no account")
    if identity.account.startswith(ID_TOKEN):
        # An access token for a resource (RFC 8707: an MCP server's) is not for the userinfo
        # endpoint, so the account is read from an ID token when the answer carried one.
        claims = id_token_claims(tokens.id_token.reveal()) if tokens.id_token is not None else {}
        claim_paths = (identity.account, identity.account_fallback or identity.account)
        found = (dig(claims, path.removeprefix(ID_TOKEN)) for path in claim_paths)
        return next((str(value) for value in found if _named(value)), None), {}, None
    if not identity.url:
        return None, {}, None
    headers = {"Authorization": f"Bearer {tokens.access_token.reveal()}", "Accept": "application/json"}
    if identity.body is not None:
        headers["Content-Type"] = "application/json"
    extras: dict[str, Any] = {}
    try:
        with new_client(transport) as http:
            answer = get_json(
                http,
                identity.url,
                provider.key,
                "identity",
                method=identity.method,
                headers=headers,
                body=identity.body,
            )
            if provider.accessible_resources_url:
                extras.update(_atlassian_sites(http, provider, headers))
    except ProviderError as exc:
        return None, extras, f"could not learn the account ({exc.code})"
    for key, path in identity.extras.items():
        extras[key] = dig(answer, path)
    if identity.subject is not None and not identity.subject.startswith(("token:", ID_TOKEN)):
        extras[_ANSWER_SUBJECT] = dig(answer, identity.subject)
    paths = (identity.account, identity.account_fallback) if identity.account_fallback else (identity.account,)
    account = next((found for found in (dig(answer, path) for path in paths) if _named(found)), None)
    if account is None:
        return None, extras, f"the identity answer has no {' or '.join(paths)}"
    return str(account), {k: v for k, v in extras.items() if v is not None}, None


ID_TOKEN = "id_token:"
"""The prefix of an identity ``account`` path read from the ID token's claims."""


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of an ID token received straight from the token endpoint over TLS, which
    OIDC Core §3.1.3.7 lets a client trust without checking the signature; only display
    facts are read from them.  Empty when it is not a JWT with a JSON object payload."""
    import base64
    import binascii

    from vault.core.outside import load_json

    parts = id_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = load_json(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _named(value: Any) -> bool:
    return isinstance(value, str | int) and value != ""


def _atlassian_sites(http: httpx2.Client, provider: Provider, headers: dict[str, str]) -> dict[str, Any]:
    """Atlassian: the cloud ids of the sites this token may use (API calls need one)."""
    assert provider.accessible_resources_url  # noqa: S101 - checked by the caller
    response = http.get(provider.accessible_resources_url, headers=headers)
    if response.status_code >= 400:
        return {}
    from vault.core.outside import load_json

    try:
        sites = load_json(response.content)
    except ValueError:
        return {}
    if not isinstance(sites, list):
        return {}
    found = [
        {"cloud_id": s.get("id"), "name": s.get("name"), "url": s.get("url")} for s in sites if isinstance(s, dict)
    ]
    return {"cloud_id": found[0]["cloud_id"], "sites": found} if found else {}
