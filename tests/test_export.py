"""``tokendeck export``: each target into an empty and a realistic file, parsed with the
format's own rules; reference mode writes no secret; plaintext is 0600 and follows
refreshes; every bad input leaves the file byte for byte as it was."""

from __future__ import annotations

import json
import netrc
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from tests.support.export import TOKEN, mode  # the `ready` fixture comes from conftest
from tests.support.seeded import seed
from vault.export.mcp import tokendeck_command
from vault.services.refreshing import refresh

MCP: dict[str, Any] = {
    "mcpServers": {
        "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"LOG": "debug"}},
        "linear": {"type": "http", "url": "https://mcp.example/mcp", "headers": {"X": "y"}},
    },
    "theme": "dark",
}
DOTENV = "# app settings\nDEBUG=true\nexport REGION='eu-west-1'  # comment\n\nGH_TOKEN=old-token\nLAST=\"x y\"\n"
NETRC = "machine example.com login bob password hunter2\n# a comment\nmachine gitlab.com login oauth2 password old\n"

EXE = tokendeck_command()
"""The absolute ``tokendeck`` an MCP client is told to start (desktop apps have no shell PATH)."""


def dotenv_parse(text: str) -> dict[str, str]:
    """python-dotenv's rules for the single-line forms used here."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, _, value = line.partition("=")
        value = value.strip()
        if value.startswith("'"):
            end, chars, i = 0, [], 1
            while value[i] != "'":
                if value[i] == "\\" and value[i + 1] in "\\'":
                    i += 1
                chars.append(value[i])
                i += 1
            end = i
            assert end
            out[key.strip()] = "".join(chars)
        elif value.startswith('"'):
            out[key.strip()] = value[1 : value.index('"', 1)]
        else:
            out[key.strip()] = value.split(" #")[0].strip()
    return out


# -------------------------------------------------------------------- dotenv


def test_dotenv_into_empty_location(ready: CliRunner, tmp_path: Path) -> None:
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext")
    assert r.code == 0, r.err
    env = Path(".env")
    assert dotenv_parse(env.read_text()) == {"GH_TOKEN": TOKEN}
    assert mode(env) == 0o600
    assert TOKEN not in r.err and "***" in r.err


def test_dotenv_into_existing_file_keeps_everything_else(ready: CliRunner) -> None:
    env = Path(".env")
    env.write_text(DOTENV)
    os.chmod(env, 0o640)
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext")
    assert r.code == 0
    text = env.read_text()
    expected = dotenv_parse(DOTENV) | {"GH_TOKEN": TOKEN}
    assert dotenv_parse(text) == expected
    assert text == DOTENV.replace("GH_TOKEN=old-token", f"GH_TOKEN='{TOKEN}'")  # every other byte kept
    # A file others could read holds a token now: it becomes owner-only, and the user is told.
    assert mode(env) == 0o600 and "readable by you only" in r.err


def test_dotenv_quoting_is_plain_single_quotes() -> None:
    """No escapes: bash gives none inside single quotes (more in test_export_targets.py)."""
    from vault.export.spec import Spec
    from vault.export.targets import render_dotenv

    spec = Spec("dotenv", "gh", var="V", plaintext=True)
    assert render_dotenv(spec, None, 'x$y"z').text == "V='x$y\"z'\n"


def test_dotenv_needs_plaintext(ready: CliRunner) -> None:
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN")
    assert r.code == 2 and "--plaintext" in r.err
    assert not Path(".env").exists()


# --------------------------------------------------------------------- shell


def test_shell_reference_and_plaintext(ready: CliRunner) -> None:
    r = ready("export", "shell", "--name", "gh", "--var", "GH_TOKEN")
    assert r.code == 0
    assert r.out == 'export GH_TOKEN="$(tokendeck token gh)"\n' and TOKEN not in r.out + r.err
    r = ready("export", "shell", "--name", "gh", "--var", "GH_TOKEN", "--plaintext")
    assert r.code == 0
    assert shlex.split(r.out) == ["export", f"GH_TOKEN={TOKEN}"]
    out = subprocess.run(["sh", "-c", r.out + 'printf %s "$GH_TOKEN"'], capture_output=True, text=True, check=True)
    assert out.stdout == TOKEN


def test_shell_quotes_awkward_tokens() -> None:
    from vault.export.spec import Spec
    from vault.export.targets import render_shell

    line = render_shell(Spec("shell", "a b", var="V", plaintext=True), "x'y$z")
    out = subprocess.run(["sh", "-c", line + 'printf %s "$V"'], capture_output=True, text=True, check=True)
    assert out.stdout == "x'y$z"
    assert render_shell(Spec("shell", "a b", var="V"), None) == "export V=\"$(tokendeck token 'a b')\"\n"


# --------------------------------------------------------------------- netrc


def test_netrc_into_empty_location(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "work" / "netrc"
    r = ready(
        "export", "netrc", "--name", "gh", "--host", "github.com", "--login", "x", "--plaintext", "--file", str(path)
    )
    assert r.code == 0, r.err
    assert netrc.netrc(str(path)).hosts == {"github.com": ("x", "", TOKEN)}
    assert mode(path) == 0o600


def test_netrc_merges_by_machine(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "work" / "netrc"
    path.write_text(NETRC)
    os.chmod(path, 0o644)
    args = ("export", "netrc", "--name", "gh", "--host", "gitlab.com", "--plaintext", "--file", str(path))
    assert ready(*args).code == 0
    hosts = netrc.netrc(str(path)).hosts
    assert hosts == {"example.com": ("bob", "", "hunter2"), "gitlab.com": ("oauth2", "", TOKEN)}
    assert "# a comment\n" in path.read_text()
    assert mode(path) == 0o600  # tightened: a .netrc with passwords must not be readable by others
    args2 = (
        "export",
        "netrc",
        "--name",
        "gh",
        "--host",
        "new.org",
        "--login",
        "me",
        "--plaintext",
        "--file",
        str(path),
    )
    assert ready(*args2).code == 0
    assert set(netrc.netrc(str(path)).hosts) == {"example.com", "gitlab.com", "new.org"}


# --------------------------------------------------------------- claude-code

CC = ("export", "claude-code", "--name", "gh", "--var", "GITHUB_TOKEN", "--server", "github")


def test_claude_code_reference_into_existing_file(ready: CliRunner) -> None:
    path = Path(".mcp.json")
    path.write_text(json.dumps(MCP))
    assert ready(*CC).code == 0
    data = json.loads(path.read_text())
    server = data["mcpServers"]["github"]
    assert server["command"] == EXE
    assert server["args"] == ["exec", "-e", "GITHUB_TOKEN=gh", "--", "npx", "-y", "@modelcontextprotocol/server-github"]
    assert server["env"] == {"LOG": "debug"}
    assert data["mcpServers"]["linear"] == MCP["mcpServers"]["linear"] and data["theme"] == "dark"
    assert TOKEN.encode() not in path.read_bytes()
    assert ready(*CC).code == 0  # idempotent: not wrapped twice
    assert json.loads(path.read_text()) == data


def test_claude_code_into_empty_location_needs_a_command(ready: CliRunner) -> None:
    r = ready(*CC)
    assert r.code == 2 and "--command" in r.err
    assert not Path(".mcp.json").exists()
    assert ready(*CC, "--command", "npx", "-y", "pkg").code == 0
    data = json.loads(Path(".mcp.json").read_text())
    assert data == {
        "mcpServers": {"github": {"command": EXE, "args": ["exec", "-e", "GITHUB_TOKEN=gh", "--", "npx", "-y", "pkg"]}}
    }
    assert mode(Path(".mcp.json")) == 0o600


def test_claude_code_plaintext(ready: CliRunner) -> None:
    path = Path(".mcp.json")
    path.write_text(json.dumps(MCP))
    assert ready(*CC, "--plaintext").code == 0
    data = json.loads(path.read_text())
    assert data["mcpServers"]["github"] == dict(
        MCP["mcpServers"]["github"], env={"LOG": "debug", "GITHUB_TOKEN": TOKEN}
    )
    assert {k: v for k, v in data.items() if k != "mcpServers"} == {"theme": "dark"}
    assert data["mcpServers"]["linear"] == MCP["mcpServers"]["linear"]


def test_dry_run_writes_nothing(ready: CliRunner) -> None:
    path = Path(".mcp.json")
    path.write_text(json.dumps(MCP))
    before = path.read_bytes()
    r = ready(*CC, "--plaintext", "--dry-run")
    assert r.code == 0 and "+" in r.err and TOKEN not in r.err and "***" in r.err
    assert path.read_bytes() == before
    assert ready("export", "--list").out == ""


# ------------------------------------------------------------------ bindings


def test_list_and_unexport(ready: CliRunner, tmp_path: Path) -> None:
    assert ready("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext").code == 0
    listed = json.loads(ready("export", "--list", "--json").out)
    assert [(b["name"], b["target"], b["path"], b["key"]) for b in listed] == [
        ("gh", "dotenv", str(tmp_path / "work" / ".env"), "GH_TOKEN")
    ]
    from datetime import datetime

    assert listed[0]["created_at"].endswith("Z") and datetime.fromisoformat(listed[0]["created_at"])  # ISO 8601
    shown = ready("export", "--list", stdout_tty=True).out.splitlines()
    assert shown[0].split() == ["NAME", "TARGET", "FILE", "KEY"] and shown[1].split()[:2] == ["gh", "dotenv"]
    assert ready("export", "--list").out == f"gh\tdotenv\t{tmp_path / 'work' / '.env'}\tGH_TOKEN\n"  # piped: no header
    assert ready("unexport", "dotenv", "--name", "gh", "--file", ".env").code == 0
    assert ready("export", "--list").out == ""
    assert ready("unexport", "dotenv", "--name", "gh", "--file", ".env").code == 5


def test_refresh_rewrites_plaintext_bindings(home: Path, auth_server: AuthServer, tmp_path: Path) -> None:
    import time

    from vault.export import Spec, plan

    v = vault.init_vault(home, mode="keyring", clock=vault.FrozenClock(time.time()))
    try:
        seed(v, auth_server)
        old = v.token("acme")
        env, mcp = tmp_path / ".env", tmp_path / ".mcp.json"
        env.write_text("KEEP=1\n")
        mcp.write_text(json.dumps(MCP))
        specs = {
            env: Spec("dotenv", "acme", var="T", plaintext=True),
            mcp: Spec("claude-code", "acme", var="T", server="github", plaintext=True),
        }
        for path, spec in specs.items():
            plan(spec, path, old).write()
            v.records.links.add_export_binding(
                "acme", target=spec.target, path=str(path), key=spec.key, options=spec.options()
            )
        new = refresh(v, "acme", force=True).access_token
        assert new is not None and new.reveal() != old
        assert dotenv_parse(env.read_text()) == {"KEEP": "1", "T": new.reveal()}
        assert json.loads(mcp.read_text())["mcpServers"]["github"]["env"]["T"] == new.reveal()
        assert ("export", "rewritten") in [(e.action, e.outcome) for e in v.records.audit_log(credential="acme")]
        os.chmod(env, 0o400)  # a binding that cannot be written does not fail the refresh
        newer = refresh(v, "acme", force=True).access_token
        assert newer is not None
        assert json.loads(mcp.read_text())["mcpServers"]["github"]["env"]["T"] == newer.reveal()
        assert ("export", "rewrite_failed") in [(e.action, e.outcome) for e in v.records.audit_log(credential="acme")]
    finally:
        v.close()


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("content", "args", "code", "says"),
    [
        ("{not json", CC, 2, "not valid JSON"),
        ('{"mcpServers": []}', CC, 2, "not a JSON object"),
        (DOTENV, ("export", "dotenv", "--name", "gh", "--var", "1BAD", "--plaintext"), 2, "not a valid environment"),
        (
            DOTENV,
            ("export", "dotenv", "--name", "gh", "--var", "GH-TOKEN", "--plaintext"),
            2,
            "not a valid environment",
        ),
        (DOTENV, ("export", "dotenv", "--name", "nope", "--var", "GH_TOKEN", "--plaintext"), 5, "no credential"),
    ],
)
def test_bad_input_leaves_the_file_alone(
    ready: CliRunner, content: str, args: tuple[str, ...], code: int, says: str
) -> None:
    path = Path(".mcp.json" if "claude-code" in args else ".env")
    path.write_text(content)
    r = ready(*args)
    assert r.code == code and says in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert path.read_text() == content


def test_symlink_is_refused(ready: CliRunner) -> None:
    real = Path("real.json")
    real.write_text(json.dumps(MCP))
    Path(".mcp.json").symlink_to(real)
    r = ready(*CC)
    assert r.code == 2 and "symbolic link" in r.err
    assert real.read_text() == json.dumps(MCP) and Path(".mcp.json").is_symlink()


def test_read_only_target_is_refused(ready: CliRunner) -> None:
    path = Path(".env")
    path.write_text(DOTENV)
    os.chmod(path, 0o444)
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext")
    assert r.code == 1 and "read-only" in r.err
    assert path.read_text() == DOTENV


def test_missing_directory_is_refused(ready: CliRunner, tmp_path: Path) -> None:
    r = ready(*CC, "--file", str(tmp_path / "nowhere" / ".mcp.json"))
    assert r.code == 2 and "does not exist" in r.err
    assert not (tmp_path / "nowhere").exists()


def test_credential_that_needs_sign_in(ready: CliRunner, home: Path, passphrase_env: str) -> None:
    with vault.open_vault(home, passphrase_env) as v:
        v.records.mark("gh", "revoked", last_error=None, action="test", outcome="ok")
    Path(".env").write_text(DOTENV)
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext")
    assert r.code == 4
    assert Path(".env").read_text() == DOTENV


@pytest.mark.parametrize(("token", "says"), [("a\nb", "line break"), ("a${HOME}b", "${")])
def test_dotenv_refuses_values_it_cannot_hold(token: str, says: str) -> None:
    from vault.errors import InvalidInput
    from vault.export.spec import Spec
    from vault.export.targets import render_dotenv

    with pytest.raises(InvalidInput, match=r"line break|\$\{"):
        render_dotenv(Spec("dotenv", "gh", var="V", plaintext=True), DOTENV, token)


def test_dotenv_refuses_dollar_brace_through_the_cli(ready: CliRunner) -> None:
    assert ready("add", "weird", "--provider", "api-key", stdin="ab${X}cd\n").code == 0
    Path(".env").write_text(DOTENV)
    r = ready("export", "dotenv", "--name", "weird", "--var", "W", "--plaintext")
    assert r.code == 2 and "${" in r.err
    assert Path(".env").read_text() == DOTENV


def test_git_tracked_or_unignored_file_needs_force(ready: CliRunner) -> None:
    subprocess.run(["git", "init", "-q", "."], check=True)
    Path(".env").write_text(DOTENV)
    args = ("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext")
    r = ready(*args)
    assert r.code == 2 and "not git-ignored" in r.err and Path(".env").read_text() == DOTENV
    subprocess.run(["git", "add", ".env"], check=True)
    Path(".gitignore").write_text(".env\n")
    r = ready(*args)
    assert r.code == 2 and "tracked by git" in r.err and Path(".env").read_text() == DOTENV
    subprocess.run(["git", "rm", "-q", "--cached", ".env"], check=True)
    assert ready(*args).code == 0  # ignored and untracked: fine
    Path(".gitignore").unlink()
    assert ready(*args, "--force").code == 0
    assert ready(*CC, "--command", "npx").code == 0  # reference mode: no secret, no git check


def test_a_concurrent_writer_wins_and_nothing_is_half_written(
    ready: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program rewrites the file while tokendeck prepares its copy: tokendeck
    notices before renaming, writes nothing, and leaves no temp file behind."""
    import tempfile

    env = Path(".env")
    env.write_text(DOTENV)
    theirs = DOTENV + "ADDED_BY_SOMEONE_ELSE=1\n"
    real_mkstemp = tempfile.mkstemp

    def meanwhile(*args: object, **kwargs: object) -> tuple[int, str]:
        made = real_mkstemp(*args, **kwargs)  # type: ignore[call-overload]
        env.write_text(theirs)  # the other writer lands between our read and our rename
        return made  # type: ignore[no-any-return]

    monkeypatch.setattr(tempfile, "mkstemp", meanwhile)  # the tempfile module the writer calls
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext")
    assert r.code == 1 and "changed while tokendeck was writing it" in r.err
    assert env.read_text() == theirs  # theirs, whole; not ours, not a mix
    assert [p.name for p in Path(".").iterdir()] == [".env"]  # the temp file is gone
