"""Issue 18, step 4: ``tokendeck export TARGET --name NAME --bridge``: for every MCP client, a
stdio entry that runs ``tokendeck mcp-bridge NAME`` by absolute path, with nothing secret in
the file and everything else kept.  Refusals leave the file byte for byte as it was."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.export import TOKEN
from vault.export.mcp import tokendeck_command
from vault.export.spec import DEFAULT_FILES, JSON_MCP, MCP_TARGETS

MCP_URL = "https://mcp.example.com/mcp"
MCP_TOKEN = "mcp-access-token-not-in-files"


@pytest.fixture
def mcp_ready(ready: CliRunner, home: Path) -> CliRunner:
    """``ready``'s vault plus ``tools``, a credential signed in to an MCP server (its URL kept)."""
    with vault.open_vault(home, "correct horse battery staple") as v:
        v.records.add_static("tools", provider="api-key", token=MCP_TOKEN, extras={"mcp_url": MCP_URL})
    return ready


def entry(target: str, path: Path, server: str) -> dict[str, Any]:
    if target == "codex":
        return dict(tomllib.loads(path.read_text())["mcp_servers"][server])
    return dict(json.loads(path.read_text())[JSON_MCP[target].top][server])


@pytest.mark.parametrize("target", MCP_TARGETS)
def test_every_mcp_target_gets_a_stdio_entry_running_the_bridge(mcp_ready: CliRunner, target: str, home: Path) -> None:
    """The entry names the vault (``--home``) in its arguments: some clients pass no
    ``TOKENDECK_HOME`` to a server (Codex passes a handful of variables, Gemini CLI drops every
    name containing TOKEN), and an argument reaches the bridge in every one."""
    path = Path(f"{target}-config" + Path(DEFAULT_FILES[target]).suffix).absolute()
    r = mcp_ready("export", target, "--name", "tools", "--bridge", "--file", str(path))
    assert r.code == 0, r.err
    written = entry(target, path, "tools")  # --server defaults to the credential's name
    fixed = dict(JSON_MCP[target].fixed) if target in JSON_MCP else {}
    args = ["mcp-bridge", "--home", str(home), "tools"]
    assert written == {**fixed, "command": tokendeck_command(), "args": args}
    assert written["command"].startswith("/")  # desktop apps do not inherit a shell's PATH
    assert MCP_TOKEN not in path.read_text() and "wrote a reference to tools" in r.err
    again = mcp_ready("export", target, "--name", "tools", "--bridge", "--file", str(path))
    assert again.code == 0 and entry(target, path, "tools") == written  # idempotent


def test_the_rest_of_the_file_is_kept_and_a_stdio_entry_is_replaced(mcp_ready: CliRunner, home: Path) -> None:
    path = Path("claude_desktop_config.json").absolute()
    before: dict[str, Any] = {
        "mcpServers": {
            "tools": {"command": "npx", "args": ["-y", "mcp-remote", MCP_URL], "env": {"LOG": "1"}},
            "other": {"command": "other-server"},
        },
        "globalShortcut": "Ctrl+Space",
    }
    path.write_text(json.dumps(before))
    assert mcp_ready("export", "claude-desktop", "--name", "tools", "--bridge", "--file", str(path)).code == 0
    after = json.loads(path.read_text())
    assert after["mcpServers"]["tools"] == {
        "command": tokendeck_command(),
        "args": ["mcp-bridge", "--home", str(home), "tools"],
        "env": {"LOG": "1"},
    }
    assert after["mcpServers"]["other"] == before["mcpServers"]["other"] and after["globalShortcut"] == "Ctrl+Space"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--name", "gh", "--bridge"], "gh is not an MCP server's credential"),
        (["--name", "tools", "--bridge", "--var", "T"], "needs no --var"),
        (["--name", "tools", "--bridge", "--plaintext"], "needs no --plaintext"),
        (["--name", "tools", "--bridge", "--url", MCP_URL], "needs no --url"),
        (["--name", "tools", "--bridge", "--server", "remote"], "is a remote server (URL)"),
    ],
)
def test_bad_bridge_exports_change_nothing(mcp_ready: CliRunner, argv: list[str], said: str) -> None:
    path = Path(".mcp.json").absolute()
    path.write_text(json.dumps({"mcpServers": {"remote": {"type": "http", "url": MCP_URL}}}))
    before = path.read_bytes()
    r = mcp_ready("export", "claude-code", *argv, "--file", str(path))
    assert r.code == 2 and said in r.err and r.err.count("tokendeck:") == 1, r.err
    assert path.read_bytes() == before and TOKEN not in r.err
    dotenv = mcp_ready("export", "dotenv", "--name", "tools", "--bridge", "--var", "T", "--plaintext")
    assert dotenv.code == 2 and "holds none" in dotenv.err and not Path(".env").exists()
