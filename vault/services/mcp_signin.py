"""``tokendeck login --mcp URL``: signing in to an MCP server from nothing but its URL.

:func:`vault.oauth.mcp.find` follows the server's 401 (or, for a server that asks only
later, its well-known metadata) to its protected-resource metadata and its authorization
server.  The client comes from, in the MCP authorization spec's order:

1. a client the user registered there before (``--client-id``, and its secret through
   ``--with-secret`` for a confidential one);
2. a client ID metadata document the user hosts (``--client-metadata URL``), where the
   authorization server takes one;
3. the registration tokendeck made there before, when a sign-in with it succeeded and
   the same authorization server still serves the resource;
4. RFC 7591 dynamic registration as a native app, honouring what the answer says (a
   client secret, and how to authenticate with it);
5. else the user is told to register tokendeck and give its client id.

The registration is stored as a provider named after the server (``mcp-HOST``), with
``resource`` set, so the authorization request, the code exchange and every refresh carry
the RFC 8707 resource indicator; the credential keeps the server's URL in its extras
(``mcp_url``).  A new or changed registration is stored only together with the credential
of a sign-in that succeeded with it: a refused, failed or cancelled sign-in stores
nothing, so a registration that never worked is never reused.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2

from vault.core.masking import check_new_name
from vault.core.model import MCP_URL_EXTRA, ClientRegistration, Credential, check_name
from vault.core.secret import Secret
from vault.errors import AccountChanged, InvalidInput
from vault.oauth.identity import ID_TOKEN
from vault.oauth.mcp import (
    OFFLINE_ACCESS,
    REDIRECT_URI,
    McpAuthorization,
    challenge_params,
    client_metadata_document,
    find,
    register_client,
    token_auth_method,
)
from vault.services.registration import RegistrationRequest, checked, prepare
from vault.services.signin import DEFAULT_TIMEOUT, SignInUI, cancelled, login
from vault.services.tokens import Vault

__all__ = ["challenge_params", "login_mcp", "provider_name"]
"""``challenge_params`` is the protocol layer's, handed on so the bridge reads a server's
``WWW-Authenticate`` by the same rule as discovery."""

IDENTITY = {"url": None, "account": f"{ID_TOKEN}email", "account_fallback": f"{ID_TOKEN}preferred_username"}
"""Where an MCP credential's account comes from: the ID token, when the answer has one.  Its
access token is for the MCP server (RFC 8707), so asking a userinfo endpoint with it would
only be refused."""


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
    client_secret: Secret | None = None,
    client_metadata: str | None = None,
    scopes: Sequence[str] = (),
    no_browser: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx2.BaseTransport | None = None,
    notice: Callable[[str], None] = lambda message: None,
    cancel: threading.Event | None = None,
    confirm: Callable[[AccountChanged], bool] | None = None,
) -> Credential:
    """Sign in to the MCP server at ``url`` and store the credential (named ``name``, or
    after the server).  Over a credential of another account it stores only when
    ``confirm`` says yes (:func:`vault.services.signin.login`).

    Args:
        client_id, client_secret: a client registered at the server's authorization server
            before (the secret only for a confidential one).
        client_metadata: the https URL where the user hosts tokendeck's client ID metadata
            document (:func:`vault.oauth.mcp.client_metadata_document`), used as the client
            id where the authorization server takes one.
        scopes: scopes to ask for besides those the server names (a step-up: the scopes a
            server's ``insufficient_scope`` answer asked for).
        cancel: set from another thread, stops it before the browser opens, or while the
            flow waits, and nothing is stored.

    Raises:
        InvalidInput: a bad URL or name, a URL a document names that is not https (or
            loopback http), a secret without a client id, or no way to a client id (no
            dynamic registration, none given).
        ProviderError, SignInFailed: discovery, registration or the sign-in failed, or
            it was cancelled.
        AccountChanged: another account, not confirmed; nothing was stored.
    """
    if name is not None:
        check_new_name(name)
        check_name(name)
    provider, registration, server = mcp_registration(
        url, worked_before=lambda provider, issuer, resource: worked_before(vault, provider, issuer, resource),
        client_id=client_id, client_secret=client_secret, client_metadata=client_metadata, scopes=scopes,
        transport=transport, notice=notice, cancel=cancel,
    )  # fmt: skip
    return login(
        vault, provider, ui, name=name or provider, no_browser=no_browser, timeout=timeout,
        transport=transport, notice=notice, extras={MCP_URL_EXTRA: server}, cancel=cancel,
        unsaved=registration, confirm=confirm,
    )  # fmt: skip


WorkedBefore = Callable[[str, str, "str | None"], "ClientRegistration | None"]
"""The stored registration for (provider, issuer, resource) when it fits (:func:`worked_before`)."""


def mcp_registration(
    url: str,
    *,
    worked_before: WorkedBefore,
    client_id: str | None = None,
    client_secret: Secret | None = None,
    client_metadata: str | None = None,
    scopes: Sequence[str] = (),
    transport: httpx2.BaseTransport | None = None,
    notice: Callable[[str], None] = lambda message: None,
    cancel: threading.Event | None = None,
) -> tuple[str, ClientRegistration, str]:
    """What signing in to the MCP server at ``url`` starts from, found on the network and
    not stored: the provider name, the registration to sign in with, and the server's URL.
    The vault is only asked ``worked_before`` (so a front end can ask it of the agent).

    Raises:
        As :func:`login_mcp`.
    """
    if client_secret is not None and client_id is None:
        raise InvalidInput("a client secret goes with the client id it belongs to (--client-id)")
    if client_metadata is not None:
        client_metadata = str(client_metadata_document(client_metadata)["client_id"])  # checked before any request
    found = find(url, transport=transport)
    if found.fallback is not None:
        notice(found.fallback)
    provider = provider_name(found.server)
    if cancel is not None and cancel.is_set():
        raise cancelled(provider)
    wanted = list(dict.fromkeys([*found.scopes, *scopes]))
    if scopes and OFFLINE_ACCESS in found.scopes:  # keep offline_access last, where it was
        wanted = [*(s for s in wanted if s != OFFLINE_ACCESS), OFFLINE_ACCESS]
    registration = _registration(
        worked_before, provider, found, wanted, client_id, client_secret, client_metadata, transport, notice
    )
    return provider, registration, found.server


def _registration(
    worked_before: WorkedBefore,
    provider: str,
    found: McpAuthorization,
    scopes: list[str],
    client_id: str | None,
    client_secret: Secret | None,
    client_metadata: str | None,
    transport: httpx2.BaseTransport | None,
    notice: Callable[[str], None],
) -> ClientRegistration:
    """The registration to sign in with, in the spec's order (see the module's docstring);
    not stored."""
    if client_id is not None:
        method = token_auth_method(found, None, client_secret is not None, provider)
        return _made(provider, found, scopes, client_id, client_secret, method)
    if client_metadata is not None:
        if found.client_metadata_documents:
            return _made(provider, found, scopes, client_metadata, None, "none")
        notice(f"{found.issuer} does not take client ID metadata documents; registering tokendeck instead")
    before = worked_before(provider, found.issuer, found.resource)
    if before is not None:
        method = str(before.overrides.get("token_auth", "none"))
        return _made(provider, found, scopes, before.client_id, before.client_secret, method)
    if found.registration_url is None:
        documents = " or --client-metadata URL" if found.client_metadata_documents else ""
        raise InvalidInput(
            f"{found.issuer} does not offer dynamic client registration: register tokendeck there as a "
            f"native (public) client with redirect URI {REDIRECT_URI}, then pass --client-id "
            f"(with --with-secret for a confidential one){documents}"
        )
    # What the client may ever ask for: every scope the server lists, so a later step-up for
    # more is not refused for the registration's sake; a resource's own scopes are not the
    # server's to register (a certified server refuses them), and a server that lists none
    # gives its defaults.
    registered = register_client(found.registration_url, list(found.offered_scopes), name=provider, transport=transport)
    method = token_auth_method(found, registered.token_endpoint_auth_method, bool(registered.client_secret), provider)
    secret = Secret(registered.client_secret) if registered.client_secret and method != "none" else None
    notice(f"registered tokendeck with {found.issuer} (client id {registered.client_id})")
    return _made(provider, found, scopes, registered.client_id, secret, method)


def worked_before(vault: Vault, provider: str, issuer: str, resource: str | None) -> ClientRegistration | None:
    """The stored registration for this server, when it fits: made with the same
    authorization server for the same resource, and a credential was signed in with it (a
    registration is stored only with a sign-in that succeeded, but one stored by an older
    tokendeck may never have worked)."""
    before = next((r for r in vault.records.clients() if r.provider == provider), None)
    if before is None:
        return None
    same = before.overrides.get("issuer") == issuer and before.overrides.get("resource") == resource
    used = any(c.provider == provider for c in vault.credentials())
    return before if same and used else None


def _made(
    provider: str,
    found: McpAuthorization,
    scopes: list[str],
    client_id: str,
    secret: Secret | None,
    method: str,
) -> ClientRegistration:
    overrides: dict[str, Any] = {
        **found.overrides,
        "default_scopes": scopes,
        # OIDC Core §11: a certified server grants offline_access only with prompt=consent.
        "authorize_params": {"prompt": "consent"} if OFFLINE_ACCESS in scopes else {},
        "token_auth": method,
        "identity": IDENTITY,
    }
    if found.resource is not None:
        overrides["resource"] = found.resource
    request = RegistrationRequest(name=provider, client_id=client_id, base="oidc", overrides=overrides, replace=True)
    return checked(prepare(None, request), secret)  # replacing: no vault to ask
