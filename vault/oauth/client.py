"""Authlib's OAuth 2.0 client, configured from a catalog entry.

Authlib builds the authorization URL (state, PKCE S256 challenge) and the token,
refresh and revocation requests with the right client authentication.  The
provider quirks it does not know are plugged in here: a JSON token body
(Notion), extra token headers (GitHub's ``Accept``), and a compliance hook that
validates and flattens every token response before Authlib reads it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

import httpx
from authlib.integrations.httpx_client import OAuth2Client

from vault.errors import ProviderError
from vault.model import ClientRegistration
from vault.oauth.http import basic_auth, client_kwargs, describe_failure
from vault.oauth.tokens import decode_body, raise_for_error
from vault.providers import Provider

JSON_BASIC = "client_secret_basic_json"
"""Notion's token endpoint: HTTP Basic client auth and a JSON body."""


def _basic_json(auth: Any, method: str, uri: str, headers: Any, body: str) -> tuple[str, Any, bytes]:
    headers["Authorization"] = basic_auth(auth.client_id, auth.client_secret or "")
    headers["Content-Type"] = "application/json"
    payload = json.dumps(dict(parse_qsl(body.decode() if isinstance(body, bytes) else body))).encode()
    return uri, headers, payload


def flatten(response: httpx.Response, provider: Provider) -> httpx.Response:
    """Compliance hook: refuse bad token responses, lift nested tokens to the top level.

    Raises:
        ProviderError: HTML, an empty or non-object body, an ``error`` at any
            status, Slack's ``ok: false``, a missing nested token.
    """
    data = decode_body(response, provider.key)
    raise_for_error(data, response.status_code, provider.key)
    if provider.token_path:
        nested = data.get(provider.token_path)
        if not isinstance(nested, dict) or "access_token" not in nested:
            raise ProviderError(provider.key, "bad_response", f"no {provider.token_path}.access_token in the response")
        data = {**{k: v for k, v in data.items() if k != provider.token_path}, **nested}
    return httpx.Response(200, json=data, request=response.request)


def make_client(
    provider: Provider,
    registration: ClientRegistration,
    *,
    redirect_uri: str | None = None,
    scopes: Sequence[str] = (),
    transport: httpx.BaseTransport | None = None,
) -> OAuth2Client:
    """An Authlib client for one provider and the user's registration."""
    secret = registration.client_secret.reveal() if registration.client_secret else None
    method: str = provider.token_auth if secret else "none"
    if method == "client_secret_basic" and provider.token_request_format == "json":
        method = JSON_BASIC
    kwargs = client_kwargs(transport)
    kwargs["headers"] = {**kwargs["headers"], **provider.token_headers}
    client = OAuth2Client(
        client_id=registration.client_id,
        client_secret=secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        code_challenge_method="S256" if provider.pkce == "S256" else None,
        redirect_uri=redirect_uri,
        scope=provider.scope_separator.join(scopes) if provider.scope_param == "scope" and scopes else None,
        **kwargs,
    )
    client.register_client_auth_method((JSON_BASIC, _basic_json))
    client.register_compliance_hook("access_token_response", lambda r: flatten(r, provider))
    client.register_compliance_hook("refresh_token_response", lambda r: flatten(r, provider))
    return client


def request_tokens(provider: Provider, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run an Authlib token call, translating transport failures to ProviderError."""
    try:
        result = call(*args, **kwargs)
    except httpx.HTTPError as exc:
        raise ProviderError(provider.key, "network", f"token endpoint: {describe_failure(exc)}") from None
    return dict(result)
