"""How an MCP server wants to be signed in to, found from nothing but its URL (the MCP
authorization spec, on RFC 9728 and RFC 8414).

1. An unauthenticated MCP request (``initialize``, as a client's first one) must get
   ``401`` with ``WWW-Authenticate: Bearer resource_metadata="URL"`` (RFC 9728 §5.1);
   without that parameter, the well-known places are tried: ``/.well-known/
   oauth-protected-resource`` inserted between the host and the server's path, then at
   the root (RFC 9728 §3.1, the MCP spec's fallback).
2. The protected-resource metadata must name this very server as its ``resource``
   (RFC 9728 §3.3: a document for another resource is refused) and at least one
   authorization server.
3. That authorization server's metadata comes from OIDC or RFC 8414 discovery
   (:mod:`vault.oauth.discovery`, which checks its ``issuer`` and every endpoint).

Every URL taken from a document is checked to be https, or http on loopback, before it
is requested or stored (:func:`vault.core.providers.check_endpoint`); none is ever given
to a shell.  The canonical server URI (:func:`canonical_resource`) is what ``resource``
(RFC 8707) carries on the authorization, token and refresh requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from vault.core.providers import check_endpoint
from vault.errors import InvalidInput, ProviderError
from vault.oauth.discovery import authorization_server
from vault.oauth.http import describe_failure, get_json, new_client

WELL_KNOWN = "/.well-known/oauth-protected-resource"
INITIALIZE = (
    '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
    '"capabilities":{},"clientInfo":{"name":"tokendeck","version":"1"}}}'
)
"""The unauthenticated first request: what an MCP client sends first, so the server answers as it would."""

_AUTH_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class McpAuthorization:
    """What signing in to one MCP server needs."""

    resource: str
    """The canonical server URI: the ``resource`` of every authorization and token request."""
    issuer: str
    """The authorization server it names (the first, when it names several)."""
    overrides: dict[str, Any]
    """Its endpoints, as :func:`vault.oauth.discovery.discover` gives them for a registration."""
    registration_url: str | None = None
    """Its RFC 7591 dynamic client registration endpoint, when it has one (checked)."""
    scopes: list[str] = field(default_factory=list)
    """The scopes the resource says it understands (``scopes_supported``), if any."""
    client_metadata_documents: bool = False
    """The authorization server takes an https URL of a client ID metadata document as a
    client id (``client_id_metadata_document_supported``, the MCP authorization spec)."""


def canonical_resource(url: str) -> str:
    """The MCP server's canonical URI: scheme and host in lower case, no query or fragment,
    no trailing slash (unless the path is only ``/``).

    Raises:
        InvalidInput: not https, nor http on loopback.
    """
    checked = check_endpoint(url.strip(), "the MCP server URL")
    parts = urlsplit(checked)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def metadata_from_challenge(www_authenticate: str) -> str | None:
    """The ``resource_metadata`` parameter of a Bearer challenge (RFC 9728 §5.1), if any."""
    for challenge in re.split(r",\s*(?=[A-Za-z][A-Za-z0-9_-]*\s+[A-Za-z0-9_-]+\s*=)", www_authenticate):
        scheme, _, params = challenge.strip().partition(" ")
        if scheme.lower() != "bearer":
            continue
        for match in _AUTH_PARAM.finditer(params):
            if match[1].lower() == "resource_metadata":
                value = match[2] if match[2] is not None else match[3]
                return re.sub(r"\\(.)", r"\1", value)
    return None


def well_known_urls(resource: str) -> list[str]:
    """Where the protected-resource metadata may be without a challenge naming it, in order."""
    parts = urlsplit(resource)
    root = urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN, "", ""))
    path = parts.path.rstrip("/")
    inserted = urlunsplit((parts.scheme, parts.netloc, f"{WELL_KNOWN}{path}", "", ""))
    return [inserted, root] if path else [root]


def find(url: str, *, name: str = "mcp", transport: httpx.BaseTransport | None = None) -> McpAuthorization:
    """Follow the MCP authorization discovery from the server's URL.

    Raises:
        InvalidInput: the URL, or one a document names, is not https (or loopback http).
        ProviderError: the server does not ask for sign-in, or sends no usable metadata, or
            metadata for another resource (``resource_mismatch``), or names no authorization server.
    """
    resource = canonical_resource(url)
    with new_client(transport) as http:
        named = _challenge(http, resource, name)
        candidates = [check_endpoint(named, "the resource metadata URL")] if named else well_known_urls(resource)
        document, failures = None, []
        for candidate in candidates:
            try:
                document = get_json(http, candidate, name, "the protected-resource metadata")
                break
            except ProviderError as exc:
                failures.append(exc.code)
        if document is None:
            where = "the URL its challenge named" if named else "the well-known places"
            raise ProviderError(
                name,
                "no_resource_metadata",
                f"{resource} has no protected-resource metadata at {where} ({', '.join(failures)})",
            )
    if str(document.get("resource", "")).rstrip("/") != resource:
        raise ProviderError(
            name,
            "resource_mismatch",
            f"the metadata is for {str(document.get('resource'))[:120]!r}, not {resource!r}; refusing it",
        )
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        raise ProviderError(name, "bad_metadata", f"the metadata of {resource} names no authorization server")
    issuer = check_endpoint(servers[0], "the authorization server")
    overrides, as_document = authorization_server(name, issuer, transport=transport)
    registration = as_document.get("registration_endpoint")
    registration_url = (
        check_endpoint(registration, "registration endpoint")
        if isinstance(registration, str) and registration
        else None
    )
    scopes = document.get("scopes_supported")
    listed = [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
    documents = as_document.get("client_id_metadata_document_supported") is True
    return McpAuthorization(resource, overrides["issuer"], overrides, registration_url, listed, documents)


def _challenge(http: httpx.Client, resource: str, name: str) -> str | None:
    """The metadata URL the server's 401 names, or None when it names none.

    Raises:
        ProviderError: no answer, or an answer that is not a 401 (nothing to sign in to).
    """
    try:
        response = http.post(
            resource,
            content=INITIALIZE,
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
        )
    except httpx.HTTPError as exc:
        raise ProviderError(name, "network", f"{resource}: {describe_failure(exc)}") from None
    if response.status_code != 401:
        raise ProviderError(
            name, "no_sign_in", f"{resource} answered HTTP {response.status_code}, not 401: it does not ask for sign-in"
        )
    return metadata_from_challenge(response.headers.get("www-authenticate", ""))


REDIRECT_URI = "http://127.0.0.1/callback"
"""What a dynamically registered client registers: the loopback listener's, any port (RFC 8252 §7.3)."""


NATIVE_CLIENT: dict[str, object] = {
    "client_name": "tokendeck",
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}
"""tokendeck as a public native client (RFC 8252): what it registers (RFC 7591), and what a
client ID metadata document for it says."""


def client_metadata_document(url: str) -> dict[str, object]:
    """The client ID metadata document to host at ``url`` for ``login --mcp --client-metadata
    URL``: its ``client_id`` is the URL itself.

    Raises:
        InvalidInput: ``url`` is not https (nor http on loopback), or has a fragment.
    """
    checked = check_endpoint(url, "the client metadata URL")
    if urlsplit(checked).fragment:
        raise InvalidInput("the client metadata URL cannot have a #fragment")
    return {"client_id": checked, **NATIVE_CLIENT}


def register_client(
    registration_url: str, scopes: list[str], *, name: str = "mcp", transport: httpx.BaseTransport | None = None
) -> str:
    """Register tokendeck as a public native client (RFC 7591 §3.1): the client id it gets.

    Raises:
        InvalidInput: the endpoint is not https (or loopback http).
        ProviderError: the server refused (``registration_refused``, with its RFC 7591
            §3.2.2 error code), or answered without a client id.
    """
    import json

    url = check_endpoint(registration_url, "registration endpoint")
    metadata = {**NATIVE_CLIENT, **({"scope": " ".join(scopes)} if scopes else {})}
    with new_client(transport) as http:
        try:
            response = http.post(
                url,
                content=json.dumps(metadata),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ProviderError(name, "network", f"client registration: {describe_failure(exc)}") from None
    try:
        answer = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        answer = None
    if response.status_code not in (200, 201):
        code = answer.get("error") if isinstance(answer, dict) and isinstance(answer.get("error"), str) else None
        why = f" ({code[:80]})" if code else ""
        raise ProviderError(
            name, "registration_refused", f"the server refused to register tokendeck (HTTP {response.status_code}){why}"
        )
    client_id = answer.get("client_id") if isinstance(answer, dict) else None
    if not isinstance(client_id, str) or not client_id or not client_id.isprintable() or len(client_id) > 500:
        raise ProviderError(name, "bad_response", "the client registration answer holds no usable client id")
    return client_id
