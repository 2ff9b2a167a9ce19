"""Shared set-up for the MCP bridge tests: a passphrase vault signed in (``tokendeck login
--mcp``) to a real SDK MCP server on loopback, whose tokens come from the loopback Authlib
server, and the official SDK's stdio client starting ``tokendeck mcp-bridge`` as an MCP
client would."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from tests.support.mcp_server import Seen, running_mcp_server

TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
PASS = "correct horse battery staple"


@pytest.fixture
def signed_in(
    cli: CliRunner, home: Path, passphrase_env: str, browser_log: Path, auth_server: AuthServer
) -> Iterator[tuple[str, Seen, dict[str, str]]]:
    """A passphrase vault signed in to a real MCP server as ``tools``; the server's URL, what
    it saw, and the environment a bridge process runs in."""
    with running_mcp_server(auth_server.issuer) as (url, seen):
        auth_server.settings.dynamic_registration = True
        auth_server.settings.resource_indicators = (url,)
        assert cli("init", "--passphrase").code == 0
        r = cli("login", "--mcp", url, "--name", "tools")
        assert r.code == 0, r.err
        env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "TOKENDECK_NO_AGENT": "1"}
        yield url, seen, env


def stored_token(home: Path) -> str:
    with vault.open_vault(home, PASS) as v:
        token = v.get("tools").access_token
        assert token is not None
        return token.reveal()


async def session_calls(env: dict[str, str], errlog: Path, calls: int = 1) -> list[str]:
    """Start the bridge as an MCP client would, initialize, list the tools, call ``add``."""
    params = StdioServerParameters(command=TOKENDECK, args=["mcp-bridge", "tools"], env=env)
    results = []
    with errlog.open("w") as err:
        async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            results.append(",".join(sorted(t.name for t in tools.tools)))
            for i in range(calls):
                answer = await session.call_tool("add", {"a": i, "b": 40})
                results.append(str(answer.structured_content))
    return results


def mcp_error(error: BaseException) -> MCPError | None:
    """The MCPError inside what anyio's task groups raised, if any."""
    if isinstance(error, MCPError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if (found := mcp_error(inner)) is not None:
                return found
    return None


def refused_call(env: dict[str, str], errlog: Path) -> MCPError:
    """Run a session that must fail; the client's MCPError."""
    try:
        anyio.run(session_calls, env, errlog)
    except BaseException as error:  # noqa: BLE001 - unwrapped below
        found = mcp_error(error)
        if found is None:
            raise
        return found
    raise AssertionError("the session did not fail")


async def echo_for(env: dict[str, str], errlog: Path, seconds: float = 120, every: float = 2) -> tuple[int, list[str]]:
    """Start the bridge for ``tools`` as a client would and call ``echo`` every ``every`` seconds
    for ``seconds`` (real time): how many calls were made, and each one that failed."""
    import time

    params = StdioServerParameters(command=TOKENDECK, args=["mcp-bridge", "tools"], env=env)
    done, failed = 0, []
    with errlog.open("w") as err:
        async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                answer = await session.call_tool("echo", {"text": f"call {done}"})
                if answer.is_error or answer.structured_content != {"result": f"call {done}"}:
                    failed.append(f"call {done}: {answer.content}")
                done += 1
                await anyio.sleep(every)
    return done, failed
