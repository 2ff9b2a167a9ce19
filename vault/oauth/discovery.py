"""Finding a server's endpoints from its issuer URL.

OpenID Connect Discovery 1.0 (``{issuer}/.well-known/openid-configuration``)
first, then RFC 8414 (``/.well-known/oauth-authorization-server`` inserted
between the host and the issuer's path).  The document's ``issuer`` must be the
very string we asked about (RFC 8414 §3.3), and every endpoint must be https
(or http on loopback) before it is stored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from vault.core.providers import check_endpoint
from vault.errors import ProviderError
from vault.oauth.http import get_json, new_client

ENDPOINTS = {
    "authorization_endpoint": "authorize_url",
    "token_endpoint": "token_url",
    "device_authorization_endpoint": "device_authorization_url",
    "userinfo_endpoint": "userinfo_url",
}
"""Metadata names -> catalog field names."""


def metadata_urls(issuer: str) -> list[str]:
    """Where to look, in order: OIDC discovery, then RFC 8414."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    oidc = urlunsplit((parts.scheme, parts.netloc, f"{path}/.well-known/openid-configuration", "", ""))
    rfc8414 = urlunsplit((parts.scheme, parts.netloc, f"/.well-known/oauth-authorization-server{path}", "", ""))
    return [oidc, rfc8414]


def discover(name: str, issuer: str, *, transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Fetch and check a server's metadata; return catalog overrides for a registration.

    Raises:
        InvalidInput: the issuer or an endpoint is not https (or loopback http).
        ProviderError: no metadata, an ``issuer`` that does not match, no endpoints.
    """
    overrides, _document = authorization_server(name, issuer, transport=transport)
    return overrides


def authorization_server(
    name: str, issuer: str, *, transport: httpx.BaseTransport | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`discover`'s overrides, and the metadata document they were read from (for what a
    registration does not store, such as the RFC 7591 ``registration_endpoint``).  Raises as
    :func:`discover`."""
    issuer = check_endpoint(
        issuer.rstrip("/") if urlsplit(issuer).path not in ("", "/") else issuer.rstrip("/"), "issuer"
    )
    document: dict[str, Any] | None = None
    failures: list[str] = []
    with new_client(transport) as http:
        for url in metadata_urls(issuer):
            try:
                document = get_json(http, url, name, "discovery")
                break
            except ProviderError as exc:
                failures.append(exc.code)
    if document is None:
        raise ProviderError(
            name, "discovery_failed", f"no OpenID or RFC 8414 metadata at {issuer} ({', '.join(failures)})"
        )
    if document.get("issuer") != issuer:
        raise ProviderError(
            name, "issuer_mismatch", f"the metadata names issuer {str(document.get('issuer'))[:120]!r}, not {issuer!r}"
        )
    overrides: dict[str, Any] = {"issuer": issuer}
    for meta_name, field_name in ENDPOINTS.items():
        value = document.get(meta_name)
        if isinstance(value, str) and value:
            overrides[field_name] = check_endpoint(value, meta_name.replace("_", " "))
    if "authorize_url" not in overrides or "token_url" not in overrides:
        raise ProviderError(name, "bad_metadata", "the metadata lacks an authorization or token endpoint")
    revocation = document.get("revocation_endpoint")
    if isinstance(revocation, str) and revocation:
        overrides["revoke"] = {"style": "rfc7009", "url": check_endpoint(revocation, "revocation endpoint")}
    else:
        overrides["revoke"] = {"style": "none"}
    if document.get("authorization_response_iss_parameter_supported") is True:
        overrides["iss_parameter_supported"] = True
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and methods and "S256" not in methods:
        overrides["pkce"] = "none"
    if "userinfo_url" in overrides:
        overrides["identity"] = {"url": overrides["userinfo_url"], "account": "email"}
    supported = document.get("scopes_supported")
    if isinstance(supported, list) and "offline_access" not in supported:
        overrides["default_scopes"] = [s for s in ("openid", "email", "profile") if s in supported] or ["openid"]
    return overrides, document
