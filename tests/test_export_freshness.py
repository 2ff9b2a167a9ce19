"""Issue 33, item 5: exports are honest about freshness (:mod:`vault.export.freshness`).

An OAuth credential whose access token expires, exported where the tool reads the token
once, gets a warning naming the lifetime and the fresh way; a plaintext file, which every
refresh re-writes, says it is kept fresh; a bridge entry says it fetches a token per request;
static tokens and OAuth tokens with no expiry get nothing.  The warning never stops the
export: the file is written, and the vault keeps the credential as it was."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.export import TOKEN

ACCESS = "oauth-access-not-in-files"
PASS = "correct horse battery staple"
MCP_URL = "https://mcp.example.com/mcp"
WARNING = "work's access token lasts about 1m"


def store_oauth(home: Path, *, lifetime: float | None = 60.0, mcp: bool = False, refresh: bool = True) -> None:
    """``work``: an OAuth credential issued now, its access token good for ``lifetime`` seconds."""
    now = time.time()
    with vault.open_vault(home, PASS) as v:
        v.records.save(
            vault.Credential(
                name="work",
                provider="github",
                kind="oauth",
                access_token=vault.Secret(ACCESS),
                refresh_token=vault.Secret("refresh-not-in-files") if refresh else None,
                expires_at=None if lifetime is None else now + lifetime,
                extras={"mcp_url": MCP_URL} if mcp else {},
                created_at=now,
                updated_at=now,
                last_refreshed_at=now,
            )
        )


def stored(home: Path) -> vault.Credential:
    with vault.open_vault(home, PASS) as v:
        return v.records.get("work")


def export(cli: CliRunner, *argv: str) -> tuple[int, str, str]:
    r = cli("export", *argv)
    return r.code, r.out, r.err


STDIO = ["--server", "srv", "--var", "WORK_TOKEN", "--command", "node", "server.js"]


@pytest.mark.parametrize(
    ("target", "file", "said"),
    [
        ("claude-code", ".mcp.json", "Claude Code starts the server with one token"),
        ("cursor", "mcp.json", "Cursor starts the server with one token"),
        ("vscode", "mcp.json", "VS Code starts the server with one token"),
    ],
)
def test_a_stdio_entry_warns_that_its_server_keeps_one_token(
    ready: CliRunner, home: Path, target: str, file: str, said: str
) -> None:
    store_oauth(home)
    before = stored(home)
    path = Path(file).absolute()
    code, _, err = export(ready, target, "--name", "work", "--file", str(path), *STDIO)
    assert code == 0, err
    assert f"{WARNING}: {said}, which it keeps while it runs; restart the server when it runs out" in err
    assert "wrote a reference to work" in err  # the warning does not block the write
    assert path.exists() and ACCESS not in path.read_text()
    after = stored(home)
    assert after.access_token == before.access_token and after.expires_at == before.expires_at  # vault as it was


def test_an_mcp_credential_is_pointed_at_the_bridge(ready: CliRunner, home: Path) -> None:
    store_oauth(home, mcp=True)
    path = Path(".mcp.json").absolute()
    code, _, err = export(ready, "claude-code", "--name", "work", "--file", str(path), *STDIO)
    assert code == 0, err
    assert f"{WARNING}: Claude Code starts the server with one token" in err
    assert "export with --bridge instead: tokendeck mcp-bridge fetches a fresh token for every request" in err

    code, _, err = export(ready, "claude-code", "--name", "work", "--server", "b", "--bridge", "--file", str(path))
    assert code == 0, err
    assert f"{WARNING}; tokendeck mcp-bridge fetches a fresh one for every request" in err
    assert "restart" not in err
    servers = json.loads(path.read_text())["mcpServers"]
    assert set(servers) == {"srv", "b"} and ACCESS not in path.read_text()


def test_a_remote_claude_code_entry_names_the_bridge_and_headers_helper(ready: CliRunner, home: Path) -> None:
    store_oauth(home, mcp=True)
    path = Path(".mcp.json").absolute()
    code, _, err = export(ready, "claude-code", "--name", "work", "--server", "r", "--var", "WORK_TOKEN",
                          "--url", MCP_URL, "--file", str(path))  # fmt: skip
    assert code == 0, err
    assert f"{WARNING}: Claude Code reads $WORK_TOKEN once, when it starts; export with --bridge" in err
    assert "headersHelper" in err
    assert json.loads(path.read_text())["mcpServers"]["r"]["headers"] == {"Authorization": "Bearer ${WORK_TOKEN}"}


def test_a_vscode_input_is_kept_after_the_token_runs_out(ready: CliRunner, home: Path) -> None:
    store_oauth(home)
    path = Path("mcp.json").absolute()
    code, _, err = export(ready, "vscode", "--name", "work", "--server", "r", "--url", MCP_URL, "--file", str(path))
    assert code == 0, err
    assert "paste what tokendeck token work prints" in err
    assert f"{WARNING}: VS Code keeps the input you paste after the token runs out; restart it" in err
    assert "headersHelper" not in err and "--bridge" not in err  # not an MCP credential; not Claude Code
    assert ACCESS not in path.read_text()


def test_a_plaintext_file_says_it_is_kept_fresh(ready: CliRunner, home: Path) -> None:
    store_oauth(home)
    path = Path(".env").absolute()
    code, _, err = export(ready, "dotenv", "--name", "work", "--var", "WORK_TOKEN", "--file", str(path), "--plaintext")
    assert code == 0, err
    assert f"{WARNING}; every refresh re-writes the file, so it is kept fresh while the agent runs" in err
    assert "a program reads it when it starts" in err and "restart" not in err
    assert path.read_text() == f"WORK_TOKEN='{ACCESS}'\n"


def test_the_shell_line_warns_on_stderr_and_prints_only_the_line(ready: CliRunner, home: Path) -> None:
    store_oauth(home)
    code, out, err = export(ready, "shell", "--name", "work", "--var", "WORK_TOKEN")
    assert code == 0, err
    assert out == 'export WORK_TOKEN="$(tokendeck token work)"\n'
    assert f"{WARNING}: the shell keeps the one it got when the line ran" in err and ACCESS not in err


def test_a_dry_run_warns_too_and_writes_nothing(ready: CliRunner, home: Path) -> None:
    store_oauth(home)
    path = Path(".mcp.json").absolute()
    code, _, err = export(ready, "claude-code", "--name", "work", "--file", str(path), "--dry-run", *STDIO)
    assert code == 0 and WARNING in err and "dry run" in err
    assert not path.exists()


def test_an_hour_long_token_reads_as_about_an_hour(ready: CliRunner, home: Path) -> None:
    store_oauth(home, lifetime=3600)
    code, _, err = export(ready, "shell", "--name", "work", "--var", "WORK_TOKEN")
    assert code == 0 and "work's access token lasts about 1h:" in err


def test_no_refresh_token_says_a_new_sign_in_is_needed(ready: CliRunner, home: Path) -> None:
    store_oauth(home, refresh=False)
    code, _, err = export(ready, "dotenv", "--name", "work", "--var", "W", "--file", str(Path(".env").absolute()),
                          "--plaintext")  # fmt: skip
    assert code == 0 and f"{WARNING} and cannot be renewed (no refresh token)" in err and "kept fresh" not in err


@pytest.mark.parametrize("oauth_without_expiry", [False, True])
@pytest.mark.parametrize(
    "argv",
    [
        ["claude-code", "--file", ".mcp.json", *STDIO],
        ["dotenv", "--var", "W", "--file", ".env", "--plaintext"],
        ["shell", "--var", "W"],
        ["vscode", "--server", "r", "--url", MCP_URL, "--file", "mcp.json"],
    ],
)
def test_tokens_that_do_not_run_out_get_no_word(
    ready: CliRunner, home: Path, argv: list[str], oauth_without_expiry: bool
) -> None:
    """A PAT (``gh``), and an OAuth token with no expiry (a GitHub OAuth App's)."""
    name = "gh"
    if oauth_without_expiry:
        store_oauth(home, lifetime=None)
        name = "work"
    target, *rest = argv
    if "--file" in rest:
        i = rest.index("--file") + 1
        rest[i] = str(Path(rest[i]).absolute())
    code, _, err = export(ready, target, "--name", name, *rest)
    assert code == 0, err
    for word in ("access token", "lasts", "runs out", "kept fresh", "fresh token", "restart"):
        assert word not in err
    assert TOKEN not in err
