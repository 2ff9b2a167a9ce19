"""``tokendeck export`` to the MCP clients beyond Claude Code: Claude Desktop, Cursor,
Windsurf, Gemini CLI, VS Code, Zed (JSON) and Codex (TOML).  Each into an empty and a
realistic file, parsed with the format's own rules; everything else is kept; reference
mode writes no secret; plaintext is 0600 with the token at the right key; a file that
does not parse is left byte for byte as it was."""

from __future__ import annotations

import copy
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import CliRunner
from tests.support.export import TOKEN, mode  # the `ready` fixture comes from conftest
from vault.export.launcher import tokendeck_command

VAR = "GITHUB_TOKEN"
PKG = ["-y", "@modelcontextprotocol/server-github"]
WRAPPED = ["exec", "-e", f"{VAR}=gh", "--", "npx", *PKG]

GITHUB = {"command": "npx", "args": PKG, "env": {"LOG": "debug"}}

EXISTING: dict[str, dict[str, Any]] = {
    "claude-desktop": {
        "mcpServers": {
            "github": GITHUB,
            "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/me"]},
        },
        "globalShortcut": "Ctrl+Space",
    },
    "cursor": {
        "mcpServers": {
            "github": GITHUB,
            "remote": {"url": "https://mcp.example/mcp", "headers": {"Authorization": "Bearer ${env:REMOTE}"}},
        }
    },
    "windsurf": {
        "mcpServers": {
            "github": GITHUB,
            "remote": {"serverUrl": "https://mcp.example/mcp", "headers": {"X": "y"}},
        }
    },
    "gemini": {
        "theme": "GitHub",
        "selectedAuthType": "oauth-personal",
        "general": {"vimMode": True, "checkpointing": {"enabled": False}},
        "mcpServers": {
            "github": dict(GITHUB, cwd="/src", timeout=30000, trust=False),
            "sse": {"url": "http://localhost:8080/sse"},
        },
    },
    "vscode": {
        "inputs": [{"type": "promptString", "id": "gh", "description": "GitHub token", "password": True}],
        "servers": {
            "github": dict(GITHUB, type="stdio"),
            "remote": {"type": "http", "url": "https://mcp.example/mcp"},
        },
    },
    "zed": {
        "theme": "One Dark",
        "vim_mode": True,
        "context_servers": {
            "github": dict(GITHUB, source="custom"),
            "postgres": {"source": "extension", "enabled": True, "settings": {"database_url": "postgres://"}},
        },
    },
}
TOP = {"claude-desktop": "mcpServers", "cursor": "mcpServers", "windsurf": "mcpServers", "gemini": "mcpServers"}
TOP |= {"vscode": "servers", "zed": "context_servers"}
FIXED: dict[str, dict[str, str]] = {"vscode": {"type": "stdio"}, "zed": {"source": "custom"}}
JSON_TARGETS = sorted(EXISTING)

CODEX = """\
# Codex configuration
model = "o3"  # the default model
approval_policy = "on-request"

[mcp_servers.github]
command = "npx"  # runs the server
args = ["-y", "@modelcontextprotocol/server-github"]
env = { LOG = "debug" }
env_vars = ["HOME"]

[mcp_servers.remote]
url = "https://mcp.example/mcp"
bearer_token_env_var = "REMOTE_TOKEN"

# profiles below
[profiles.fast]
model = "gpt-4.1"
"""

EXE = tokendeck_command().command
"""The absolute ``tokendeck`` an MCP client is told to start (desktop apps have no shell PATH)."""


def export(cli: CliRunner, target: str, path: Path, *extra: str) -> Any:
    return cli("export", target, "--name", "gh", "--var", VAR, "--server", "github", "--file", str(path), *extra)


def without(data: dict[str, Any], top: str, server: str) -> dict[str, Any]:
    """The whole structure except one server entry."""
    rest = copy.deepcopy(data)
    rest[top].pop(server, None)
    return rest


# ---------------------------------------------------------------------- JSON


@pytest.mark.parametrize("target", JSON_TARGETS)
def test_json_into_empty_location(ready: CliRunner, tmp_path: Path, target: str) -> None:
    path = tmp_path / "cfg.json"
    r = export(ready, target, path)
    assert r.code == 2 and "--command" in r.err and not path.exists()
    r = export(ready, target, path, "--command", "npx", *PKG)
    assert r.code == 0, r.err
    data = json.loads(path.read_text())
    assert data == {TOP[target]: {"github": {**FIXED.get(target, {}), "command": EXE, "args": WRAPPED}}}
    assert mode(path) == 0o600
    assert TOKEN.encode() not in path.read_bytes()
    assert path.read_text() == json.dumps(data, indent=2) + "\n"


@pytest.mark.parametrize("target", JSON_TARGETS)
def test_json_reference_into_existing_file(ready: CliRunner, tmp_path: Path, target: str) -> None:
    path, top = tmp_path / "cfg.json", TOP[target]
    original = copy.deepcopy(EXISTING[target])
    original[top]["github"]["env"] = {"LOG": "debug", VAR: "old-secret-value"}  # a plaintext left from before
    path.write_text(json.dumps(original, indent=4))
    os.chmod(path, 0o644)
    r = export(ready, target, path)
    assert r.code == 0, r.err
    assert "old-secret-value" not in r.err and "***" in r.err
    data = json.loads(path.read_text())
    assert without(data, top, "github") == without(original, top, "github")  # nothing else changed
    expected = dict(original[top]["github"], command=EXE, args=WRAPPED, env={"LOG": "debug"})
    assert data[top]["github"] == expected
    assert list(data) == list(original)  # key order kept too
    raw = path.read_bytes()
    assert TOKEN.encode() not in raw and b"old-secret-value" not in raw
    assert mode(path) == 0o644
    assert export(ready, target, path).code == 0  # idempotent: not wrapped twice
    assert json.loads(path.read_text()) == data


@pytest.mark.parametrize("target", JSON_TARGETS)
def test_json_plaintext(ready: CliRunner, tmp_path: Path, target: str) -> None:
    path, top = tmp_path / "cfg.json", TOP[target]
    original = EXISTING[target]
    path.write_text(json.dumps(original))
    r = export(ready, target, path, "--plaintext")
    assert r.code == 0, r.err
    assert TOKEN not in r.err
    data = json.loads(path.read_text())
    assert without(data, top, "github") == without(original, top, "github")
    assert data[top]["github"] == dict(original[top]["github"], env={"LOG": "debug", VAR: TOKEN})
    listed = json.loads(ready("export", "--list", "--json").out)
    assert [(b["target"], b["path"], b["key"]) for b in listed] == [(target, str(path), f"{top}.github.env.{VAR}")]
    assert ready("unexport", target, "--name", "gh", "--file", str(path)).code == 0
    assert ready("export", "--list").out == ""

    fresh = tmp_path / "new.json"
    assert export(ready, target, fresh, "--plaintext", "--command", "npx", *PKG).code == 0
    assert mode(fresh) == 0o600
    server = json.loads(fresh.read_text())[top]["github"]
    assert server == {**FIXED.get(target, {}), "command": "npx", "args": PKG, "env": {VAR: TOKEN}}


@pytest.mark.parametrize("target", JSON_TARGETS)
@pytest.mark.parametrize(
    "bad",
    [
        '{"mcpServers": {',
        '// settings\n{"theme": "x",,}\n',  # JSONC, but two commas
        "{'theme': 'x'}",  # JSON5, which no JSONC reader takes
        "[1, 2]",
        '{"mcpServers": [], "servers": [], "context_servers": []}',
    ],
)
def test_json_invalid_file_unchanged(ready: CliRunner, tmp_path: Path, target: str, bad: str) -> None:
    path = tmp_path / "cfg.json"
    path.write_bytes(bad.encode())
    for extra in ((), ("--plaintext",)):
        r = export(ready, target, path, *extra, "--command", "npx")
        assert r.code == 2, r.err
        assert path.read_bytes() == bad.encode()
    assert TOKEN not in ready("export", "--list").out


def test_json_server_of_another_kind_unchanged(ready: CliRunner, tmp_path: Path) -> None:
    """A stdio export (--command) into a remote server or a Zed extension is refused
    (remote servers themselves: tests/test_export_remote.py)."""
    path = tmp_path / "cfg.json"
    for target, server in [("vscode", "remote"), ("zed", "postgres"), ("cursor", "remote")]:
        before = json.dumps(EXISTING[target]).encode()
        path.write_bytes(before)
        args = ("--name", "gh", "--var", VAR, "--server", server, "--file", str(path), "--command", "npx")
        r = ready("export", target, *args)
        assert r.code == 2, r.err
        assert path.read_bytes() == before


def test_default_files(ready: CliRunner) -> None:
    from vault.export.spec import DEFAULT_FILES

    assert DEFAULT_FILES["claude-desktop"] == "~/.config/Claude/claude_desktop_config.json"
    assert DEFAULT_FILES["cursor"] == "~/.cursor/mcp.json"
    assert DEFAULT_FILES["windsurf"] == "~/.codeium/windsurf/mcp_config.json"
    assert DEFAULT_FILES["gemini"] == "~/.gemini/settings.json"
    assert DEFAULT_FILES["vscode"] == ".vscode/mcp.json"
    assert DEFAULT_FILES["zed"] == "~/.config/zed/settings.json"
    assert DEFAULT_FILES["codex"] == "~/.codex/config.toml"
    Path(".vscode").mkdir()
    assert ready("export", "vscode", "--name", "gh", "--var", VAR, "--server", "gh", "--command", "npx").code == 0
    assert json.loads(Path(".vscode/mcp.json").read_text())["servers"]["gh"]["type"] == "stdio"


# --------------------------------------------------------------------- Codex


def test_codex_into_empty_location(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert export(ready, "codex", path).code == 2 and not path.exists()
    r = export(ready, "codex", path, "--command", "npx", *PKG)
    assert r.code == 0, r.err
    assert tomllib.loads(path.read_text()) == {"mcp_servers": {"github": {"command": EXE, "args": WRAPPED}}}
    assert mode(path) == 0o600
    assert TOKEN.encode() not in path.read_bytes()


def test_codex_reference_into_existing_file_keeps_comments(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CODEX)
    r = export(ready, "codex", path)
    assert r.code == 0, r.err
    text = path.read_text()
    data, original = tomllib.loads(text), tomllib.loads(CODEX)
    assert without(data, "mcp_servers", "github") == without(original, "mcp_servers", "github")
    assert data["mcp_servers"]["github"] == dict(original["mcp_servers"]["github"], command=EXE, args=WRAPPED)
    args = json.dumps(WRAPPED).replace('","', '", "')
    assert text == CODEX.replace('command = "npx"', f'command = "{EXE}"').replace(
        'args = ["-y", "@modelcontextprotocol/server-github"]', f"args = {args}"
    )  # every other byte, comments included, kept
    assert TOKEN.encode() not in path.read_bytes()
    assert export(ready, "codex", path).code == 0  # idempotent
    assert path.read_text() == text


def test_codex_plaintext(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CODEX.replace('{ LOG = "debug" }', f'{{ LOG = "debug", {VAR} = "old-token" }}'))
    r = export(ready, "codex", path, "--plaintext")
    assert r.code == 0, r.err
    assert TOKEN not in r.err and "old-token" not in r.err
    text = path.read_text()
    data, original = tomllib.loads(text), tomllib.loads(CODEX)
    assert without(data, "mcp_servers", "github") == without(original, "mcp_servers", "github")
    assert data["mcp_servers"]["github"]["env"] == {"LOG": "debug", VAR: TOKEN}
    assert data["mcp_servers"]["github"]["command"] == "npx"
    assert "# Codex configuration" in text and "# profiles below" in text and "# runs the server" in text
    listed = json.loads(ready("export", "--list", "--json").out)
    assert [(b["target"], b["key"]) for b in listed] == [("codex", f"mcp_servers.github.env.{VAR}")]

    fresh = tmp_path / "fresh.toml"
    assert export(ready, "codex", fresh, "--plaintext", "--command", "npx", *PKG).code == 0
    assert mode(fresh) == 0o600
    server = tomllib.loads(fresh.read_text())["mcp_servers"]["github"]
    assert server == {"command": "npx", "args": PKG, "env": {VAR: TOKEN}}


def test_codex_new_server_among_other_tables(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CODEX)
    r = ready(
        "export", "codex", "--name", "gh", "--var", VAR, "--server", "gh2", "--file", str(path), "--command", "npx"
    )
    assert r.code == 0, r.err
    data, original = tomllib.loads(path.read_text()), tomllib.loads(CODEX)
    assert without(data, "mcp_servers", "gh2") == original
    assert data["mcp_servers"]["gh2"] == {"command": EXE, "args": ["exec", "-e", f"{VAR}=gh", "--", "npx"]}


def test_codex_token_with_quotes_round_trips() -> None:
    from vault.export.spec import Spec
    from vault.export.targets import render

    token = "a\"b\\c'd"
    text = render(Spec("codex", "gh", var=VAR, server="s", command=("npx",), plaintext=True), None, token, "f").text
    assert tomllib.loads(text)["mcp_servers"]["s"]["env"][VAR] == token
    again = render(Spec("codex", "gh", var=VAR, server="s", plaintext=True), text, "new", "f")
    assert again.replaced == [token]  # the refresh's preview masks the old token


@pytest.mark.parametrize(
    "bad",
    [
        "[mcp_servers.github\ncommand = 1\n",
        'model = "o3"\nmodel = "o4"\n',  # a duplicate key
        "mcp_servers = 3\n",
        "[mcp_servers.github]\nurl = 3\n",  # a remote server whose URL is not a string
        '[mcp_servers.github]\ncommand = "npx"\nurl = "https://x"\n',  # both kinds at once
    ],
)
def test_codex_invalid_file_unchanged(ready: CliRunner, tmp_path: Path, bad: str) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(bad.encode())
    for extra in ((), ("--plaintext",)):
        r = export(ready, "codex", path, *extra)
        assert r.code == 2, r.err
        assert path.read_bytes() == bad.encode()


def test_the_parser_offers_exactly_the_targets() -> None:
    from vault.cli import export as cli
    from vault.export import spec as targets

    assert set(cli.FILE_TARGETS) == set(targets.FILE_TARGETS)
    assert set(cli.EXPORT_TARGETS) == set(targets.TARGETS)


PORTABLE = ["ghp_plain123", 'x$HOME#y"q`id`', "a-b_c.d~e+f/g=b==", "a;b|c&d*e?f[g]h~i!"]
UNPORTABLE = {"it's": "a single quote", "back\\slash": "a backslash", "a${B}c": "'${'"}


def read_back(path: Path, var: str) -> dict[str, str | None]:
    """``var`` as bash ``set -a; .``, python-dotenv and Node's ``--env-file`` read it from ``path``."""
    import shutil
    import subprocess

    from dotenv import dotenv_values

    seen: dict[str, str | None] = {"python-dotenv": dotenv_values(path).get(var)}
    script = f'set -a; . "{path}"; printf %s "${var}"'
    seen["bash"] = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    node = shutil.which("node")
    if node is not None:
        shown = f"process.stdout.write(process.env.{var} ?? '')"
        done = subprocess.run([node, f"--env-file={path}", "-e", shown], capture_output=True, text=True, check=False)
        if done.returncode == 0:  # Node >= 20.6 reads .env files itself
            seen["node"] = done.stdout
    return seen


@pytest.mark.parametrize("token", PORTABLE)
def test_a_dotenv_value_reads_back_unchanged_in_bash_python_dotenv_and_node(
    ready: CliRunner, tmp_path: Path, token: str
) -> None:
    assert ready("add", "odd", "--provider", "api-key", stdin=token + "\n").code == 0
    target = tmp_path / "work" / ".env"
    done = ready("export", "dotenv", "--name", "odd", "--var", "ODD_TOKEN", "--file", str(target), "--plaintext")
    assert done.code == 0, done.err
    seen = read_back(target, "ODD_TOKEN")
    assert set(seen) >= {"python-dotenv", "bash"}
    assert seen == dict.fromkeys(seen, token)


@pytest.mark.parametrize(("token", "said"), UNPORTABLE.items())
def test_a_token_no_dotenv_reader_reads_back_alike_is_refused(
    ready: CliRunner, tmp_path: Path, token: str, said: str
) -> None:
    assert ready("add", "odd", "--provider", "api-key", stdin=token + "\n").code == 0
    target = tmp_path / "work" / ".env"
    target.write_text("KEEP=1\n")
    done = ready("export", "dotenv", "--name", "odd", "--var", "ODD_TOKEN", "--file", str(target), "--plaintext")
    assert done.code == 2 and said in done.err and token not in done.err
    assert target.read_text() == "KEEP=1\n"
