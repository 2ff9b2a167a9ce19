"""Issue 29: the bridge's failures reach the MCP client as the JSON-RPC error answering its
request, with the reason in one line (code -32000, ``data.reason`` a word), and the same line
on the bridge's stderr: the vault locked, a credential that needs signing in again, a server
that cannot be reached.  The bridge does not die: the next request is answered too, and
once the cause is gone the session carries on.  The vault is as it was after each failure.

Real processes throughout: the bridge started by the official SDK's stdio client, the agent
by ``tokendeck agent start``, the MCP server and the authorization server on loopback."""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

import vault
from tests.support.bridge import PASS, TOKENDECK
from tests.support.cli import CliRunner
from tests.support.mcp_server import Seen

Snapshot = list[tuple[str, str, str | None, str | None, float | None]]
T = TypeVar("T")


def snapshot(home: Path) -> Snapshot:
    """Every credential's name, stored status, tokens and expiry."""
    with vault.open_vault(home, PASS) as v:
        return [
            (
                c.name,
                c.stored_status,
                c.access_token.reveal() if c.access_token else None,
                c.refresh_token.reveal() if c.refresh_token else None,
                c.expires_at,
            )
            for c in v.credentials()
        ]


def in_session(env: dict[str, str], errlog: Path, steps: Callable[[ClientSession], Awaitable[T]]) -> T:
    """Start the bridge as an MCP client does, initialize, then run ``steps`` in the session."""

    async def run() -> T:
        params = StdioServerParameters(command=TOKENDECK, args=["mcp-bridge", "tools"], env=env)
        with errlog.open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await steps(session)

    return anyio.run(run)


async def failed_call(session: ClientSession) -> MCPError:
    with anyio.fail_after(60), pytest.raises(MCPError) as failed:
        await session.call_tool("echo", {"text": "refused"})
    return failed.value


def tokendeck(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOKENDECK, *argv], env=env, capture_output=True, text=True, timeout=120)


def test_the_vault_locked_at_start_is_the_answer_to_initialize(
    signed_in: tuple[str, Seen, dict[str, str]], home: Path, tmp_path: Path
) -> None:
    """No agent, no passphrase: the client's ``initialize`` fails with the reason, which says
    what to run; it is the line on stderr too."""
    _url, seen, env = signed_in
    env = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}
    before = snapshot(home)
    errlog = tmp_path / "bridge.err"

    async def initialize() -> MCPError:
        params = StdioServerParameters(command=TOKENDECK, args=["mcp-bridge", "tools"], env=env)
        with errlog.open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
                with anyio.fail_after(60), pytest.raises(MCPError) as failed:
                    await session.initialize()
                return failed.value

    error = anyio.run(initialize)
    assert error.error.code == -32000 and error.error.data == {"reason": "vault_locked"}
    message = error.error.message
    assert message == (
        "tokendeck mcp-bridge: no agent runs: tokendeck agent start (in a terminal), or set "
        "TOKENDECK_PASSPHRASE_COMMAND, TOKENDECK_PASSPHRASE_FILE or TOKENDECK_PASSPHRASE; "
        f"the bridge has no terminal to ask for the passphrase (the vault at {home})"
    )
    assert errlog.read_text() == f"{message}\n"
    assert seen.accepted == [] and snapshot(home) == before


def test_the_vault_locked_mid_session_fails_the_call_and_the_session_carries_on_once_unlocked(
    signed_in: tuple[str, Seen, dict[str, str]], home: Path, tmp_path: Path
) -> None:
    """The bridge gets its tokens from the agent (it has no passphrase); the agent is locked
    between two calls: that call fails with the reason, the next one too (the bridge is still
    there), and after ``agent start`` unlocks the agent again the same session works."""
    _url, _seen, env = signed_in
    agent_env = {k: v for k, v in env.items() if k != "TOKENDECK_NO_AGENT"}
    bridge_env = {k: v for k, v in agent_env.items() if k != "TOKENDECK_PASSPHRASE"}
    assert tokendeck(agent_env, "agent", "start").returncode == 0
    before = snapshot(home)
    try:

        async def steps(session: ClientSession) -> tuple[str, MCPError, MCPError, str]:
            first = await session.call_tool("echo", {"text": "through the agent"})
            assert tokendeck(agent_env, "lock").returncode == 0
            locked = await failed_call(session)
            again = await failed_call(session)
            assert tokendeck(agent_env, "agent", "start").returncode == 0
            after = await session.call_tool("echo", {"text": "unlocked again"})
            return str(first.structured_content), locked, again, str(after.structured_content)

        first, locked, again, after = in_session(bridge_env, tmp_path / "bridge.err", steps)
    finally:
        tokendeck(agent_env, "agent", "stop")
    assert first == "{'result': 'through the agent'}" and after == "{'result': 'unlocked again'}"
    for error in (locked, again):
        assert error.error.data == {"reason": "vault_locked"}
        assert "the agent is locked: tokendeck unlock (in a terminal)" in error.error.message
    assert snapshot(home) == before


def test_a_credential_that_needs_sign_in_names_the_command_that_repairs_it(
    signed_in: tuple[str, Seen, dict[str, str]], cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    url, seen, env = signed_in

    async def steps(session: ClientSession) -> tuple[Snapshot, MCPError, MCPError]:
        assert cli("revoke", "tools", "--yes").code == 0
        return snapshot(home), await failed_call(session), await failed_call(session)

    before, first, second = in_session(env, tmp_path / "bridge.err", steps)
    line = f"tokendeck mcp-bridge: tools was revoked; run tokendeck login --mcp {url} --name tools"
    for error in (first, second):
        assert error.error.data == {"reason": "needs_sign_in"} and error.error.message == line
    assert len(seen.accepted) == 1  # initialize's; the failed calls never reached the server
    said = (tmp_path / "bridge.err").read_text().splitlines()
    assert len(said) >= 2 and set(said) == {line}  # each failed message, and nothing else
    assert snapshot(home) == before


def test_a_server_that_cannot_be_reached_is_the_reason(
    signed_in: tuple[str, Seen, dict[str, str]], home: Path, tmp_path: Path
) -> None:
    """The server goes away mid-session: each call fails with the reason (not "Connection
    closed"); a new session's ``initialize`` gets the same reason."""
    url, seen, env = signed_in
    before = snapshot(home)

    async def steps(session: ClientSession) -> tuple[str, MCPError, MCPError]:
        up = await session.call_tool("echo", {"text": "up"})
        seen.stop()
        return str(up.structured_content), await failed_call(session), await failed_call(session)

    up, first, second = in_session(env, tmp_path / "bridge.err", steps)
    assert up == "{'result': 'up'}"
    for error in (first, second):
        assert error.error.data == {"reason": "unreachable"}, error.error
        assert error.error.message.startswith(f"tokendeck mcp-bridge: cannot reach the MCP server at {url}: ")

    async def initialize() -> MCPError:
        params = StdioServerParameters(command=TOKENDECK, args=["mcp-bridge", "tools"], env=env)
        with (tmp_path / "second.err").open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
                with anyio.fail_after(60), pytest.raises(MCPError) as failed:
                    await session.initialize()
                return failed.value

    refused = anyio.run(initialize)
    assert refused.error.data == {"reason": "unreachable"}
    assert refused.error.message.startswith(f"tokendeck mcp-bridge: cannot reach the MCP server at {url}: ")
    assert f"{refused.error.message}\n" in (tmp_path / "second.err").read_text()
    assert snapshot(home) == before
