"""A real MCP server on loopback, built with the official ``mcp`` SDK: streamable HTTP, two
tools, and bearer tokens checked against the loopback Authlib authorization server (its
``/userinfo``, which is bearer-protected there, answers for a token the way introspection
would: 200 for a live token, 401 for a revoked or expired one).  The SDK serves the RFC 9728
metadata and the 401 challenge itself."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer


@dataclass
class Seen:
    """What the MCP server saw: the tokens it accepted and refused, in order."""

    accepted: list[str] = field(default_factory=list)
    refused: int = 0
    refuse_all: bool = False
    """Set: every token is refused, however fresh (a server that answers 401 to anything)."""
    drop_streams: int = 0
    """How many of the next SSE answers to POSTs to end after their headers, before any event."""
    dropped: int = 0
    step_up: str | None = None
    """Set (to a scope): a ``tools/call`` with a token this server accepted before it was set
    gets ``403`` ``insufficient_scope`` naming that scope, as a server that needs more for a
    tool call answers; a token from a sign-in after that (a step-up) is let through."""
    step_up_always: bool = False
    """With :attr:`step_up`: every ``tools/call`` gets the 403, whatever the token (a server
    that keeps refusing)."""
    stale: set[str] = field(default_factory=set)
    """The tokens held before :attr:`step_up` was set (:meth:`demand`)."""
    stepped_up: int = 0
    """How many ``tools/call`` requests got the 403."""

    def demand(self, scope: str, held: str, *, always: bool = False) -> None:
        """Ask for ``scope`` from now on (see :attr:`step_up`) of ``held`` (the token a client
        holds now) and of every token accepted so far."""
        with self.lock:
            self.stale = {*self.accepted, held}
            self.step_up, self.step_up_always = scope, always

    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: Callable[[], None] = lambda: None
    """Stops the server for good: its port refuses connections from then on."""


class _UserinfoVerifier:
    """Checks a bearer token by asking the authorization server's ``/userinfo`` with it."""

    def __init__(self, issuer: str, resource: str, seen: Seen) -> None:
        self.issuer, self.resource, self.seen = issuer, resource, seen

    async def verify_token(self, token: str) -> AccessToken | None:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"{self.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"})
        with self.seen.lock:
            if answer.status_code != 200 or self.seen.refuse_all:
                self.seen.refused += 1
                return None
            self.seen.accepted.append(token)
        sub = str(answer.json().get("sub", ""))
        return AccessToken(token=token, client_id="unknown", scopes=[], resource=self.resource, subject=sub)


class _DroppingStreams:
    """ASGI middleware: while ``seen.drop_streams`` is positive, the SSE answer to a POST gets
    its headers out and then ends before any event, as when a proxy drops the stream; what
    the server sends on it afterwards goes nowhere."""

    def __init__(self, app: Any, seen: Seen) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        cut = False

        async def cutting_send(message: Any) -> None:
            nonlocal cut
            if cut:
                return
            if message["type"] == "http.response.start" and scope.get("method") == "POST" and self._is_sse(message):
                with self.seen.lock:
                    cut = self.seen.drop_streams > 0
                    if cut:
                        self.seen.drop_streams -= 1
                        self.seen.dropped += 1
                if cut:
                    await send(message)
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
            await send(message)

        await self.app(scope, receive, cutting_send)

    @staticmethod
    def _is_sse(start: Any) -> bool:
        return any(k.lower() == b"content-type" and v.startswith(b"text/event-stream") for k, v in start["headers"])


class _StepUp:
    """ASGI middleware: while ``seen.step_up`` is set, a ``tools/call`` carrying a stale token
    (or any, with ``step_up_always``) gets ``403`` with an RFC 6750 ``insufficient_scope``
    challenge naming the scope and the resource's metadata."""

    def __init__(self, app: Any, seen: Seen, metadata_url: str) -> None:
        self.app, self.seen, self.metadata_url = app, seen, metadata_url

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or self.seen.step_up is None:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            method = json.loads(body).get("method")
        except (ValueError, AttributeError):
            method = None
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        with self.seen.lock:
            refuse = method == "tools/call" and (self.seen.step_up_always or token in self.seen.stale)
            if refuse:
                self.seen.stepped_up += 1
        if refuse:
            challenge = (
                f'Bearer error="insufficient_scope", scope="{self.seen.step_up}", '
                f'resource_metadata="{self.metadata_url}"'
            )
            answer = b'{"error":"insufficient_scope"}'
            await send({"type": "http.response.start", "status": 403, "headers": [
                (b"content-type", b"application/json"), (b"www-authenticate", challenge.encode()),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": answer})
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@contextmanager
def running_mcp_server(issuer: str) -> Iterator[tuple[str, Seen]]:
    """An MCP server at ``http://127.0.0.1:PORT/mcp`` that trusts ``issuer``; yields its URL
    and what it saw."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    seen = Seen()
    server = MCPServer(
        "tokendeck-test-tools",
        log_level="WARNING",
        token_verifier=_UserinfoVerifier(issuer, url, seen),
        auth=AuthSettings(
            issuer_url=issuer,  # type: ignore[arg-type]  # pydantic validates the str into its URL type
            resource_server_url=url,  # type: ignore[arg-type]
            validate_token_resource=True,
        ),
    )

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Say it back."""
        return text

    metadata_url = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    app = _StepUp(_DroppingStreams(server.streamable_http_app(), seen), seen, metadata_url)
    runner = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not runner.started and time.monotonic() < deadline:
        time.sleep(0.02)

    def stop() -> None:
        runner.should_exit = True
        thread.join(10)
        sock.close()

    seen.stop = stop
    try:
        yield url, seen
    finally:
        stop()
