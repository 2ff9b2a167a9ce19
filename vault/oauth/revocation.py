"""Revoking a token each provider's own way (the catalog's ``revoke.style``).

RFC 7009 where the provider follows it (Google, GitLab, any OIDC server),
refresh token first since revoking it takes the grant's access tokens along
(RFC 7009 §2.1), and only that one where either token revokes the whole grant
(Google, ``revoke.grant_wide``); GitHub's ``DELETE /applications/{client_id}/token`` with Basic
auth and a JSON body; Linear's form fields; Slack's ``auth.revoke``
authenticated by the token itself; Notion's JSON with Basic auth; Dropbox's
bearer call.  Any answer but the documented success raises ProviderError.
"""

from __future__ import annotations

import httpx2

from vault.core.model import ClientRegistration, Credential
from vault.core.outside import load_json
from vault.core.providers import Provider
from vault.errors import ProviderError
from vault.oauth.client import OAuthClient, form, transient_error
from vault.oauth.http import basic_auth, describe_failure


def _check(response: httpx2.Response, provider: Provider, ok: tuple[int, ...] = (200,)) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        raise transient_error(response, provider.key)
    if response.status_code not in ok:
        code = f"http_{response.status_code}"
        try:
            data = load_json(response.content)
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                code = data["error"]
        except ValueError:
            pass
        raise ProviderError(provider.key, code, "the revocation was not confirmed")


def _already_invalid(response: httpx2.Response) -> bool:
    """Google's 400 ``invalid_token`` for a token that no longer works: where revoking one
    token revokes the grant, that is a grant already revoked (by an earlier call, or at the
    provider's own page), so there is nothing left to revoke."""
    if response.status_code != 400:
        return False
    try:
        data = load_json(response.content)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("error") == "invalid_token"


def send_revocation(
    provider: Provider, registration: ClientRegistration, credential: Credential, transport: httpx2.BaseTransport | None
) -> None:
    """Ask the provider to revoke the credential's tokens.

    Raises:
        ProviderError: anything but the provider's documented success.
    """
    url = provider.revoke.url
    if url is None:
        raise ProviderError(provider.key, "no_endpoint", "no revocation endpoint is configured")
    access = credential.access_token.reveal() if credential.access_token else None
    refresh = credential.refresh_token.reveal() if credential.refresh_token else None
    secret = registration.client_secret.reveal() if registration.client_secret else ""
    style = provider.revoke.style
    basic = {"Authorization": basic_auth(registration.client_id, secret), **provider.token_headers}
    with OAuthClient(provider, registration, transport) as client:
        http = client.http
        try:
            if style in ("rfc7009", "gitlab"):
                both = ((refresh, "refresh_token"), (access, "access_token"))
                present = [(value, hint) for value, hint in both if value]
                for value, hint in present[:1] if provider.revoke.grant_wide else present:
                    body = form({"token": value, "token_type_hint": hint})
                    response = client.post(url, body, authenticate=provider.revoke.client_auth)
                    if not (provider.revoke.grant_wide and _already_invalid(response)):
                        _check(response, provider)
            elif style == "github" and access:
                response = http.request(
                    "DELETE",
                    url,
                    headers=basic,
                    json={"access_token": access},
                )
                _check(response, provider, ok=(204,))
            elif style == "linear":
                field, token = ("refresh_token", refresh) if refresh else ("access_token", access)
                response = http.post(url, data={field: token or ""}, headers={"Accept": "application/json"})
                _check(response, provider, ok=(200, 400))  # 400: already revoked
            elif style == "slack" and access:
                response = http.post(url, headers={"Authorization": f"Bearer {access}"})
                _check(response, provider)
                try:
                    data = load_json(response.content)
                except ValueError:
                    data = None
                if not (isinstance(data, dict) and data.get("ok") and data.get("revoked")):
                    code = str(data.get("error", "not_revoked")) if isinstance(data, dict) else "bad_response"
                    raise ProviderError(provider.key, code[:80], "Slack did not confirm the revocation")
            elif style == "notion":
                for token in (refresh, access):
                    if token:
                        response = http.post(
                            url,
                            json={"token": token},
                            headers={
                                "Authorization": basic_auth(registration.client_id, secret),
                                **provider.token_headers,
                            },
                        )
                        _check(response, provider)
            elif style == "dropbox" and access:
                _check(http.post(url, headers={"Authorization": f"Bearer {access}"}), provider)
        except httpx2.HTTPError as exc:
            raise ProviderError(
                provider.key, "network", f"revocation: {describe_failure(exc)}", transient=True
            ) from None
