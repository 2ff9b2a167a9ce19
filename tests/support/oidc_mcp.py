"""A real MCP server on loopback whose authorization server is the interoperability tier's
``oidc-provider`` (:mod:`tests.support.oidc_provider`).

Built with the official ``mcp`` SDK (streamable HTTP, one tool: ``echo``).  The SDK serves the
RFC 9728 protected-resource metadata (``authorization_servers`` names the provider's issuer,
``scopes_supported`` the scopes it requires) and the 401 challenge naming it.  A bearer token is
checked by RFC 7662 introspection at the provider, as the provider's confidential
``resource-server`` client: active, and (the SDK's ``validate_token_resource``) issued for this
server's URL, which oidc-provider puts in the token's ``aud`` when the client asked for it as
the RFC 8707 ``resource``.  oidc-provider issues opaque access tokens for such a resource here
(it refuses to introspect JWT ones), so introspection, not a JWKS, is the check.

Use the ``oidc_mcp_server`` fixture (registered in ``tests/conftest.py``)::

    def test_x(oidc_mcp_server: OidcMcpServer) -> None:
        oidc_mcp_server.url          # http://127.0.0.1:PORT/mcp
        oidc_mcp_server.provider     # the OidcProvider it trusts
        oidc_mcp_server.seen         # what it accepted and refused

or :func:`running_oidc_mcp_server` with a provider of another token lifetime or other scopes.
The SDK and uvicorn are imported only when a server starts (conftest loads this module for
every test).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.oidc_provider import OidcProvider

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

RESOURCE_SCOPE = "mcp:tools"
"""The scope ``oidc_server.mjs`` defines for every loopback resource server."""


@dataclass
class Introspected:
    """What the server saw: each token check's outcome, in order (never the token)."""

    accepted: list[dict[str, object]] = field(default_factory=list)
    """The introspection answers of accepted tokens: sub, client_id, aud, scope, exp."""
    refused: int = 0
    """Tokens refused: inactive, unknown, or for another audience."""
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class OidcMcpServer:
    url: str
    provider: OidcProvider
    seen: Introspected
    scopes: tuple[str, ...]

    @property
    def metadata_url(self) -> str:
        """Its RFC 9728 metadata: the well-known path inserted before the server's path."""
        return self.url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp", 1)


class _IntrospectionVerifier:
    """Checks a bearer token by RFC 7662 introspection at the provider: active, and its ``aud``
    this server's URL (the SDK checks the latter again, as ``validate_token_resource``)."""

    def __init__(self, provider: OidcProvider, resource: str, seen: Introspected) -> None:
        self.provider, self.resource, self.seen = provider, resource, seen
        self.endpoint = provider.metadata["introspection_endpoint"]

    async def verify_token(self, token: str) -> AccessToken | None:
        from mcp.server.auth.provider import AccessToken

        async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
            answer = await http.post(
                self.endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=(self.provider.resource_server_id, self.provider.resource_server_secret),
            )
        found = answer.json() if answer.status_code == 200 else {}
        audience = found.get("aud")
        if isinstance(audience, list):
            audience = audience[0] if len(audience) == 1 else None
        if found.get("active") is not True or audience != self.resource:
            with self.seen.lock:
                self.seen.refused += 1
            return None
        with self.seen.lock:
            self.seen.accepted.append({k: found.get(k) for k in ("sub", "client_id", "aud", "scope", "exp")})
        return AccessToken(
            token=token,
            client_id=str(found.get("client_id", "")),
            scopes=str(found.get("scope") or "").split(),
            expires_at=found.get("exp"),
            resource=audience,
            subject=found.get("sub"),
            claims={"iss": found.get("iss")},
        )


@contextmanager
def running_oidc_mcp_server(
    provider: OidcProvider, scopes: Sequence[str] = (RESOURCE_SCOPE,)
) -> Iterator[OidcMcpServer]:
    """An MCP server at ``http://127.0.0.1:PORT/mcp`` trusting ``provider``; a token must carry
    ``scopes`` (listed as the metadata's ``scopes_supported``; ``()`` requires none)."""
    import uvicorn
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    seen = Introspected()
    server = MCPServer(
        "tokendeck-interop-tools",
        log_level="WARNING",
        token_verifier=_IntrospectionVerifier(provider, url, seen),
        auth=AuthSettings(  # strings, as pydantic validates them: an AnyHttpUrl would add a "/" to the issuer
            issuer_url=provider.issuer,  # type: ignore[arg-type]
            resource_server_url=url,  # type: ignore[arg-type]
            required_scopes=list(scopes) or None,
            validate_token_resource=True,
        ),
    )

    @server.tool()
    def echo(text: str) -> str:
        """Say it back."""
        return text

    runner = uvicorn.Server(uvicorn.Config(server.streamable_http_app(), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not runner.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert runner.started, "the MCP server did not start"
        yield OidcMcpServer(url=url, provider=provider, seen=seen, scopes=tuple(scopes))
    finally:
        runner.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def oidc_mcp_server(oidc_provider: OidcProvider) -> Iterator[OidcMcpServer]:
    """A real MCP server (tool ``echo``) on 127.0.0.1 whose authorization server is the
    ``oidc_provider`` fixture's; tokens need the scope ``mcp:tools`` and this server's URL as
    their audience (RFC 8707 ``resource``)."""
    with running_oidc_mcp_server(oidc_provider) as server:
        yield server
