"""Issue 33, item 6: a project's file (``.mcp.json``, ``.vscode/mcp.json``, ``.cursor/mcp.json``),
which a team commits, names ``tokendeck`` as found on PATH, not one user's virtualenv path; a
user's own file keeps the absolute path (desktop apps have no shell PATH)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support.cli import CliRunner
from vault.export.launcher import project_scoped, tokendeck_command

PKG = ["npx", "-y", "@modelcontextprotocol/server-github"]
OPTS = ["--name", "gh", "--var", "GITHUB_TOKEN", "--server", "github"]
THIS = os.path.join(os.path.dirname(sys.executable), "tokendeck")
"""The tokendeck of the install that runs the tests."""


def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str | None) -> None:
    """PATH is one folder holding a ``tokendeck`` link to ``target`` (none if None)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    if target is not None:
        (folder / "tokendeck").symlink_to(target)
    monkeypatch.setenv("PATH", str(folder))


def server(path: Path, top: str = "mcpServers") -> dict[str, object]:
    entry: dict[str, object] = json.loads(path.read_text())[top]["github"]
    return entry


@pytest.fixture(autouse=True)
def _installed() -> None:
    if not os.access(THIS, os.X_OK):
        pytest.skip("the tests do not run from an installed tokendeck")


def test_project_mcp_json_names_tokendeck_on_path(
    ready: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_path(tmp_path, monkeypatch, THIS)  # PATH's tokendeck is a link to this very program
    r = ready("export", "claude-code", *OPTS, "--command", *PKG)
    assert r.code == 0, r.err
    entry = server(Path(".mcp.json"))
    assert entry["command"] == "tokendeck" and entry["args"] == ["exec", "-e", "GITHUB_TOKEN=gh", "--", *PKG]
    assert "PATH" not in r.err
    r = ready("export", "vscode", *OPTS, "--command", *PKG)  # ./.vscode/mcp.json: also the project's
    assert r.code == 0 and server(Path(".vscode/mcp.json"), "servers")["command"] == "tokendeck"


def test_project_file_without_tokendeck_on_path_names_the_absolute_path(
    ready: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_path(tmp_path, monkeypatch, None)
    r = ready("export", "claude-code", *OPTS, "--command", *PKG)
    assert r.code == 0, r.err
    assert server(Path(".mcp.json"))["command"] == THIS
    assert "no tokendeck is on PATH" in r.err and THIS in r.err


def test_another_tokendeck_on_path_is_not_named(
    ready: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other-tokendeck"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    fake_path(tmp_path, monkeypatch, str(other))
    r = ready("export", "claude-code", *OPTS, "--command", *PKG)
    assert r.code == 0 and server(Path(".mcp.json"))["command"] == THIS
    assert "is another install" in r.err


def test_user_file_keeps_the_absolute_path(ready: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_path(tmp_path, monkeypatch, THIS)
    path = tmp_path / "claude_desktop_config.json"
    r = ready("export", "claude-desktop", *OPTS, "--file", str(path), "--command", *PKG)
    assert r.code == 0, r.err
    assert server(path)["command"] == THIS == tokendeck_command().command


def test_which_files_are_a_projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert project_scoped(tmp_path / "repo" / ".mcp.json")
    assert project_scoped(tmp_path / "repo" / ".vscode" / "mcp.json")
    assert project_scoped(tmp_path / "repo" / ".cursor" / "mcp.json")
    assert not project_scoped(tmp_path / ".cursor" / "mcp.json")  # ~/.cursor: the user's
    assert not project_scoped(tmp_path / ".codex" / "config.toml")
    assert not project_scoped(tmp_path / ".config" / "zed" / "settings.json")
