"""The interoperability tier's MCP server (:mod:`tests.support.oidc_mcp`) behaves as the MCP
authorization spec says, with ``oidc-provider`` as its authorization server: checked with plain
httpx and the ``mcp`` SDK's own client, never with tokendeck, so a tokendeck test failing
against it can be trusted to be tokendeck's fault."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

from tests.support.oidc_mcp import RESOURCE_SCOPE, OidcMcpServer
from tests.support.oidc_provider import hidden
from vault.core.secret import Secret

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def call_echo(url: str, token: Secret, text: str) -> str:
    async def main() -> str:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token.reveal()}"}, timeout=20) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool("echo", {"text": text})
            (content,) = result.content
            assert isinstance(content, TextContent)
            return content.text

    return anyio.run(main)


@pytest.fixture
def client(oidc_mcp_server: OidcMcpServer) -> dict[str, Any]:
    return oidc_mcp_server.provider.register_native_client()


def test_a_token_for_this_resource_calls_a_tool(oidc_mcp_server: OidcMcpServer, client: dict[str, Any]) -> None:
    provider = oidc_mcp_server.provider
    tokens = provider.sign_in(
        client["client_id"], scope=f"{RESOURCE_SCOPE} offline_access", resource=oidc_mcp_server.url, username="carol"
    )
    assert tokens["scope"] == RESOURCE_SCOPE and "refresh_token" in tokens
    assert tokens["access_token"].reveal().count(".") != 2  # opaque, not a JWT
    assert call_echo(oidc_mcp_server.url, tokens["access_token"], "hello") == "hello"
    seen = oidc_mcp_server.seen.accepted[-1]
    assert seen["aud"] == oidc_mcp_server.url and seen["sub"] == "carol" and seen["client_id"] == client["client_id"]

    refreshed = hidden(provider.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                                      client_id=client["client_id"], resource=oidc_mcp_server.url).json())  # fmt: skip
    assert call_echo(oidc_mcp_server.url, refreshed["access_token"], "again") == "again"


def test_the_metadata_names_the_provider(oidc_mcp_server: OidcMcpServer) -> None:
    with httpx.Client(trust_env=False, timeout=10) as http:
        refused = http.post(oidc_mcp_server.url, json=INITIALIZE, headers=ACCEPT)
        metadata = http.get(oidc_mcp_server.metadata_url).json()
    assert refused.status_code == 401
    challenge = refused.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and f'resource_metadata="{oidc_mcp_server.metadata_url}"' in challenge
    assert metadata["resource"] == oidc_mcp_server.url
    assert metadata["authorization_servers"] == [oidc_mcp_server.provider.issuer]
    assert metadata["scopes_supported"] == [RESOURCE_SCOPE]


@pytest.mark.parametrize("kind", ["garbage", "no-resource", "revoked"])
def test_other_tokens_get_401(oidc_mcp_server: OidcMcpServer, client: dict[str, Any], kind: str) -> None:
    provider = oidc_mcp_server.provider
    if kind == "garbage":
        token = Secret("not-a-token")
    elif kind == "no-resource":  # a token for the provider's userinfo endpoint, not for this server
        token = provider.sign_in(client["client_id"], scope="openid email")["access_token"]
        assert provider.userinfo(token).status_code == 200
    else:
        tokens = provider.sign_in(client["client_id"], scope=RESOURCE_SCOPE, resource=oidc_mcp_server.url)
        token = tokens["access_token"]
        assert provider.revoke(token, client["client_id"]).status_code == 200
    with httpx.Client(trust_env=False, timeout=10) as http:
        refused = http.post(
            oidc_mcp_server.url, json=INITIALIZE, headers={**ACCEPT, "Authorization": f"Bearer {token.reveal()}"}
        )
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert "resource_metadata=" in refused.headers["WWW-Authenticate"]
    assert oidc_mcp_server.seen.accepted == [] and oidc_mcp_server.seen.refused >= 1
