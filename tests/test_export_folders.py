"""Issue 33, item 6: a tool's own config folder that does not exist yet (a fresh Codex
install, a new project) is created by the export, as the tool would create it: 0700 when
the file holds a token, the usual mode otherwise.  A missing folder that is not the tool's
own (a typo'd project path) is still refused, and nothing is created."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from tests.support.cli import CliRunner
from tests.support.export import TOKEN  # the `ready` fixture comes from conftest

PKG = ["npx", "-y", "@modelcontextprotocol/server-github"]
OPTS = ["--name", "gh", "--var", "GITHUB_TOKEN", "--server", "github"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "user"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_missing_vscode_folder_is_created(ready: CliRunner) -> None:
    os.umask(old := os.umask(0o022))
    r = ready("export", "vscode", *OPTS, "--command", *PKG)  # default file: ./.vscode/mcp.json
    assert r.code == 0, r.err
    folder = Path(".vscode")
    assert folder.is_dir() and mode(folder) == 0o777 & ~old  # no secret in it: the usual mode
    assert "created" in r.err and ".vscode" in r.err
    assert (folder / "mcp.json").is_file()


def test_missing_codex_home_is_created_0700_for_a_token(ready: CliRunner, user_home: Path) -> None:
    r = ready("export", "codex", *OPTS, "--plaintext", "--force", "--command", *PKG)
    assert r.code == 0, r.err
    folder = user_home / ".codex"
    assert mode(folder) == 0o700 and mode(folder / "config.toml") == 0o600
    assert tomllib.loads((folder / "config.toml").read_text())["mcp_servers"]["github"]["env"] == {
        "GITHUB_TOKEN": TOKEN
    }


def test_missing_zed_folder_and_its_parent_are_created(ready: CliRunner, user_home: Path) -> None:
    r = ready("export", "zed", *OPTS, "--command", *PKG)
    assert r.code == 0, r.err
    assert (user_home / ".config" / "zed" / "settings.json").is_file()


def test_dry_run_creates_no_folder(ready: CliRunner, user_home: Path) -> None:
    r = ready("export", "cursor", *OPTS, "--dry-run", "--command", *PKG)
    assert r.code == 0, r.err
    assert not (user_home / ".cursor").exists()


def test_a_folder_that_is_not_the_tools_own_is_refused(ready: CliRunner, tmp_path: Path) -> None:
    for target, path in [
        ("vscode", tmp_path / "typo-project" / ".vscode" / "mcp.json"),  # the project itself is missing
        ("vscode", tmp_path / "settings" / "mcp.json"),  # not .vscode
        ("claude-code", tmp_path / "nowhere" / ".mcp.json"),
    ]:
        r = ready("export", target, *OPTS, "--file", str(path), "--command", *PKG)
        assert r.code == 2 and "does not exist" in r.err and len(r.err.strip().splitlines()) == 1, r.err
        assert not (tmp_path / "typo-project").exists() and not path.parent.exists()
