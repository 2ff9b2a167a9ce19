"""``tokendeck login --mcp URL``: signing in to an MCP server from nothing but its URL.

:func:`vault.oauth.mcp.find` follows the server's 401 to its protected-resource metadata
and its authorization server; the client id is the one registered before for that
server (reused), the one the user gives, the URL of a client ID metadata document the user
hosts (where the authorization server takes one), or one registered now by RFC 7591 as a
public native client: the MCP authorization spec's order.  The registration is stored as a
provider named after the server (``mcp-HOST``), with ``resource`` set, so the authorization
request, the code exchange and every refresh carry the RFC 8707 resource indicator; then
the usual sign-in runs (:func:`vault.services.signin.login`).  The credential keeps the
server's URL in its extras (``mcp_url``).

Nothing is stored until discovery and registration have succeeded; a refused or failed
sign-in after that leaves the stored registration (it is reused next time) and no
credential.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from vault.core.model import MCP_URL_EXTRA, ClientRegistration, Credential, check_name
from vault.errors import InvalidInput
from vault.oauth.mcp import McpAuthorization, client_metadata_document, find, register_client
from vault.services.registration import RegistrationRequest, prepare, store
from vault.services.signin import DEFAULT_TIMEOUT, SignInUI, cancelled, login
from vault.services.tokens import Vault


def provider_name(resource: str) -> str:
    """The provider name a server's registration is stored under: ``mcp-`` and its host
    (and path, when it has one): ``https://mcp.linear.app/mcp`` -> ``mcp-mcp.linear.app-mcp``."""
    parts = urlsplit(resource)
    text = f"{parts.netloc}{parts.path}"
    slug = re.sub(r"[^A-Za-z0-9._@+-]+", "-", text).strip("-.")
    return check_name(f"mcp-{slug}"[:100].rstrip("-."), "provider")


def login_mcp(
    vault: Vault,
    url: str,
    ui: SignInUI,
    *,
    name: str | None = None,
    client_id: str | None = None,
    client_metadata: str | None = None,
    no_browser: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    notice: Callable[[str], None] = lambda message: None,
    cancel: threading.Event | None = None,
) -> Credential:
    """Sign in to the MCP server at ``url`` and store the credential (named ``name``, or
    after the server).  ``client_metadata``: the https URL where the user hosts tokendeck's
    client ID metadata document (:func:`vault.oauth.mcp.client_metadata_document`), used as
    the client id where the authorization server takes one.  ``cancel`` (set from another
    thread) stops it before the browser opens, or while the flow waits, and nothing more is
    stored.

    Raises:
        InvalidInput: a bad URL or name, a URL a document names that is not https (or
            loopback http), or no way to a client id (no dynamic registration, none given).
        ProviderError, SignInFailed: discovery, registration or the sign-in failed, or
            it was cancelled.
    """
    if name is not None:
        check_name(name)
    if client_metadata is not None:
        client_metadata = str(client_metadata_document(client_metadata)["client_id"])  # checked before any request
    found = find(url, transport=transport)
    provider = provider_name(found.resource)
    if cancel is not None and cancel.is_set():
        raise cancelled(provider)
    if client_id is None and client_metadata is not None:
        if found.client_metadata_documents:
            client_id = client_metadata
        else:
            notice(f"{found.issuer} does not take client ID metadata documents; registering tokendeck instead")
    registration = _registration(vault, provider, found, client_id, transport, notice)
    return login(
        vault, registration.provider, ui, name=name or provider, no_browser=no_browser, timeout=timeout,
        transport=transport, notice=notice, extras={MCP_URL_EXTRA: found.resource}, cancel=cancel,
    )  # fmt: skip


def _registration(
    vault: Vault,
    provider: str,
    found: McpAuthorization,
    client_id: str | None,
    transport: httpx.BaseTransport | None,
    notice: Callable[[str], None],
) -> ClientRegistration:
    """The stored registration for this server: the one from before when it still fits,
    else a new one (with ``client_id``, or registered now)."""
    before = next((r for r in vault.clients() if r.provider == provider), None)
    fits = (
        before is not None
        and before.overrides.get("resource") == found.resource
        and before.overrides.get("issuer") == found.issuer
        and (client_id is None or before.client_id == client_id)
    )
    if before is not None and fits:
        return before
    scopes = list(found.scopes)
    if scopes and "default_scopes" not in found.overrides:  # the server offers offline_access
        scopes.append("offline_access")
    if client_id is None:
        if found.registration_url is None:
            documents = " or --client-metadata URL" if found.client_metadata_documents else ""
            raise InvalidInput(
                f"{found.issuer} does not offer dynamic client registration: register tokendeck there as a "
                f"public client with redirect URI http://127.0.0.1/callback, then pass --client-id{documents}"
            )
        client_id = register_client(found.registration_url, scopes, name=provider, transport=transport)
        notice(f"registered tokendeck with {found.issuer} (client id {client_id})")
    overrides: dict[str, object] = {**found.overrides, "resource": found.resource}
    if scopes:
        overrides["default_scopes"] = scopes
    request = RegistrationRequest(name=provider, client_id=client_id, base="oidc", overrides=overrides, replace=True)
    return store(vault, prepare(vault, request), None)
