"""``tokendeck mcp-bridge NAME``: a stdio MCP server that forwards every JSON-RPC message,
both ways, to the credential's remote streamable-HTTP MCP server.

Both ends are the official ``mcp`` SDK's transports: :func:`mcp.server.stdio.stdio_server`
towards the local client, :func:`mcp.client.streamable_http.streamable_http_client` (SSE
responses, ``Mcp-Session-Id``, resumption) towards the remote.  Between them the bridge
only passes messages on; it adds no protocol of its own.  Every HTTP request carries a
fresh bearer token (:func:`vault.integrations.api.bearer_token`: from the agent when it
runs, else from the vault, unlocked once for the session: :class:`~vault.integrations.bearer.
BearerTokens`), and a 401 gets one forced refresh and one retry, so a session lives across
token expiry.  The token is never written anywhere; the log (stderr) never holds it.

A line on stdin that is not JSON-RPC is answered with a JSON-RPC parse error (-32700); a
closed stdin ends the bridge.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncGenerator
from typing import Any

from vault.integrations.bearer import BearerTokens

log = logging.getLogger("tokendeck.mcp_bridge")

PARSE_ERROR = -32700


def server_url(name: str, tokens: BearerTokens) -> str:
    """The MCP server ``name`` was signed in to (``tokendeck login --mcp``); without an agent,
    this unlocks ``tokens``' vault for the session.

    Raises:
        NotFound: no such credential; InvalidInput: it is not an MCP server's.
    """
    import json

    from vault.agent.wire import result
    from vault.core.model import MCP_URL_EXTRA
    from vault.errors import InvalidInput

    answer = result("show", name, "json", "iso", home=tokens.home)
    if answer is not None:
        extras = json.loads(answer[0]).get("extras", {})
    else:
        with tokens.vault.opened() as v:
            extras = dict(v.get(name).extras)
    url = extras.get(MCP_URL_EXTRA)
    if not isinstance(url, str) or not url:
        raise InvalidInput(f"{name} is not an MCP server's credential (sign in with: tokendeck login --mcp URL)")
    return url


def _auth(name: str, tokens: BearerTokens) -> Any:
    import anyio
    import httpx2

    from vault.errors import VaultError

    class FreshBearer(httpx2.Auth):
        """A fresh token on every request; one forced refresh and retry on a 401."""

        def __repr__(self) -> str:
            return f"FreshBearer({name!r})"

        async def _token(self, force: bool) -> str | None:
            try:
                return await anyio.to_thread.run_sync(lambda: tokens.token(name, force=force))
            except VaultError as exc:  # said once per request; the server's 401 reaches the client
                log.error("%s", exc.message)
                return None

        async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
            token = await self._token(force=False)
            if token is not None:
                request.headers["Authorization"] = f"Bearer {token}"
            response = yield request
            if response.status_code == 401 and token is not None:
                log.warning("the server refused the token (401): refreshing it once and retrying")
                token = await self._token(force=True)
                if token is not None:
                    request.headers["Authorization"] = f"Bearer {token}"
                    yield request

    return FreshBearer()


async def bridge(name: str, url: str, tokens: BearerTokens) -> None:
    """Forward stdin's MCP messages to ``url`` and its answers to stdout until stdin closes."""
    import anyio
    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    from mcp.server.stdio import stdio_server
    from mcp.shared.message import SessionMessage
    from mcp.types import ErrorData, JSONRPCError

    timeout = httpx2.Timeout(30.0, read=300.0)
    async with (
        httpx2.AsyncClient(auth=_auth(name, tokens), timeout=timeout, follow_redirects=False) as http,
        stdio_server() as (local_read, local_write),
        local_write,  # closed on the way out, so the SDK's stdout writer finishes
        streamable_http_client(url, http_client=http) as (remote_read, remote_write),
        anyio.create_task_group() as group,
    ):

        async def upstream() -> None:
            async for message in local_read:
                if isinstance(message, Exception):
                    error = ErrorData(code=PARSE_ERROR, message="not a JSON-RPC message")
                    await local_write.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=None, error=error)))
                    continue
                await remote_write.send(message)
            group.cancel_scope.cancel()  # stdin closed: the client is gone

        async def downstream() -> None:
            async for message in remote_read:
                if isinstance(message, Exception):
                    log.error("the remote server's stream failed: %s", type(message).__name__)
                    continue
                await local_write.send(message)

        group.start_soon(upstream)
        group.start_soon(downstream)


def run(name: str, *, home: str | os.PathLike[str] | None = None) -> int:
    """Run the bridge for credential ``name``; its exit code."""
    import anyio

    from vault.core.process import keep_secrets_out_of_dumps

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="tokendeck mcp-bridge: %(message)s")
    keep_secrets_out_of_dumps()  # it may hold the vault's key for the session
    tokens = BearerTokens(home)
    url = server_url(name, tokens)
    anyio.run(bridge, name, url, tokens)
    return 0
