"""Issue 29: a tokendeck stdio entry, exported for Codex (``config.toml``) and for Gemini CLI
(``settings.json``), read back from the written file and started as those clients start it:
with the environment each gives an MCP server (:mod:`tests.support.client_env`, ported from
their source), built from a full desktop environment.  The agent was started in that full
environment (``XDG_RUNTIME_DIR`` set, the vault's home in ``TOKENDECK_HOME``, not the default);
the bridge sees neither variable, finds the agent by the user id and the vault by the entry's
``--home``, and a tool call through the official SDK's stdio client reaches the server with
the vault's token.  Nothing here lowers a client's rule: the Codex case passes fewer
variables than Codex does today (the five issue 29 saw)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp.client.stdio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from tests.support.bridge import TOKENDECK, stored_token
from tests.support.cli import CliRunner
from tests.support.client_env import ISSUE_29_CODEX, codex_env, gemini_env
from tests.support.mcp_server import Seen
from vault.agent import wire


@pytest.fixture
def desktop(
    signed_in: tuple[str, Seen, dict[str, str]], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment of a user's desktop session, which a client inherits: the vault's home in
    ``TOKENDECK_HOME``, ``XDG_RUNTIME_DIR`` and a long ``TMPDIR`` set, the passphrase there too;
    no test-only override of the agent's directory (the real per-user one, as in use)."""
    _url, _seen, env = signed_in
    monkeypatch.delenv("TOKENDECK_RUNTIME_DIR")  # for this process's own wire calls too
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    long_tmp = tmp_path / "var" / "folders" / ("q" * 40) / "T"
    long_tmp.mkdir(parents=True)
    full = {k: v for k, v in env.items() if k not in ("TOKENDECK_RUNTIME_DIR", "TOKENDECK_NO_AGENT")}
    full.update(XDG_RUNTIME_DIR=str(runtime), TMPDIR=str(long_tmp), LANG="C.UTF-8", SHELL="/bin/sh", TERM="xterm")
    assert full["TOKENDECK_HOME"] == str(home) and "TOKENDECK_PASSPHRASE" in full
    return full


@contextlib.contextmanager
def agent_started_in(full: dict[str, str], home: Path) -> Iterator[None]:
    """``tokendeck agent start`` in the full environment; stopped, and its files in this user's
    runtime directory removed, afterwards."""
    started = subprocess.run([TOKENDECK, "agent", "start"], env=full, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        yield
    finally:
        subprocess.run([TOKENDECK, "agent", "stop"], env=full, capture_output=True, timeout=120)
        base = os.path.join(wire.runtime_dir(), wire.agent_id(str(home)))
        for suffix in (".pid", ".log", ".log.1"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(base + suffix)


def exported(cli: CliRunner, target: str, path: Path) -> dict[str, Any]:
    """``tokendeck export TARGET --name tools --bridge``, read back from the file it wrote."""
    r = cli("export", target, "--name", "tools", "--bridge", "--file", str(path))
    assert r.code == 0, r.err
    if target == "codex":
        return dict(tomllib.loads(path.read_text())["mcp_servers"]["tools"])
    return dict(json.loads(path.read_text())["mcpServers"]["tools"])


def call_through(entry: dict[str, Any], env: dict[str, str], errlog: Path) -> str:
    """Start ``entry`` with exactly ``env`` (the SDK adds nothing: its own defaults are
    switched off for this), initialize, call ``echo``; its answer."""

    async def call() -> str:
        params = StdioServerParameters(command=entry["command"], args=list(entry["args"]), env=env)
        with errlog.open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                answer = await session.call_tool("echo", {"text": "through a stripped environment"})
                return str(answer.structured_content)

    return anyio.run(call)


@pytest.fixture(autouse=True)
def exact_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's stdio client lays the environment it is given over a few variables of this
    process's; the clients here say exactly what the server gets."""
    monkeypatch.setattr(mcp.client.stdio, "get_default_environment", dict)


def test_a_codex_entry_started_with_five_variables_calls_a_tool(
    desktop: dict[str, str], signed_in: tuple[str, Seen, dict[str, str]], cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    _url, seen, _env = signed_in
    entry = exported(cli, "codex", tmp_path / "config.toml")
    env = codex_env(desktop, entry.get("env"), defaults=ISSUE_29_CODEX)
    assert set(env) == set(ISSUE_29_CODEX)  # no TOKENDECK_HOME, no XDG_RUNTIME_DIR, no passphrase
    with agent_started_in(desktop, home):
        answer = call_through(entry, env, tmp_path / "bridge.err")
    assert answer == "{'result': 'through a stripped environment'}"
    assert seen.accepted and seen.accepted[-1] == stored_token(home)  # the vault's token reached the server
    assert (tmp_path / "bridge.err").read_text() == ""


def test_a_gemini_entry_started_without_token_variables_calls_a_tool(
    desktop: dict[str, str], signed_in: tuple[str, Seen, dict[str, str]], cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    _url, seen, _env = signed_in
    entry = exported(cli, "gemini", tmp_path / "settings.json")
    env = gemini_env(desktop, entry.get("env"))
    assert not [name for name in env if "TOKEN" in name.upper()] and "XDG_RUNTIME_DIR" in env
    with agent_started_in(desktop, home):
        answer = call_through(entry, env, tmp_path / "bridge.err")
    assert answer == "{'result': 'through a stripped environment'}"
    assert seen.accepted and seen.accepted[-1] == stored_token(home)
    assert (tmp_path / "bridge.err").read_text() == ""


def test_a_codex_entry_without_an_agent_tells_the_client_to_start_one(
    desktop: dict[str, str], signed_in: tuple[str, Seen, dict[str, str]], cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    """No agent: the bridge has no passphrase (Codex passed none) and says so to the client,
    naming the vault it looked at (the entry's ``--home``, not the default)."""
    _url, seen, _env = signed_in
    entry = exported(cli, "codex", tmp_path / "config.toml")
    env = codex_env(desktop, entry.get("env"), defaults=ISSUE_29_CODEX)
    accepted = len(seen.accepted)
    with pytest.raises(BaseException) as failed:
        call_through(entry, env, tmp_path / "bridge.err")
    error = failed.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, MCPError) and error.error.data == {"reason": "vault_locked"}, error
    assert f"(the vault at {home})" in error.error.message
    assert "no agent runs: tokendeck agent start (in a terminal)" in error.error.message
    assert len(seen.accepted) == accepted
