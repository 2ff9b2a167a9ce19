"""Issue 33, item 6: JSON with comments (JSONC) is edited with every comment kept.

Zed's own first-run ``settings.json`` and a hand-kept VS Code ``mcp.json`` hold ``//`` and
``/* */`` comments and trailing commas.  An export changes only the server it writes;
every other byte stays, so taking that server out again gives the original file back.
A file that is neither JSON nor JSONC is refused with its line and column, untouched.
"""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path

import json5

from tests.support.cli import CliRunner, Result
from tests.support.export import TOKEN, mode  # the `ready` fixture comes from conftest
from vault.export import jsonc

ZED_INITIAL = (
    "// Zed settings\n"
    "//\n"
    "// For information on how to configure Zed, see the Zed\n"
    "// documentation: https://zed.dev/docs/configuring-zed\n"
    "//\n"
    "// To see all of Zed's default settings without changing your\n"
    "// custom settings, run `zed: open default settings` from the\n"
    "// command palette (cmd-shift-p / ctrl-shift-p)\n"
    "{\n"
    '  "project_panel": {\n'
    '    "dock": "left",\n'
    '    "starts_open": true,\n'
    "  },\n"
    '  "agent": {\n'
    '    "dock": "right",\n'
    "  },\n"
    '  "ui_font_size": 16,\n'
    '  "buffer_font_size": 15,\n'
    '  "theme": {\n'
    '    "mode": "system",\n'
    '    "light": "One Light",\n'
    '    "dark": "One Dark",\n'
    "  },\n"
    "}\n"
)
"""Zed's first-run ``~/.config/zed/settings.json``, verbatim: zed-industries/zed,
``assets/settings/initial_user_settings.json``."""

VSCODE_MCP = """{
  // Secrets VS Code asks for once and keeps in its secret storage
  "inputs": [
    {
      "type": "promptString",
      "id": "perplexity-key",
      "description": "Perplexity API Key",
      "password": true
    },
  ],
  "servers": {
    /* Files of this workspace only.
       Started by VS Code when a chat needs it. */
    "filesystem": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "${workspaceFolder}"], // no home directory
    },
    // Perplexity search
    "perplexity": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "server-perplexity-ask"],
      "env": {
        "PERPLEXITY_API_KEY": "${input:perplexity-key}"
      }
    },
  },
}
"""
"""A hand-kept ``.vscode/mcp.json``: line comments, a block comment, trailing commas."""

PKG = ["npx", "-y", "@modelcontextprotocol/server-github"]


def export(cli: CliRunner, target: str, path: Path, *extra: str) -> Result:
    return cli(
        "export", target, "--name", "gh", "--var", "GITHUB_TOKEN", "--server", "github", "--file", str(path), *extra
    )


def only_inserted(before: str, after: str) -> bool:
    """Every line of ``before`` is in ``after``, in order and unchanged: the change only adds lines."""
    ops = difflib.SequenceMatcher(None, before.splitlines(True), after.splitlines(True), autojunk=False).get_opcodes()
    return all(tag in ("equal", "insert") for tag, *_ in ops)


def undone(text: str, top: str, server: str) -> str:
    """``text`` with one server taken out again, edited as tokendeck edits (the undo of an export)."""
    doc = jsonc.parse(text)
    data = copy.deepcopy(doc.data)
    del data[top][server]
    if not data[top]:
        del data[top]
    jsonc.edit(doc, data)
    return jsonc.dump(doc)


def test_zed_first_run_settings_keep_every_comment(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(ZED_INITIAL)
    path.chmod(0o644)
    r = ready("export", "zed", "--name", "gh", "--var", "GITHUB_TOKEN", "--server", "github", "--file", str(path),
              "--command", *PKG)  # fmt: skip
    assert r.code == 0, r.err
    after = path.read_text()
    assert only_inserted(ZED_INITIAL, after), after
    assert after.startswith(ZED_INITIAL[: ZED_INITIAL.index('  "theme"')])  # the comments, untouched
    server = json5.loads(after)["context_servers"]["github"]
    assert server["source"] == "custom" and server["args"][-3:] == PKG and TOKEN not in after
    assert mode(path) == 0o644
    assert undone(after, "context_servers", "github") == ZED_INITIAL  # byte for byte
    r = ready("export", "zed", "--name", "gh", "--var", "GITHUB_TOKEN", "--server", "github", "--file", str(path))
    assert r.code == 0 and path.read_text() == after  # again: nothing to change


def test_vscode_commented_mcp_json_round_trip(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(VSCODE_MCP)
    r = export(ready, "vscode", path, "--plaintext", "--force", "--command", *PKG)
    assert r.code == 0, r.err
    after = path.read_text()
    assert only_inserted(VSCODE_MCP, after), after
    for comment in ("// Secrets VS Code", "/* Files of this workspace only.\n       Started by", "// no home directory",
                    "// Perplexity search"):  # fmt: skip
        assert comment in after
    assert json5.loads(after)["servers"]["github"]["env"] == {"GITHUB_TOKEN": TOKEN}
    assert mode(path) == 0o600  # it holds a token now
    assert ready("unexport", "vscode", "--name", "gh", "--file", str(path)).code == 0
    assert path.read_text() == after  # unexport forgets the binding; the file is left as it is
    assert undone(after, "servers", "github") == VSCODE_MCP  # taking the entry out gives the original back


def test_vscode_remote_reference_adds_its_input_beside_the_comments(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(VSCODE_MCP)
    r = export(ready, "vscode", path, "--url", "https://api.githubcopilot.com/mcp/")
    assert r.code == 0, r.err
    after = path.read_text()
    assert only_inserted(VSCODE_MCP, after), after
    data = json5.loads(after)
    assert [i["id"] for i in data["inputs"]] == ["perplexity-key", "tokendeck-gh"]
    assert data["servers"]["github"]["headers"] == {"Authorization": "Bearer ${input:tokendeck-gh}"}


def test_plain_json_is_written_as_before(ready: CliRunner, tmp_path: Path) -> None:
    """No comments: the file is re-written as json.dumps(indent=2) does, as it always was."""
    path = tmp_path / "mcp.json"
    path.write_text('{"servers": {"a": {"type": "stdio", "command": "x", "args": []}}}')
    assert export(ready, "vscode", path, "--command", *PKG).code == 0
    data = json.loads(path.read_text())
    assert path.read_text() == json.dumps(data, indent=2) + "\n"


def test_bad_jsonc_is_one_line_with_line_and_column(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    bad = ZED_INITIAL.replace('"ui_font_size": 16,', '"ui_font_size": 16 17,')
    path.write_bytes(bad.encode())
    audit = ready("audit", "--json").out
    r = export(ready, "zed", path, "--plaintext", "--command", *PKG)
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "line 17, column 22" in lines[0], r.err
    assert path.read_bytes() == bad.encode()
    assert ready("export", "--list").out == "" and ready("audit", "--json").out == audit


def test_json5_only_syntax_is_refused_with_its_place(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    text = "{\n  // fine so far\n  servers: {},\n}\n"  # a bare key: JSON5, which VS Code does not read
    path.write_text(text)
    r = export(ready, "vscode", path, "--command", *PKG)
    assert r.code == 2 and "line 3, column 3" in r.err and path.read_text() == text
