"""Issue 18, step 3: ``tokendeck mcp-bridge NAME`` between the official SDK's stdio client and
a real SDK MCP server on loopback whose tokens come from the loopback Authlib server, after
``tokendeck login --mcp``.  The bridge runs as its own process, as an MCP client starts it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from tests.support.authserver import AuthServer
from tests.support.bridge import PASS, TOKENDECK, echo_for, refused_call, session_calls, stored_token
from tests.support.cli import CliRunner
from tests.support.mcp_server import Seen


def test_the_sdk_client_drives_the_bridge_and_no_token_is_written(
    signed_in: tuple[str, Seen, dict[str, str]], home: Path, tmp_path: Path
) -> None:
    url, seen, env = signed_in
    errlog = tmp_path / "bridge.err"
    results = anyio.run(session_calls, env, errlog, 2)
    assert results == ["add,echo", "{'result': 40}", "{'result': 41}"]
    token = stored_token(home)
    assert seen.accepted and set(seen.accepted) == {token}  # the vault's token, on every request
    assert token not in errlog.read_text()
    for path in [*home.rglob("*"), *tmp_path.glob("*")]:
        if path.is_file() and path.suffix not in (".db", ".db-wal"):
            assert token.encode() not in path.read_bytes(), path


def test_without_an_agent_the_bridge_unlocks_the_vault_once_for_its_session(
    signed_in: tuple[str, Seen, dict[str, str]], tmp_path: Path
) -> None:
    """Each unlock runs ``TOKENDECK_PASSPHRASE_COMMAND`` once: a session of five calls (and
    its start, which reads the server's URL) runs it once, not once per request."""
    _url, seen, env = signed_in
    runs = tmp_path / "unlocks.log"
    script = tmp_path / "passphrase_command.py"
    script.write_text(f"import sys\nopen({str(runs)!r}, 'a').write('run\\n')\nsys.stdout.write({PASS!r})\n")
    env = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}
    env["TOKENDECK_PASSPHRASE_COMMAND"] = f"{sys.executable} {script}"
    results = anyio.run(session_calls, env, tmp_path / "bridge.err", 5)
    assert results[1:] == [f"{{'result': {i + 40}}}" for i in range(5)]
    assert len(seen.accepted) >= 6  # initialize, the list, five calls: each with a token
    assert runs.read_text() == "run\n"


def test_a_server_that_refuses_even_a_fresh_token_gets_one_refresh_and_the_client_an_error(
    signed_in: tuple[str, Seen, dict[str, str]], auth_server: AuthServer, tmp_path: Path
) -> None:
    url, seen, env = signed_in
    seen.refuse_all = True
    refreshes = auth_server.token_request_count("refresh_token")
    sign_ins = auth_server.token_request_count("authorization_code")
    refused = refused_call(env, tmp_path / "bridge.err")
    assert refused.error.code == -32000 and refused.error.data == {"reason": "sign_in_refused"}
    assert refused.error.message == (
        f"tokendeck mcp-bridge: the MCP server at {url} refused tools's token even after a refresh and a new "
        "sign-in (401, error invalid_token); not signing in again"
    )
    assert auth_server.token_request_count("refresh_token") == refreshes + 1  # once, not in a loop
    assert auth_server.token_request_count("authorization_code") == sign_ins + 1  # one sign-in, the limit
    said = (tmp_path / "bridge.err").read_text()
    assert "refreshing it once" in said and f"{refused.error.message}\n" in said  # the same line on stderr


def test_after_revoke_calls_fail_with_a_clear_error(
    signed_in: tuple[str, Seen, dict[str, str]], cli: CliRunner, tmp_path: Path
) -> None:
    url, _seen, env = signed_in
    assert cli("revoke", "tools", "--yes").code == 0
    refused = refused_call(env, tmp_path / "bridge.err")
    assert refused.error.data == {"reason": "needs_sign_in"}
    line = f"tokendeck mcp-bridge: tools was revoked; run tokendeck login --mcp {url} --name tools"
    assert refused.error.message == line  # the command that repairs this credential, in the client
    said = (tmp_path / "bridge.err").read_text()
    assert f"{line}\n" in said and "Traceback" not in said


def test_a_dropped_sse_stream_fails_that_call_with_an_error_and_the_session_carries_on(
    signed_in: tuple[str, Seen, dict[str, str]], home: Path, tmp_path: Path
) -> None:
    """The remote cuts a tools/call's SSE response off before any event: the client gets a
    JSON-RPC error for that call (not a hang), the bridge stays up, the next call works, and
    the vault is as it was."""
    _url, seen, env = signed_in
    before = stored_token(home)
    params = StdioServerParameters(command=TOKENDECK, args=["mcp-bridge", "tools"], env=env)

    async def session() -> tuple[str, str]:
        with (tmp_path / "bridge.err").open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                seen.drop_streams = 1
                with anyio.fail_after(60), pytest.raises(MCPError) as dropped:
                    await s.call_tool("echo", {"text": "lost"})
                answer = await s.call_tool("echo", {"text": "after the drop"})
                return dropped.value.error.message, str(answer.structured_content)

    message, after = anyio.run(session)
    assert seen.dropped == 1
    assert "SSE stream ended without a response" in message
    assert after == "{'result': 'after the drop'}"
    assert stored_token(home) == before
    assert "Traceback" not in (tmp_path / "bridge.err").read_text()


def test_garbage_on_stdin_is_a_parse_error_and_a_closed_stdin_ends_the_bridge(
    signed_in: tuple[str, Seen, dict[str, str]],
) -> None:
    _url, _seen, env = signed_in
    bridge = subprocess.Popen(
        [TOKENDECK, "mcp-bridge", "tools"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = bridge.communicate("this is not json\n", timeout=30)
    assert bridge.returncode == 0, err
    (line,) = out.splitlines()
    assert json.loads(line) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "not a JSON-RPC message"},
    }


@pytest.mark.parametrize(
    ("name", "code", "reason", "said"),
    [("nope", 5, "not_found", "no credential named"), ("gh", 2, "not_mcp", "not an MCP")],
)
def test_a_name_that_is_no_mcp_credential_is_one_line_and_the_answer_to_initialize(
    signed_in: tuple[str, Seen, dict[str, str]], cli: CliRunner, name: str, code: int, reason: str, said: str
) -> None:
    """The bridge cannot start: it says so on stderr, answers every request (``initialize``
    first) with the reason until stdin closes, then exits with the error's code."""
    _url, _seen, env = signed_in
    assert cli("add", "gh", "--provider", "github-pat", stdin="ghp_x\n").code == 0
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "two", "method": "tools/list"},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in requests)
    done = subprocess.run(
        [TOKENDECK, "mcp-bridge", name], input=stdin, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == code and said in done.stderr and done.stderr.count("\n") == 1, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == [1, "two"]  # the notification gets none
    line = done.stderr.strip()
    for answer in answers:
        assert answer["error"] == {"code": -32000, "message": line, "data": {"reason": reason}}


def test_a_two_minute_session_across_20_second_tokens_through_the_agent(
    signed_in: tuple[str, Seen, dict[str, str]], auth_server: AuthServer, home: Path, tmp_path: Path
) -> None:
    """Real time, as the issue asks: calls every 2 s for 2 minutes; tokens live 20 s and rotate."""
    _url, _seen, env = signed_in
    auth_server.settings.access_token_lifetime = 20
    agent_env = {k: v for k, v in env.items() if k != "TOKENDECK_NO_AGENT"}
    assert subprocess.run([TOKENDECK, "refresh", "tools"], env=agent_env, timeout=60).returncode == 0  # a 20 s token
    assert subprocess.run([TOKENDECK, "agent", "start"], env=agent_env, timeout=60).returncode == 0
    before = auth_server.token_request_count("refresh_token")
    bridge_env = {k: v for k, v in agent_env.items() if k != "TOKENDECK_PASSPHRASE"}  # only the agent has the key
    try:
        calls, failed = anyio.run(echo_for, bridge_env, tmp_path / "bridge.err")
    finally:
        subprocess.run([TOKENDECK, "agent", "stop"], env=agent_env, timeout=60)
    assert failed == []
    refreshes = auth_server.token_request_count("refresh_token") - before
    assert calls >= 50
    assert 4 <= refreshes <= 9, refreshes  # about one per lifetime: 120 s / 20 s, refreshed ahead of expiry
    assert [t.status for t in auth_server.token_requests() if t.grant_type == "refresh_token"][-refreshes:] == [
        200
    ] * refreshes


def test_through_the_agent_each_read_of_the_bridge_is_audited_with_the_bridge_as_its_reader(
    signed_in: tuple[str, Seen, dict[str, str]], tmp_path: Path
) -> None:
    """Issue 36's reader audit for the bridge: ``tokendeck audit`` names ``tokendeck mcp-bridge tools``
    and its pid as the reader of the token each call used."""
    _url, _seen, env = signed_in
    agent_env = {k: v for k, v in env.items() if k != "TOKENDECK_NO_AGENT"}
    assert subprocess.run([TOKENDECK, "agent", "start"], env=agent_env, timeout=60).returncode == 0
    bridge_env = {k: v for k, v in agent_env.items() if k != "TOKENDECK_PASSPHRASE"}  # only the agent has the key
    try:
        assert anyio.run(session_calls, bridge_env, tmp_path / "bridge.err", 1)[1:] == ["{'result': 40}"]
        shown = subprocess.run(  # through the agent, which writes the reads of the last second first
            [TOKENDECK, "audit", "--json", "--name", "tools"],
            env=bridge_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        subprocess.run([TOKENDECK, "agent", "stop"], env=agent_env, timeout=60)
    assert shown.returncode == 0, shown.stderr
    served = [e["detail"] for e in json.loads(shown.stdout) if e["action"] == "read" and e["outcome"] == "served"]
    assert served, shown.stdout
    assert all(re.search(r"reader=(\S+ )?tokendeck mcp-bridge tools \(pid \d+\)$", d) for d in served), served


def test_the_entry_export_bridge_writes_is_what_a_client_starts(
    signed_in: tuple[str, Seen, dict[str, str]], cli: CliRunner, tmp_path: Path
) -> None:
    """The file Claude Desktop reads (which cannot hold a remote server) now reaches the remote one."""
    _url, seen, env = signed_in
    config = tmp_path / "claude_desktop_config.json"
    assert cli("export", "claude-desktop", "--name", "tools", "--bridge", "--file", str(config)).code == 0
    written = json.loads(config.read_text())["mcpServers"]["tools"]

    async def call() -> str:
        params = StdioServerParameters(command=written["command"], args=written["args"], env=env)
        with (tmp_path / "bridge.err").open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                answer = await session.call_tool("echo", {"text": "from the config"})
                return str(answer.structured_content)

    assert anyio.run(call) == "{'result': 'from the config'}" and seen.accepted
