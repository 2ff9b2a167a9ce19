"""How an MCP server wants to be signed in to, found from nothing but its URL: the MCP
authorization spec (revision 2025-11-25, the one the conformance suite tests; the
2026-07-28 revision the ``mcp`` SDK speaks keeps these rules), on RFC 9728 and RFC 8414,
with the 2025-03-26 revision's fallbacks.

1. An unauthenticated MCP request (``initialize``, as a client's first one) should get
   ``401`` with ``WWW-Authenticate: Bearer resource_metadata="URL", scope="..."`` (RFC 9728
   §5.1, RFC 6750 §3).  A server that lets ``initialize`` through and asks for sign-in only
   later (step-up) is looked up the same way, from the well-known places.
2. The protected-resource metadata comes from the URL the challenge names, else from the
   well-known places: ``/.well-known/oauth-protected-resource`` inserted between the host
   and the server's path, then at the root (RFC 9728 §3.1, the MCP spec's order).  Its
   ``resource`` must be the resource the document is about (RFC 9728 §3.3): the server's
   URL, or a same-origin prefix of it (the resource the root document describes is the
   origin); a document naming another host is refused.
3. The authorization server's metadata is looked for in the MCP spec's order (RFC 8414
   with the issuer's path inserted, then OIDC discovery), and its ``issuer`` must be the
   one the resource named.
4. A server of the 2025-03-26 revision has no protected-resource metadata: its origin is
   the authorization server, whose metadata is at the origin's well-known places, or,
   without any, whose endpoints are the defaults ``/authorize``, ``/token`` and
   ``/register`` there.

Scopes (the spec's scope selection strategy): the challenge's ``scope`` first, else the
resource's ``scopes_supported``, else none at all; ``offline_access`` is added only where
the authorization server lists it (SEP-2207).

Every URL taken from a document is checked to be https, or http on loopback, before it
is requested or stored (:func:`vault.core.providers.check_endpoint`); none is ever given
to a shell.  The resource (RFC 8707) goes on the authorization, token and refresh requests.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2

from vault.core.outside import load_json
from vault.core.providers import check_endpoint
from vault.errors import InvalidInput, ProviderError
from vault.oauth.discovery import authorization_server, fetch_metadata, mcp_metadata_urls, read_metadata
from vault.oauth.http import describe_failure, get_json, new_client

WELL_KNOWN = "/.well-known/oauth-protected-resource"
INITIALIZE = (
    '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    '"capabilities":{},"clientInfo":{"name":"tokendeck","version":"1"}}}'
)
"""The unauthenticated first request: what an MCP client sends first, so the server answers as it would."""

OFFLINE_ACCESS = "offline_access"
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
"""The token endpoint authentication methods tokendeck can do (RFC 7591 §2)."""

_AUTH_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class McpAuthorization:
    """What signing in to one MCP server needs."""

    server: str
    """The server's canonical URL: where the bridge sends its requests."""
    resource: str | None
    """The RFC 8707 resource indicator of every authorization and token request: the
    ``resource`` its metadata names (the server's URL, or a prefix of it); None for a
    2025-03-26 server, which has no protected-resource metadata."""
    issuer: str
    """The authorization server it names (the first, when it names several)."""
    overrides: dict[str, Any]
    """Its endpoints, as :func:`vault.oauth.discovery.read_metadata` gives them for a registration."""
    registration_url: str | None = None
    """Its RFC 7591 dynamic client registration endpoint, when it has one (checked)."""
    scopes: list[str] = field(default_factory=list)
    """What to ask for, by the spec's scope selection strategy (may be empty: no ``scope``)."""
    client_metadata_documents: bool = False
    """The authorization server takes an https URL of a client ID metadata document as a
    client id (``client_id_metadata_document_supported``, the MCP authorization spec)."""
    auth_methods: tuple[str, ...] = ("client_secret_basic",)
    """The token endpoint authentication methods the authorization server supports
    (``token_endpoint_auth_methods_supported``; RFC 8414's default when it lists none)."""
    offered_scopes: tuple[str, ...] = ()
    """The authorization server's own ``scopes_supported``: the only scopes a registration
    names (a certified server refuses a client whose ``scope`` holds others, such as the
    resource's)."""
    fallback: str | None = None
    """Set when no metadata was found anywhere and the 2025-03-26 default endpoints are
    tried: what to tell the user."""


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


def challenge_params(www_authenticate: str) -> dict[str, str]:
    """The parameters of the Bearer challenge in a ``WWW-Authenticate`` header (RFC 6750 §3,
    RFC 9728 §5.1), names in lower case; empty when there is no Bearer challenge."""
    for challenge in re.split(r",\s*(?=[A-Za-z][A-Za-z0-9_-]*\s+[A-Za-z0-9_-]+\s*=)", www_authenticate):
        scheme, _, params = challenge.strip().partition(" ")
        if scheme.lower() != "bearer":
            continue
        found: dict[str, str] = {}
        for match in _AUTH_PARAM.finditer(params):
            value = match[2] if match[2] is not None else match[3]
            found.setdefault(match[1].lower(), re.sub(r"\\(.)", r"\1", value))
        return found
    return {}


def metadata_from_challenge(www_authenticate: str) -> str | None:
    """The ``resource_metadata`` parameter of a Bearer challenge (RFC 9728 §5.1), if any."""
    return challenge_params(www_authenticate).get("resource_metadata")


def well_known_urls(resource: str) -> list[str]:
    """Where the protected-resource metadata may be without a challenge naming it, in order."""
    parts = urlsplit(resource)
    root = urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN, "", ""))
    path = parts.path.rstrip("/")
    inserted = urlunsplit((parts.scheme, parts.netloc, f"{WELL_KNOWN}{path}", "", ""))
    return [inserted, root] if path else [root]


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def resource_allowed(named: str, server: str) -> bool:
    """Whether protected-resource metadata naming ``named`` may describe ``server``: the same
    URL, or a same-origin prefix of its path ending at a ``/`` (the resource the root
    well-known document describes is the origin; RFC 9728 §3.3 and the MCP SDKs' rule).
    Another scheme, host or port never is."""
    try:
        named = canonical_resource(named)
    except InvalidInput:
        return False
    if named == server:
        return True
    if origin(named) != origin(server):
        return False
    prefix = urlsplit(named).path.rstrip("/")
    return urlsplit(server).path.startswith(f"{prefix}/")


@dataclass(frozen=True)
class Challenge:
    """What the server's answer to an unauthenticated request said."""

    status: int
    metadata_url: str | None = None
    scope: str | None = None


def find(url: str, *, name: str = "mcp", transport: httpx2.BaseTransport | None = None) -> McpAuthorization:
    """Follow the MCP authorization discovery from the server's URL.

    Raises:
        InvalidInput: the URL, or one a document names, is not https (or loopback http).
        ProviderError: the server cannot be reached, or does not ask for sign-in and has
            no metadata (``no_sign_in``), or sends metadata for another resource
            (``resource_mismatch``), or names no authorization server, or its
            authorization server's metadata does not check out.
    """
    server = canonical_resource(url)
    with new_client(transport) as http:
        challenge = probe(http, server, name)
        document = _resource_metadata(http, server, challenge, name)
    if document is None:
        return _legacy(server, challenge, name, transport)
    named = str(document.get("resource", ""))
    if not resource_allowed(named, server):
        raise ProviderError(
            name,
            "resource_mismatch",
            f"the metadata is for {named[:120]!r}, not {server!r}; refusing it",
        )
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        raise ProviderError(name, "bad_metadata", f"the metadata of {server} names no authorization server")
    issuer = check_endpoint(servers[0], "the authorization server")
    overrides, as_document = authorization_server(name, issuer, transport=transport, urls=mcp_metadata_urls)
    supported = document.get("scopes_supported")
    listed = [s for s in supported if isinstance(s, str)] if isinstance(supported, list) else None
    return _authorization(
        server, canonical_resource(named), overrides, as_document, select_scopes(challenge.scope, listed, as_document)
    )


def probe(http: httpx2.Client, server: str, name: str) -> Challenge:
    """Send the unauthenticated ``initialize``; what the server's answer says about signing in.

    Raises:
        ProviderError: no answer at all (``network``).
    """
    try:
        response = http.post(
            server,
            content=INITIALIZE,
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
        )
    except httpx2.HTTPError as exc:
        raise ProviderError(name, "network", f"{server}: {describe_failure(exc)}") from None
    if response.status_code not in (401, 403):
        return Challenge(response.status_code)
    params = challenge_params(response.headers.get("www-authenticate", ""))
    return Challenge(response.status_code, params.get("resource_metadata"), params.get("scope"))


def _resource_metadata(http: httpx2.Client, server: str, challenge: Challenge, name: str) -> dict[str, Any] | None:
    """The protected-resource metadata: at the URL the challenge named, else at the first
    well-known place that has it; None when there is none anywhere.

    Raises:
        ProviderError: the challenge named a URL and it does not answer with metadata.
    """
    if challenge.metadata_url is not None:
        named = check_endpoint(challenge.metadata_url, "the resource metadata URL")
        try:
            return get_json(http, named, name, "the protected-resource metadata")
        except ProviderError as exc:
            raise ProviderError(
                name,
                "no_resource_metadata",
                f"{server} has no protected-resource metadata at the URL its challenge named ({exc.code})",
            ) from None
    for candidate in well_known_urls(server):
        with contextlib.suppress(ProviderError):
            return get_json(http, candidate, name, "the protected-resource metadata")
    return None


def _legacy(server: str, challenge: Challenge, name: str, transport: httpx2.BaseTransport | None) -> McpAuthorization:
    """A 2025-03-26 server (no protected-resource metadata): its origin is the authorization
    server, with metadata at the origin's well-known places, else the default endpoints.

    Raises:
        ProviderError: the server does not ask for sign-in (``no_sign_in``).
    """
    if challenge.status not in (401, 403):
        raise ProviderError(
            name,
            "no_sign_in",
            f"{server} answered HTTP {challenge.status}, not 401, and has no protected-resource metadata: "
            "it does not ask for sign-in",
        )
    base = origin(server)
    document, _failures = fetch_metadata(name, mcp_metadata_urls(base), transport=transport)
    fallback = None
    if document is None:
        fallback = (
            f"{server} has no protected-resource metadata and {base} no authorization server metadata: "
            f"trying the 2025-03-26 revision's default endpoints there (/authorize, /token, /register)"
        )
        document = {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "registration_endpoint": f"{base}/register",
        }
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or origin(issuer) != base:
        # 2025-03-26 ties the authorization server to the MCP server's origin; a document
        # served there that names another host's issuer is refused (RFC 8414 §3.3).
        raise ProviderError(name, "issuer_mismatch", f"the metadata at {base} names issuer {str(issuer)[:120]!r}")
    overrides = read_metadata(name, document, check_endpoint(issuer, "issuer"))
    scopes = select_scopes(challenge.scope, None, document)
    return _authorization(server, None, overrides, document, scopes, fallback)


def _authorization(
    server: str,
    resource: str | None,
    overrides: dict[str, Any],
    as_document: dict[str, Any],
    scopes: list[str],
    fallback: str | None = None,
) -> McpAuthorization:
    registration = as_document.get("registration_endpoint")
    registration_url = (
        check_endpoint(registration, "registration endpoint")
        if isinstance(registration, str) and registration
        else None
    )
    methods = as_document.get("token_endpoint_auth_methods_supported")
    offered = as_document.get("scopes_supported")
    auth_methods = (
        tuple(m for m in methods if isinstance(m, str)) if isinstance(methods, list) and methods else AUTH_METHODS[:1]
    )
    return McpAuthorization(
        server=server,
        resource=resource,
        issuer=overrides["issuer"],
        overrides=overrides,
        registration_url=registration_url,
        scopes=scopes,
        client_metadata_documents=as_document.get("client_id_metadata_document_supported") is True,
        auth_methods=auth_methods,
        offered_scopes=tuple(s for s in offered if isinstance(s, str)) if isinstance(offered, list) else (),
        fallback=fallback,
    )


def select_scopes(challenged: str | None, supported: list[str] | None, as_document: dict[str, Any]) -> list[str]:
    """The scopes to request: the challenge's ``scope``, else the resource's
    ``scopes_supported``, else none; then ``offline_access`` where the authorization server
    lists it in its ``scopes_supported`` and it is not there yet (SEP-2207)."""
    chosen = challenged.split() if challenged else list(supported or [])
    offered = as_document.get("scopes_supported")
    if isinstance(offered, list) and OFFLINE_ACCESS in offered and OFFLINE_ACCESS not in chosen:
        chosen.append(OFFLINE_ACCESS)
    return list(dict.fromkeys(chosen))


def token_auth_method(found: McpAuthorization, registered: str | None, has_secret: bool, name: str) -> str:
    """How tokendeck authenticates at the token endpoint: the method the registration
    answer names, else (a client with a secret) the first the server supports of
    ``client_secret_basic`` and ``client_secret_post`` (``none`` where it supports only
    that: the secret goes unused), else ``none``.

    Raises:
        ProviderError: the method is one tokendeck cannot do (``private_key_jwt``, ...), or
            a secret is needed and the server supports no method that uses one.
    """
    if registered is not None:
        if registered not in AUTH_METHODS:
            raise ProviderError(
                name,
                "unsupported_auth_method",
                f"the server registered tokendeck for token_endpoint_auth_method {registered[:60]!r}, "
                "which tokendeck cannot do (it does client_secret_basic, client_secret_post and none)",
            )
        if registered != "none" and not has_secret:
            raise ProviderError(name, "bad_response", f"the registration answer says {registered} but gives no secret")
        return registered
    if not has_secret:
        return "none"
    usable = [m for m in found.auth_methods if m in AUTH_METHODS[:2]] or [m for m in found.auth_methods if m == "none"]
    if not usable:
        raise ProviderError(
            name,
            "unsupported_auth_method",
            f"{found.issuer} authenticates clients only by {', '.join(found.auth_methods)[:120]}, "
            "which tokendeck cannot do (it does client_secret_basic and client_secret_post)",
        )
    return usable[0]


REDIRECT_URI = "http://127.0.0.1/callback"
"""What a dynamically registered client registers: the loopback listener's, any port (RFC 8252 §7.3)."""


NATIVE_CLIENT: dict[str, object] = {
    "client_name": "tokendeck",
    "application_type": "native",
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}
"""tokendeck as a public native client (RFC 8252): what it registers (RFC 7591, with OIDC
Dynamic Client Registration's ``application_type``: the default, ``web``, makes a certified
server match the redirect URI's port exactly, and the listener's port is random), and what a
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


@dataclass(frozen=True)
class Registered:
    """What a dynamic client registration gave (RFC 7591 §3.2.1)."""

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    token_endpoint_auth_method: str | None = None


def register_client(
    registration_url: str, scopes: list[str], *, name: str = "mcp", transport: httpx2.BaseTransport | None = None
) -> Registered:
    """Register tokendeck as a native client (RFC 7591 §3.1), asking to be a public one that
    may use ``scopes`` (omitted when empty).

    Raises:
        InvalidInput: the endpoint is not https (or loopback http).
        ProviderError: the server refused (``registration_refused``, with its RFC 7591
            §3.2.2 error code), or answered without a client id or with an unusable secret.
    """
    url = check_endpoint(registration_url, "registration endpoint")
    metadata = {**NATIVE_CLIENT, **({"scope": " ".join(scopes)} if scopes else {})}
    with new_client(transport) as http:
        try:
            response = http.post(
                url,
                content=json.dumps(metadata),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except httpx2.HTTPError as exc:
            raise ProviderError(name, "network", f"client registration: {describe_failure(exc)}") from None
    try:
        answer = load_json(response.content)
    except ValueError:
        answer = None
    if response.status_code not in (200, 201):
        said = answer if isinstance(answer, dict) else {}
        code, description = said.get("error"), said.get("error_description")
        why = f" ({code[:80]})" if isinstance(code, str) and code.isprintable() else ""
        if isinstance(description, str) and description.isprintable():
            why += f": {description[:200]}"
        raise ProviderError(
            name, "registration_refused", f"the server refused to register tokendeck (HTTP {response.status_code}){why}"
        )
    if not isinstance(answer, dict):
        raise ProviderError(name, "bad_response", "the client registration answer is not a JSON object")
    client_id = answer.get("client_id")
    if not isinstance(client_id, str) or not client_id or not client_id.isprintable() or len(client_id) > 500:
        raise ProviderError(name, "bad_response", "the client registration answer holds no usable client id")
    secret = answer.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or not secret or not secret.isprintable()):
        raise ProviderError(name, "bad_response", "the client registration answer holds an unusable client secret")
    method = answer.get("token_endpoint_auth_method")
    return Registered(client_id, secret, method if isinstance(method, str) else None)
