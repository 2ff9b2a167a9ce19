"""``tokendeck mcp-bridge [--home HOME] NAME``: a stdio MCP server that forwards every JSON-RPC
message, both ways, to the credential's remote streamable-HTTP MCP server.

Both ends are the official ``mcp`` SDK's transports: :func:`mcp.server.stdio.stdio_server`
towards the local client, :func:`mcp.client.streamable_http.streamable_http_client` (SSE
responses, ``Mcp-Session-Id``, resumption) towards the remote.  Between them the bridge
only passes messages on; it adds no protocol of its own.  What it adds is under the SDK's
HTTP client, in :class:`TokenTransport`: every HTTP request carries a fresh bearer token
(:class:`Served`: from the agent when one answers, else from the vault, unlocked once for
the session), a 401 gets one forced refresh and one retry, so a session lives across token
expiry, and whatever fails becomes a JSON-RPC error for the request it failed.

Failures reach the MCP client, not only stderr: each is one line (:class:`Failure`), said
on stderr and sent as the JSON-RPC error answering the request (code :data:`BRIDGE_ERROR`,
``data.reason`` a word a program can branch on): the vault locked with no agent, a
credential that needs signing in again (with the command that repairs it), a server that
cannot be reached, a server that refuses the token even after a refresh.  When the bridge
cannot start at all (no such credential, not an MCP server's, the vault locked), it still
answers the client's ``initialize`` (and every other request) with the reason until stdin
closes, then exits with the error's exit code.

The token is never written anywhere; neither stderr nor an error message ever holds it.
A line on stdin that is not JSON-RPC is answered with a JSON-RPC parse error (-32700); a
closed stdin ends the bridge.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
from typing import TYPE_CHECKING

import anyio
import httpx2
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import ErrorData, JSONRPCError, JSONRPCRequest

from vault.errors import ForwardGone, NeedsSignIn, NoKey, NotFound, ProviderError, VaultError, VaultLocked
from vault.integrations.bearer import BearerTokens

if TYPE_CHECKING:
    from vault.bridges.mcp_stepup import StepUp

log = logging.getLogger("tokendeck.mcp_bridge")

PARSE_ERROR = -32700
BRIDGE_ERROR = -32000
"""The code of every JSON-RPC error the bridge answers with itself (JSON-RPC 2.0's range for
a server's own errors); ``data.reason`` says which."""
ERROR_STATUS = 502
"""The HTTP status of the answer the bridge makes up for a failed request (the SDK hands the
JSON-RPC error in its body to the client; the status only has to say "error")."""
MAX_ERROR_BODY = 64 * 1024
"""Bytes of an error answer read to see whether it carries a JSON-RPC error of the server's own."""
TIMEOUT = httpx2.Timeout(30.0, read=300.0)
"""Connecting, sending, and each wait for more of an answer (a tool may think for minutes)."""


class Failure(Exception):
    """Why the bridge cannot serve a request, in one line without a secret.

    Args:
        reason: a word for programs (``data.reason`` of the JSON-RPC error).
        message: the line for people.
        exit_code: the exit code when the bridge cannot start because of it.
    """

    def __init__(self, reason: str, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.exit_code = exit_code

    def error(self) -> ErrorData:
        """The JSON-RPC error that tells the MCP client."""
        return ErrorData(
            code=BRIDGE_ERROR, message=f"tokendeck mcp-bridge: {self.message}", data={"reason": self.reason}
        )

    def response(self, request: httpx2.Request) -> httpx2.Response:
        """An HTTP answer carrying :meth:`error`, which the SDK hands on as the request's answer."""
        body = {"jsonrpc": "2.0", "id": None, "error": self.error().model_dump(mode="json", exclude_none=True)}
        return httpx2.Response(ERROR_STATUS, json=body, request=request)


class Served:
    """The credential a bridge serves: its server's URL, and a token valid now for every
    request (:class:`~vault.integrations.bearer.BearerTokens`: the agent's when one answers,
    else the vault's, unlocked on first use and kept for the session).

    Args:
        name: the credential.
        home: the vault home (default as the CLI), as an absolute path from here on: the
            agent is asked for this vault, and messages name it.
    """

    def __init__(self, name: str, home: str | os.PathLike[str] | None = None) -> None:
        from vault.agent.wire import home_dir

        self.name = name
        self.home = home_dir() if home is None else os.path.abspath(os.path.expanduser(os.fspath(home)))
        self.tokens = BearerTokens(self.home)
        self.url = ""

    def __repr__(self) -> str:
        return f"Served({self.name!r}, {self.home!r})"

    def server_url(self) -> str:
        """The MCP server the credential was signed in to (``tokendeck login --mcp``), kept in
        :attr:`url`.  Without an agent this unlocks the vault, once for the session.

        Raises:
            Failure: no such credential, not an MCP server's, or no way to read the vault.
        """
        from vault.agent.wire import result
        from vault.core.model import MCP_URL_EXTRA

        try:
            answer = result("show", self.name, "json", "iso", home=self.home)
            if answer is not None:
                extras = json.loads(answer[0]).get("extras", {})
            else:
                with self.tokens.vault.opened() as v:
                    extras = dict(v.get(self.name).extras)
        except VaultError as exc:
            raise self.failure(exc) from None
        url = extras.get(MCP_URL_EXTRA)
        if not isinstance(url, str) or not url:
            raise Failure(
                "not_mcp", f"{self.name} is not an MCP server's credential (sign in with: tokendeck login --mcp URL)", 2
            )
        self.url = url
        return url

    @functools.cached_property
    def step_up(self) -> StepUp:
        """Signing in again when the server asks for it mid-session (set up once :meth:`server_url` is known)."""
        from vault.bridges.mcp_stepup import StepUp

        return StepUp(self.name, self.url, self.tokens.vault)

    def token(self, *, force: bool = False) -> str:
        """A token valid now, or with ``force`` one refreshed now (blocking: run it in a thread).

        Raises:
            Failure: no token can be had (the reason says why, and what repairs it).
        """
        try:
            return self.tokens.token(self.name, force=force)
        except VaultError as exc:
            raise self.failure(exc) from None

    def failure(self, exc: VaultError) -> Failure:
        """What ``exc``, raised while reading the vault or getting a token, means to a client."""
        code = exc.exit_code
        if isinstance(exc, ForwardGone):
            return Failure("agent_gone", exc.message, code)
        if isinstance(exc, NoKey):  # the remedy for the agent's state: unlock it, or start one
            from vault.agent.remedy import agent_state, no_key

            said = no_key(agent_state(self.home), who="the bridge")
            return Failure("vault_locked", f"{said} (the vault at {self.home})", code)
        if isinstance(exc, VaultLocked):  # a wrong passphrase, an unreadable passphrase file: its own words
            return Failure("vault_locked", f"the bridge cannot unlock the vault at {self.home}: {exc.message}", code)
        if isinstance(exc, NeedsSignIn):  # its message names the command that repairs this credential
            return Failure("needs_sign_in", exc.message, code)
        if isinstance(exc, NotFound):
            return Failure("not_found", exc.message, code)
        if isinstance(exc, ProviderError):
            return Failure("refresh_failed", f"refreshing {self.name}'s token failed: {exc.message}", code)
        return Failure("vault_error", exc.message, code)

    def refused(self, status: int, challenge: str, signed_in: bool = False) -> Failure:
        """The server refused the token (``status``, its ``WWW-Authenticate`` challenge), even
        after a sign-in for what it asked (``signed_in``: the retry limit, no other sign-in)."""
        from vault.core.model import mcp_sign_in_command
        from vault.services.mcp_signin import challenge_params

        said = challenge_params(challenge)
        detail = "".join(f", {key} {said[key][:200]}" for key in ("error", "scope") if said.get(key))
        if signed_in and status == 401:
            return Failure(
                "sign_in_refused",
                f"the MCP server at {self.url} refused {self.name}'s token even after a refresh and a new sign-in "
                f"(401{detail}); not signing in again",
                4,
            )
        if signed_in:
            return Failure(
                "sign_in_refused",
                f"the MCP server at {self.url} still asks for more ({status}{detail}) after {self.name} signed in "
                "again for it; not signing in again (check that your account there may have that scope)",
                4,
            )
        if status == 401:
            return Failure(
                "token_refused",
                f"the MCP server at {self.url} refused {self.name}'s token even after a refresh (401{detail}): "
                f"sign in again with: {mcp_sign_in_command(self.url, self.name)}",
                4,
            )
        return Failure("forbidden", f"the MCP server at {self.url} refused this request with {self.name}'s token "
                       f"({status}{detail})")  # fmt: skip


class TokenTransport(httpx2.AsyncBaseTransport):
    """Under the SDK's streamable-HTTP client: a fresh token on every request, one forced
    refresh and one retry on a 401, and every failure turned into an HTTP answer whose body
    is a JSON-RPC error naming it (:meth:`Failure.response`), which the SDK gives the MCP
    client as the answer to the request that failed: the session goes on.

    The network is an ordinary client's (its own pool, environment proxies, timeouts);
    redirects are the SDK's to judge, so none is followed here.
    """

    def __init__(self, served: Served) -> None:
        self.served = served
        self._http = httpx2.AsyncClient(timeout=TIMEOUT, follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self._send(request)
        except Failure as failure:
            failed = failure
        except Exception as exc:  # noqa: BLE001 - a bug: said and answered, and the session goes on
            failed = Failure("internal", f"internal error: {type(exc).__name__}")  # its text might quote a header
        # A message's POST is said; the SDK's own GET stream and DELETE, which no client waits
        # for, only retry or give up on what a message's failure has said already.
        log.log(logging.ERROR if request.method == "POST" else logging.DEBUG, "%s", failed.message)
        return failed.response(request)

    async def _send(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()  # the body, to send again after a 401 or a sign-in
        response = await self._forward(request, await self._token(force=False))
        if response.status_code == 401:
            await response.aclose()
            log.warning("the server refused the token (401): refreshing it once and retrying")
            response = await self._forward(request, await self._token(force=True))
        if _asks_for_sign_in(response):  # step-up: a 401 a refresh did not cure, or 403 insufficient_scope
            status, challenge = response.status_code, response.headers.get("www-authenticate", "")
            await response.aclose()
            await self._step_up(status, challenge)
            response = await self._forward(request, await self._token(force=False))
            if _asks_for_sign_in(response):  # one sign-in per request: the retry limit
                await response.aclose()
                raise self.served.refused(response.status_code, response.headers.get("www-authenticate", ""), True)
        if response.status_code >= 400 and response.status_code != 404:  # 404: the SDK's (session gone)
            return await self._explained(request, response)
        return response

    async def _step_up(self, status: int, challenge: str) -> None:
        """Sign in again for what ``challenge`` asks (:class:`~vault.bridges.mcp_stepup.StepUp`),
        one sign-in at a time: a request that waited for another's finds the new token."""
        from vault.bridges.mcp_stepup import StepUpRefused
        from vault.services.mcp_signin import challenge_params

        scope = challenge_params(challenge).get("scope") or None
        try:
            await anyio.to_thread.run_sync(functools.partial(self.served.step_up.sign_in, status, scope))
        except StepUpRefused as refused:
            raise Failure(refused.reason, refused.message, 4) from None

    async def _token(self, *, force: bool) -> str:
        return await anyio.to_thread.run_sync(functools.partial(self.served.token, force=force))

    async def _forward(self, request: httpx2.Request, token: str) -> httpx2.Response:
        request.headers["Authorization"] = f"Bearer {token}"
        try:
            return await self._http.send(request, stream=True)
        except httpx2.TimeoutException:
            raise Failure("unreachable", f"the MCP server at {self.served.url} did not answer in time") from None
        except httpx2.TransportError as exc:
            # A network error's text is the OS's ("Connection refused"); a protocol error's may
            # quote the request's headers, so only its class is said.
            text = str(exc).splitlines()[0][:200] if isinstance(exc, httpx2.NetworkError) and str(exc) else ""
            said = text.replace(token, "***") if text else type(exc).__name__
            raise Failure("unreachable", f"cannot reach the MCP server at {self.served.url}: {said}") from None

    async def _explained(self, request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
        """An error answer: the server's own JSON-RPC error as it is, else one that names the status."""
        try:
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ERROR_BODY:
                    break
        except httpx2.HTTPError:
            body = b""
        finally:
            await response.aclose()
        if _is_jsonrpc_error(body):
            return httpx2.Response(response.status_code, headers={"content-type": "application/json"}, content=body,
                                   request=request)  # fmt: skip
        if response.status_code == 403:
            raise self.served.refused(403, response.headers.get("www-authenticate", ""))
        phrase = f" {response.reason_phrase}" if response.reason_phrase else ""
        raise Failure(
            "server_error", f"the MCP server at {self.served.url} answered HTTP {response.status_code}{phrase}"
        )


def _asks_for_sign_in(response: httpx2.Response) -> bool:
    """A 401, or a 403 whose challenge says ``insufficient_scope`` (RFC 6750 §3.1)."""
    from vault.services.mcp_signin import challenge_params

    if response.status_code == 401:
        return True
    said = challenge_params(response.headers.get("www-authenticate", ""))
    return response.status_code == 403 and said.get("error") == "insufficient_scope"


def _is_jsonrpc_error(body: bytes) -> bool:
    from vault.core.outside import load_json

    try:
        message = load_json(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("jsonrpc") == "2.0" and isinstance(message.get("error"), dict)


async def bridge(served: Served) -> None:
    """Forward stdin's MCP messages to the served credential's server and its answers to
    stdout until stdin closes."""
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(transport=TokenTransport(served), timeout=TIMEOUT, follow_redirects=False) as http,
        stdio_server() as (local_read, local_write),
        local_write,  # closed on the way out, so the SDK's stdout writer finishes
        streamable_http_client(served.url, http_client=http) as (remote_read, remote_write),
        anyio.create_task_group() as group,
    ):

        async def upstream() -> None:
            async for message in local_read:
                if isinstance(message, Exception):
                    await local_write.send(_parse_error())
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


async def refuse(failure: Failure) -> None:
    """Answer every request on stdin with ``failure`` until stdin closes: a bridge that could
    not start still tells the client why (its ``initialize`` gets the reason)."""
    async with stdio_server() as (local_read, local_write), local_write:
        async for message in local_read:
            if isinstance(message, Exception):
                await local_write.send(_parse_error())
            elif isinstance(message.message, JSONRPCRequest):
                error = JSONRPCError(jsonrpc="2.0", id=message.message.id, error=failure.error())
                await local_write.send(SessionMessage(error))


def _parse_error() -> SessionMessage:
    error = ErrorData(code=PARSE_ERROR, message="not a JSON-RPC message")
    return SessionMessage(JSONRPCError(jsonrpc="2.0", id=None, error=error))


def run(name: str, *, home: str | os.PathLike[str] | None = None) -> int:
    """Run the bridge for credential ``name``; its exit code (the error's when it could not
    start, after answering the client with it)."""
    from vault.core.process import keep_secrets_out_of_dumps

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="tokendeck mcp-bridge: %(message)s")
    logging.getLogger("mcp").setLevel(logging.ERROR)  # its warnings repeat ours ("Session termination failed")
    keep_secrets_out_of_dumps()  # it may hold the vault's key for the session
    served = Served(name, home)
    try:
        served.server_url()
    except Failure as failure:
        log.error("%s", failure.message)
        anyio.run(refuse, failure)
        return failure.exit_code
    try:
        anyio.run(bridge, served)
    except Exception as exc:  # noqa: BLE001 - never die without a word
        log.error("stopped by an unexpected error: %s", _first_cause(exc))
        return 1
    finally:
        session = served.tokens.vault
        if session.held:
            with contextlib.suppress(VaultError), session.opened():
                pass  # closing it tries once more to store what is held
            if (lost := session.held.lost()) is not None:  # the session ends holding spent grants' new tokens
                log.error("%s", lost)
    return 0


def _first_cause(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {str(exc)[:200]}"
