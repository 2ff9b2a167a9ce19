"""Finding a server's endpoints from its issuer URL.

OpenID Connect Discovery 1.0 (``{issuer}/.well-known/openid-configuration``)
first, then RFC 8414 (``/.well-known/oauth-authorization-server`` inserted
between the host and the issuer's path).  The document's ``issuer`` must be the
very string we asked about (RFC 8414 §3.3), and every endpoint must be https
(or http on loopback) before it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2

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


def mcp_metadata_urls(issuer: str) -> list[str]:
    """Where the MCP authorization spec (2025-11-25, "Authorization Server Metadata
    Discovery") looks, in its order: RFC 8414 with the issuer's path inserted, then OIDC
    discovery with the path inserted, then appended (the last two are one URL for an issuer
    without a path)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(where: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, where, "", ""))

    urls = [at(f"/.well-known/oauth-authorization-server{path}"), at(f"/.well-known/openid-configuration{path}")]
    if path:
        urls.append(at(f"{path}/.well-known/openid-configuration"))
    return urls


def discover(name: str, issuer: str, *, transport: httpx2.BaseTransport | None = None) -> dict[str, Any]:
    """Fetch and check a server's metadata; return catalog overrides for a registration.

    Raises:
        InvalidInput: the issuer or an endpoint is not https (or loopback http).
        ProviderError: no metadata, an ``issuer`` that does not match, no endpoints.
    """
    overrides, _document = authorization_server(name, issuer, transport=transport)
    return overrides


def authorization_server(
    name: str,
    issuer: str,
    *,
    transport: httpx2.BaseTransport | None = None,
    urls: Callable[[str], list[str]] = metadata_urls,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`discover`'s overrides, and the metadata document they were read from (for what a
    registration does not store, such as the RFC 7591 ``registration_endpoint``).  ``urls``:
    where to look for ``issuer``'s metadata, in order.  Raises as :func:`discover`."""
    issuer = check_endpoint(issuer.rstrip("/"), "issuer")
    document, failures = fetch_metadata(name, urls(issuer), transport=transport)
    if document is None:
        raise ProviderError(
            name, "discovery_failed", f"no OpenID or RFC 8414 metadata at {issuer} ({', '.join(failures)})"
        )
    if document.get("issuer") != issuer:
        raise ProviderError(
            name, "issuer_mismatch", f"the metadata names issuer {str(document.get('issuer'))[:120]!r}, not {issuer!r}"
        )
    return read_metadata(name, document, issuer), document


def fetch_metadata(
    name: str, urls: list[str], *, transport: httpx2.BaseTransport | None = None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The first metadata document found at ``urls`` (None when none answers with one), and
    why each URL tried before it failed (error codes)."""
    failures: list[str] = []
    with new_client(transport) as http:
        for url in urls:
            try:
                return get_json(http, url, name, "discovery"), failures
            except ProviderError as exc:
                failures.append(exc.code)
    return None, failures


def read_metadata(name: str, document: dict[str, Any], issuer: str) -> dict[str, Any]:
    """Catalog overrides from an authorization server's metadata ``document`` for ``issuer``:
    its endpoints (each checked), revocation, RFC 9207 ``iss``, PKCE and default scopes.

    Raises:
        InvalidInput: an endpoint is not https (or loopback http).
        ProviderError: no authorization or token endpoint.
    """
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
    return overrides
