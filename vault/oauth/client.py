"""The OAuth 2.0 client: Authlib's protocol helpers over tokendeck's own httpx2 client.

Authlib builds the authorization URL (``prepare_grant_uri``), the token request
bodies (``prepare_token_request``) and the PKCE S256 challenge; the requests go
through :func:`vault.oauth.http.new_client` (response cap, timeouts, no
redirects).  We do not use Authlib's httpx integration: it is moving to another
HTTP package, is built on httpx (not httpx2) and would take the transport out of our hands.

What no library does is here too: client authentication done right (RFC 6749
§2.3.1 form-encodes before Base64), Notion's JSON token body, extra token
headers, and :func:`read_token_response`, which turns every provider's answer
into one flat, validated mapping.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

import httpx2
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from vault.core.model import ClientRegistration
from vault.core.outside import load_json
from vault.core.providers import Provider
from vault.errors import ProviderError
from vault.oauth.http import ResponseTooLarge, basic_auth, describe_failure, new_client
from vault.oauth.tokens import decode_body, raise_for_error, token_set


def read_token_response(
    response: httpx2.Response, provider: Provider, grant_type: str = "authorization_code", secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """Refuse bad token responses; lift a nested token (Slack) to the top level.

    Args:
        secrets: what the request sent (refresh token, code, client secret), hidden in an error's words.

    Raises:
        ProviderError: HTML, an empty, non-object or too deeply nested body, an ``error`` at
            any status, Slack's ``ok: false``, a missing or unusable token, a nonsense lifetime.
    """
    data = decode_body(response, provider.key)
    try:
        raise_for_error(data, response.status_code, provider.key, secrets)
    except ProviderError as exc:
        exc.transient = exc.code in TRANSIENT_CODES
        raise
    nested = data.get(provider.token_path) if provider.token_path else None
    if isinstance(nested, dict) and "access_token" in nested:
        data = {**{k: v for k, v in data.items() if k != provider.token_path}, **nested}
    elif provider.token_path and (grant_type == "authorization_code" or "access_token" not in data):
        # A sign-in must yield the nested user token (a top-level one is Slack's bot
        # token); a refresh answers at the top level.
        raise ProviderError(provider.key, "bad_response", f"no {provider.token_path}.access_token in the response")
    token_set(data, provider, now=0.0)  # validate now, so callers only ever see usable answers
    return data


TRANSIENT_CODES = frozenset({"temporarily_unavailable", "server_error", "slow_down"})


def transient_error(response: httpx2.Response, provider: str, secrets: Iterable[str] = ()) -> ProviderError:
    """A 429 or 5xx as a retryable error, with the provider's ``Retry-After`` if any."""
    retry_after: float | None = None
    header = response.headers.get("retry-after", "")
    if header.strip().isdigit():
        retry_after = float(header)
    code = f"http_{response.status_code}"
    with contextlib.suppress(ValueError):
        data = load_json(response.content)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            code = data["error"]
    return ProviderError(
        provider, code, "the provider is unavailable", transient=True, retry_after=retry_after, secrets=secrets
    )


SENT_SECRETS = ("refresh_token", "code", "code_verifier", "device_code")
"""The fields of a token request a provider could echo in its error that must not be shown."""


class OAuthClient:
    """Talks to one provider's authorization and token endpoints for one registration.

    Args:
        transport: an httpx transport (tests plug in ``httpx2.MockTransport``).
        http: a client to use instead of one of its own (the vault's shared one), left open.
    """

    def __init__(
        self,
        provider: Provider,
        registration: ClientRegistration,
        transport: httpx2.BaseTransport | None = None,
        *,
        http: httpx2.Client | None = None,
    ) -> None:
        self.provider = provider
        self._client_id = registration.client_id
        self._secret = registration.client_secret.reveal() if registration.client_secret else None
        self._owns_http = http is None
        self.http = http if http is not None else new_client(transport)

    def __enter__(self) -> OAuthClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:  # a shared client (``http=``) belongs to whoever gave it
            self.http.close()

    def authorization_url(self, *, redirect_uri: str, state: str, verifier: str | None, scopes: Sequence[str]) -> str:
        """The URL the browser is sent to (RFC 6749 §4.1.1, RFC 7636 §4.3)."""
        p = self.provider
        extra: dict[str, str] = dict(p.authorize_params)
        scope = p.scope_separator.join(scopes) or None
        if p.scope_param != "scope" and scope:
            extra[p.scope_param] = scope
            scope = None
        if p.resource is not None:
            extra["resource"] = p.resource  # RFC 8707 §2.1
        if verifier is not None:
            extra["code_challenge"] = create_s256_code_challenge(verifier)
            extra["code_challenge_method"] = "S256"
        if p.authorize_url is None:
            raise ProviderError(p.key, "no_endpoint", "no authorization endpoint is configured")
        url: str = prepare_grant_uri(
            p.authorize_url, self._client_id, "code", redirect_uri=redirect_uri, scope=scope, state=state, **extra
        )
        return url

    def exchange_code(self, code: str, *, redirect_uri: str, verifier: str | None) -> dict[str, Any]:
        """Redeem an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
        return self.token_request(
            "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=verifier or None
        )

    def token_request(self, grant_type: str, **fields: Any) -> dict[str, Any]:
        """POST to the token endpoint with client authentication; return the checked answer."""
        p = self.provider
        if p.token_url is None:
            raise ProviderError(p.key, "no_endpoint", "no token endpoint is configured")
        redirect_uri = fields.pop("redirect_uri", None)
        if p.resource is not None:
            fields.setdefault("resource", p.resource)  # RFC 8707 §2.2: on every token request, refreshes too
        body = prepare_token_request(grant_type, "", redirect_uri=redirect_uri, **fields)
        sent = [str(fields[k]) for k in SENT_SECRETS if fields.get(k)] + [self._secret or ""]
        secrets = sent + [quote_plus(s) for s in sent]  # as sent, and as the form body spelled it
        try:
            response = self.post(p.token_url, body)
        except ResponseTooLarge:
            raise ProviderError(p.key, "bad_response", "the token response is too large") from None
        except httpx2.HTTPError as exc:
            raise ProviderError(p.key, "network", f"token endpoint: {describe_failure(exc)}", transient=True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise transient_error(response, p.key, secrets)
        return read_token_response(response, p, grant_type, secrets)

    def post(self, url: str, form_body: str, *, authenticate: bool = True) -> httpx2.Response:
        """POST a form (or, for Notion, the same fields as JSON) with the provider's headers."""
        p = self.provider
        fields = dict(parse_qsl(form_body, keep_blank_values=True))
        headers = {"Accept": "application/json", **p.token_headers}
        method = p.token_auth if self._secret else "none"
        if authenticate and method == "client_secret_basic" and self._secret is not None:
            headers["Authorization"] = basic_auth(self._client_id, self._secret)
        elif authenticate and method == "client_secret_post" and self._secret is not None:
            fields.update(client_id=self._client_id, client_secret=self._secret)
        else:
            fields.setdefault("client_id", self._client_id)
        if p.token_request_format == "json":
            return self.http.post(
                url, content=json.dumps(fields), headers={**headers, "Content-Type": "application/json"}
            )
        return self.http.post(
            url, content=urlencode(fields), headers={**headers, "Content-Type": "application/x-www-form-urlencoded"}
        )


def form(fields: Mapping[str, str]) -> str:
    return urlencode(fields)
