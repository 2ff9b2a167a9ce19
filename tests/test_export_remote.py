"""``tokendeck export`` to remote (HTTP) MCP servers: the token in a header.

For every client whose config holds remote servers (Claude Code, Cursor, Windsurf,
Gemini CLI, VS Code: JSON; Codex: TOML): into an empty and a realistic file, parsed
with the format's own rules, everything else kept; reference mode writes no token
and drops a plaintext one that was there; plaintext is 0600 with the header value,
and a refresh re-writes it.  Bad input leaves the file byte for byte as it was.
Facts per client: PROVIDERS.md, Part B."""

from __future__ import annotations

import copy
import json
import os
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner, Result
from tests.support.export import TOKEN, mode  # the `ready` fixture comes from conftest
from tests.support.seeded import seed
from vault.services.exports import reexport

URL = "https://mcp.linear.example/mcp"
VAR = "LINEAR_TOKEN"
NEW = "lin_refreshedTOKEN456"
OLD_SECRET = "old-secret-value"
PKG = ["-y", "@modelcontextprotocol/server-github"]

JSON_REMOTE = ["claude-code", "cursor", "vscode", "windsurf", "gemini"]
TOP = {target: "mcpServers" for target in JSON_REMOTE} | {"vscode": "servers"}
URL_KEY = {"claude-code": "url", "cursor": "url", "windsurf": "serverUrl", "gemini": "httpUrl", "vscode": "url"}
TYPE: dict[str, dict[str, str]] = {"claude-code": {"type": "http"}, "vscode": {"type": "http"}}
REFERENCE = {
    "claude-code": "${LINEAR_TOKEN}",
    "cursor": "${env:LINEAR_TOKEN}",
    "windsurf": "${env:LINEAR_TOKEN}",
    "gemini": "${LINEAR_TOKEN}",
    "vscode": "${input:tokendeck-gh}",
}
CLIENT = {"claude-code": "claude", "cursor": "cursor", "windsurf": "windsurf", "gemini": "gemini", "codex": "codex"}
VSCODE_INPUT = {
    "type": "promptString",
    "id": "tokendeck-gh",
    "description": "gh token (tokendeck token gh)",
    "password": True,
}


def remote(target: str, value: str, header: str = "Authorization", url: str = URL) -> dict[str, Any]:
    """A remote server entry as the client writes it."""
    return {**TYPE.get(target, {}), URL_KEY[target]: url, "headers": {header: value}}


def existing(target: str) -> dict[str, Any]:
    """A lived-in config: a stdio server, another remote server, settings around them."""
    stdio: dict[str, Any] = {"command": "npx", "args": PKG, "env": {"LOG": "debug"}}
    if target == "vscode":
        stdio = {"type": "stdio", **stdio}
    other = remote(target, "Bearer ${env:OTHER}", url="https://other.example/mcp")
    data: dict[str, Any] = {"theme": "dark", TOP[target]: {"github": stdio, "other": other}, "general": {"vim": True}}
    if target == "vscode":
        data = {"inputs": [{"type": "promptString", "id": "gh", "description": "GitHub", "password": True}], **data}
    return data


def export(cli: CliRunner, target: str, path: Path, *extra: str, var: bool = True) -> Result:
    args = ["export", target, "--name", "gh", "--server", "linear", "--file", str(path)]
    return cli(*args, *(["--var", VAR] if var else []), *extra)


def others(data: dict[str, Any], top: str) -> dict[str, Any]:
    """Everything but the ``linear`` server and tokendeck's VS Code input."""
    rest = copy.deepcopy(data)
    rest[top].pop("linear", None)
    if "inputs" in rest:
        rest["inputs"] = [i for i in rest["inputs"] if i.get("id") != "tokendeck-gh"]
    return rest


def rewrite_after_refresh(home: Path, passphrase: str, token: str) -> list[str]:
    """What a refresh does to the plaintext bindings (``vault.services.refreshing.refresh`` calls it)."""
    with vault.open_vault(home, passphrase) as v:
        return reexport(v.records, "gh", token)


# ---------------------------------------------------------------------- JSON


@pytest.mark.parametrize("target", JSON_REMOTE)
def test_reference_into_empty_location(ready: CliRunner, tmp_path: Path, target: str) -> None:
    path = tmp_path / "cfg.json"
    r = export(ready, target, path, "--url", URL)
    assert r.code == 0, r.err
    data = json.loads(path.read_text())
    expected: dict[str, Any] = {TOP[target]: {"linear": remote(target, "Bearer " + REFERENCE[target])}}
    if target == "vscode":
        expected["inputs"] = [VSCODE_INPUT]
    assert data == expected
    assert path.read_text() == json.dumps(data, indent=2) + "\n"
    assert mode(path) == 0o600
    assert TOKEN.encode() not in path.read_bytes()
    if target == "vscode":
        assert "tokendeck token gh" in r.err
    else:
        assert f"tokendeck exec -e {VAR}=gh -- {CLIENT[target]}" in r.err
    assert ready("export", "--list").out == ""  # reference mode binds nothing


@pytest.mark.parametrize("target", JSON_REMOTE)
def test_reference_into_existing_file(ready: CliRunner, tmp_path: Path, target: str) -> None:
    path, top = tmp_path / "cfg.json", TOP[target]
    original = existing(target)
    path.write_text(json.dumps(original, indent=4))
    os.chmod(path, 0o644)
    r = export(ready, target, path, "--url", URL)
    assert r.code == 0, r.err
    data = json.loads(path.read_text())
    assert others(data, top) == original  # nothing else changed
    assert list(data) == [*list(original), *(["inputs"] if "inputs" not in original and target == "vscode" else [])]
    assert data[top]["linear"] == remote(target, "Bearer " + REFERENCE[target])
    if target == "vscode":
        assert data["inputs"] == [*original["inputs"], VSCODE_INPUT]
    assert TOKEN.encode() not in path.read_bytes()
    assert mode(path) == 0o644  # an existing file keeps its mode
    text = path.read_text()
    assert export(ready, target, path, "--url", URL).code == 0  # idempotent
    assert path.read_text() == text


@pytest.mark.parametrize("target", JSON_REMOTE)
def test_reference_replaces_a_plaintext_header(ready: CliRunner, tmp_path: Path, target: str) -> None:
    """No --url: the entry's own URL makes it remote; the secret that was in the header goes,
    and the preview does not show it."""
    path, top = tmp_path / "cfg.json", TOP[target]
    original = existing(target)
    original[top]["linear"] = remote(target, "Bearer " + OLD_SECRET) | {"timeout": 30}
    original[top]["linear"]["headers"]["X-Team"] = "eng"
    path.write_text(json.dumps(original))
    r = export(ready, target, path)
    assert r.code == 0, r.err
    assert OLD_SECRET not in r.err and "***" in r.err
    assert OLD_SECRET.encode() not in path.read_bytes() and TOKEN.encode() not in path.read_bytes()
    data = json.loads(path.read_text())
    assert others(data, top) == others(original, top)
    linear = original[top]["linear"]
    assert data[top]["linear"] == linear | {
        "headers": {"Authorization": "Bearer " + REFERENCE[target], "X-Team": "eng"}
    }


@pytest.mark.parametrize("target", JSON_REMOTE)
def test_plaintext_and_refresh(ready: CliRunner, tmp_path: Path, home: Path, passphrase_env: str, target: str) -> None:
    path, top = tmp_path / "cfg.json", TOP[target]
    original = existing(target)
    path.write_text(json.dumps(original))
    r = export(ready, target, path, "--url", URL, "--plaintext", var=False)  # no --var: nothing refers to one
    assert r.code == 0, r.err
    assert TOKEN not in r.err
    data = json.loads(path.read_text())
    assert others(data, top) == original  # VS Code: no input either
    assert data[top]["linear"] == remote(target, f"Bearer {TOKEN}")
    listed = json.loads(ready("export", "--list", "--json").out)
    assert [(b["target"], b["key"]) for b in listed] == [(target, f"{top}.linear.headers.Authorization")]

    assert rewrite_after_refresh(home, passphrase_env, NEW) == []
    data = json.loads(path.read_text())
    assert data[top]["linear"] == remote(target, f"Bearer {NEW}")
    assert others(data, top) == original

    fresh = tmp_path / "fresh.json"
    assert export(ready, target, fresh, "--url", URL, "--plaintext").code == 0
    assert mode(fresh) == 0o600
    assert json.loads(fresh.read_text()) == {top: {"linear": remote(target, f"Bearer {TOKEN}")}}


@pytest.mark.parametrize("target", JSON_REMOTE)
def test_other_header_gets_the_bare_token(ready: CliRunner, tmp_path: Path, target: str) -> None:
    path, top = tmp_path / "cfg.json", TOP[target]
    assert export(ready, target, path, "--url", URL, "--header", "X-Api-Key").code == 0
    assert json.loads(path.read_text())[top]["linear"]["headers"] == {"X-Api-Key": REFERENCE[target]}
    assert export(ready, target, path, "--header", "X-Api-Key", "--plaintext").code == 0
    assert json.loads(path.read_text())[top]["linear"]["headers"] == {"X-Api-Key": TOKEN}
    listed = json.loads(ready("export", "--list", "--json").out)
    assert [b["key"] for b in listed] == [f"{top}.linear.headers.X-Api-Key"]


def test_refresh_leaves_the_rest_of_a_remote_entry_alone(
    ready: CliRunner, tmp_path: Path, home: Path, passphrase_env: str
) -> None:
    """A refresh changes the secret only: a URL edited since stays; a removed server is not re-created."""
    path = tmp_path / ".mcp.json"
    assert export(ready, "claude-code", path, "--url", URL, "--plaintext").code == 0
    data = json.loads(path.read_text())
    data["mcpServers"]["linear"]["url"] = "https://moved.example/mcp"
    path.write_text(json.dumps(data))
    assert rewrite_after_refresh(home, passphrase_env, NEW) == []
    assert json.loads(path.read_text())["mcpServers"]["linear"] == remote(
        "claude-code", f"Bearer {NEW}", url="https://moved.example/mcp"
    )
    path.write_text('{"mcpServers": {}}')
    problems = rewrite_after_refresh(home, passphrase_env, "newer")
    assert len(problems) == 1 and "not re-created" in problems[0]
    assert path.read_text() == '{"mcpServers": {}}'


def test_refresh_through_the_lifecycle(home: Path, auth_server: AuthServer, tmp_path: Path) -> None:
    """A real refresh (loopback authorization server) re-writes JSON and Codex headers."""
    from vault.export import Spec, plan
    from vault.services.refreshing import refresh

    v = vault.init_vault(home, mode="keyring", clock=vault.FrozenClock(time.time()))
    try:
        seed(v, auth_server)
        old = v.token("acme")
        mcp, codex = tmp_path / ".mcp.json", tmp_path / "config.toml"
        for spec, path in [
            (Spec("claude-code", "acme", server="linear", url=URL, plaintext=True), mcp),
            (Spec("codex", "acme", server="linear", url=URL, header="X-Api-Key", plaintext=True), codex),
        ]:
            change = plan(spec, path, old)
            change.write()
            done = change.spec
            v.records.links.add_export_binding(
                "acme", target=done.target, path=str(path), key=done.key, options=done.options()
            )
        new = refresh(v, "acme", force=True).access_token
        assert new is not None and new.reveal() != old
        assert json.loads(mcp.read_text())["mcpServers"]["linear"]["headers"] == {
            "Authorization": f"Bearer {new.reveal()}"
        }
        assert tomllib.loads(codex.read_text())["mcp_servers"]["linear"] == {
            "url": URL,
            "http_headers": {"X-Api-Key": new.reveal()},
        }
    finally:
        v.close()


def test_vscode_input_replaced_by_id_others_kept(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    stale = {"type": "promptString", "id": "tokendeck-gh", "description": "stale"}
    keep = {"type": "pickString", "id": "region", "options": ["eu", "us"]}
    path.write_text(json.dumps({"inputs": [stale, keep, dict(stale)], "servers": {}}))
    assert export(ready, "vscode", path, "--url", URL, var=False).code == 0
    assert json.loads(path.read_text())["inputs"] == [VSCODE_INPUT, keep]


def test_gemini_keeps_an_sse_url_key(ready: CliRunner, tmp_path: Path) -> None:
    """Gemini: ``url`` is SSE, ``httpUrl`` streamable HTTP: an existing entry keeps its transport."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"mcpServers": {"linear": {"url": "http://localhost:8080/sse", "trust": False}}}))
    assert export(ready, "gemini", path).code == 0
    linear = json.loads(path.read_text())["mcpServers"]["linear"]
    assert linear == {
        "url": "http://localhost:8080/sse",
        "trust": False,
        "headers": {"Authorization": "Bearer ${LINEAR_TOKEN}"},
    }
    assert export(ready, "gemini", path, "--url", "http://127.0.0.1:9000/sse").code == 0
    assert json.loads(path.read_text())["mcpServers"]["linear"]["url"] == "http://127.0.0.1:9000/sse"
    assert "httpUrl" not in json.loads(path.read_text())["mcpServers"]["linear"]


def test_windsurf_connects_with_server_url_only(ready: CliRunner, tmp_path: Path) -> None:
    """Windsurf ignores Cursor's ``url``: the entry's URL moves to ``serverUrl``, in place."""
    path = tmp_path / "mcp_config.json"
    path.write_text(json.dumps({"mcpServers": {"linear": {"url": URL, "disabled": False}}}))
    assert export(ready, "windsurf", path).code == 0
    linear = json.loads(path.read_text())["mcpServers"]["linear"]
    assert list(linear.items()) == [
        ("serverUrl", URL),
        ("disabled", False),
        ("headers", {"Authorization": "Bearer ${env:LINEAR_TOKEN}"}),
    ]


def test_claude_code_keeps_an_sse_type_and_header_spelling(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / ".mcp.json"
    entry = {"type": "sse", "url": URL, "headers": {"authorization": f"Bearer {OLD_SECRET}", "AUTHORIZATION": "x"}}
    path.write_text(json.dumps({"mcpServers": {"linear": entry}}))
    r = export(ready, "claude-code", path)
    assert r.code == 0, r.err
    assert OLD_SECRET not in r.err
    linear = json.loads(path.read_text())["mcpServers"]["linear"]
    assert linear == {"type": "sse", "url": URL, "headers": {"authorization": "Bearer ${LINEAR_TOKEN}"}}


# --------------------------------------------------------------------- Codex

CODEX = """\
# Codex configuration
model = "o3"  # the default model

[mcp_servers.github]
command = "npx"  # runs the server
args = ["-y", "@modelcontextprotocol/server-github"]
env = { LOG = "debug" }

[mcp_servers.other]
url = "https://other.example/mcp"  # a remote server
bearer_token_env_var = "OTHER"

# profiles below
[profiles.fast]
model = "gpt-4.1"
"""
CODEX_LINEAR = f"""\
[mcp_servers.linear]
url = "{URL}"  # linear
http_headers = {{ Authorization = "Bearer {OLD_SECRET}", X-Team = "eng" }}
bearer_token = "{OLD_SECRET}"
"""
HEAD, TAIL = CODEX.split("\n# profiles below\n")


def codex_without_linear(text: str) -> dict[str, Any]:
    data = tomllib.loads(text)
    data["mcp_servers"].pop("linear", None)
    return data


def test_codex_reference_into_empty_location(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    r = export(ready, "codex", path, "--url", URL)
    assert r.code == 0, r.err
    assert tomllib.loads(path.read_text()) == {"mcp_servers": {"linear": {"url": URL, "bearer_token_env_var": VAR}}}
    assert mode(path) == 0o600 and TOKEN.encode() not in path.read_bytes()
    assert f"tokendeck exec -e {VAR}=gh -- codex" in r.err
    r = export(ready, "codex", path, "--header", "X-Api-Key")
    assert r.code == 0, r.err
    assert tomllib.loads(path.read_text())["mcp_servers"]["linear"] == {
        "url": URL,
        "bearer_token_env_var": VAR,  # the Authorization header is not this export's business
        "env_http_headers": {"X-Api-Key": VAR},
    }


def test_codex_new_remote_server_in_existing_file(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CODEX)
    r = export(ready, "codex", path, "--url", URL)
    assert r.code == 0, r.err
    text = path.read_text()
    assert codex_without_linear(text) == tomllib.loads(CODEX)
    linear = f'[mcp_servers.linear]\nurl = "{URL}"\nbearer_token_env_var = "{VAR}"\n'
    assert (
        text == f"{HEAD}\n{linear}\n# profiles below\n{TAIL}"
    )  # every other byte kept; the comment stays above its table


def test_codex_reference_replaces_plaintext(ready: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"{HEAD}\n{CODEX_LINEAR}\n# profiles below\n{TAIL}")
    r = export(ready, "codex", path)
    assert r.code == 0, r.err
    assert OLD_SECRET not in r.err and "***" in r.err
    text = path.read_text()
    assert OLD_SECRET not in text and TOKEN not in text
    linear = tomllib.loads(text)["mcp_servers"]["linear"]
    assert linear == {"url": URL, "http_headers": {"X-Team": "eng"}, "bearer_token_env_var": VAR}
    assert codex_without_linear(text) == tomllib.loads(CODEX)
    assert text.startswith(HEAD + "\n[mcp_servers.linear]\n" + f'url = "{URL}"  # linear\n')
    assert text.endswith(f'bearer_token_env_var = "{VAR}"\n\n# profiles below\n{TAIL}')


def test_codex_plaintext_and_refresh(ready: CliRunner, tmp_path: Path, home: Path, passphrase_env: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CODEX)
    assert export(ready, "codex", path, "--url", URL).code == 0  # reference first: bearer_token_env_var
    r = export(ready, "codex", path, "--plaintext")
    assert r.code == 0, r.err
    assert TOKEN not in r.err
    text = path.read_text()
    assert tomllib.loads(text)["mcp_servers"]["linear"] == {
        "url": URL,
        "http_headers": {"Authorization": f"Bearer {TOKEN}"},
    }
    assert codex_without_linear(text) == tomllib.loads(CODEX)
    assert "# profiles below\n[profiles.fast]" in text and "# the default model" in text
    listed = json.loads(ready("export", "--list", "--json").out)
    assert [(b["target"], b["key"]) for b in listed] == [("codex", "mcp_servers.linear.http_headers.Authorization")]

    assert rewrite_after_refresh(home, passphrase_env, NEW) == []
    after = path.read_text()
    assert tomllib.loads(after)["mcp_servers"]["linear"] == {
        "url": URL,
        "http_headers": {"Authorization": f"Bearer {NEW}"},
    }
    assert after == text.replace(TOKEN, NEW)

    fresh = tmp_path / "fresh.toml"
    assert export(ready, "codex", fresh, "--url", URL, "--header", "X-Api-Key", "--plaintext", var=False).code == 0
    assert mode(fresh) == 0o600
    assert tomllib.loads(fresh.read_text()) == {
        "mcp_servers": {"linear": {"url": URL, "http_headers": {"X-Api-Key": TOKEN}}}
    }


def test_codex_never_writes_bearer_token_or_headers() -> None:
    from vault.export.spec import Spec
    from vault.export.targets import render

    for plaintext in (False, True):
        for header in (None, "X-Api-Key"):
            spec = Spec("codex", "gh", var=VAR, server="s", url=URL, header=header, plaintext=plaintext)
            server = tomllib.loads(render(spec, None, "tok", "f").text)["mcp_servers"]["s"]
            assert not {"bearer_token", "headers"} & set(server)


# ---------------------------------------------------------------- bad inputs

BAD_OPTIONS = [
    ("--url", "ftp://mcp.example/mcp"),
    ("--url", "http://mcp.example/mcp"),  # plain http off loopback
    ("--url", "http://127.evil.example/mcp"),  # a name, not a loopback address
    ("--url", "https://"),
    ("--url", "https://mcp.example/a b"),
    ("--url", "https://mcp.example/\r\nX-Injected: 1"),
    ("--url", "https://user:pw@mcp.example/mcp"),
    ("--url", "javascript:alert(1)"),
    ("--header", "X Api"),
    ("--header", "X-Api:"),
    ("--header", ""),
    ("--header", "X-Api\r\nX-Injected: 1"),
    ("--url", URL, "--command", "npx"),
]


@pytest.mark.parametrize("target", [*JSON_REMOTE, "codex"])
@pytest.mark.parametrize("bad", BAD_OPTIONS, ids=repr)
def test_bad_options_leave_the_file_alone(ready: CliRunner, tmp_path: Path, target: str, bad: tuple[str, ...]) -> None:
    path = tmp_path / "cfg"
    before = (CODEX if target == "codex" else json.dumps(existing(target))).encode()
    path.write_bytes(before)
    extra = bad if "--url" in bad else ("--url", URL, *bad)
    for plaintext in ((), ("--plaintext",)):
        r = export(ready, target, path, *extra, *plaintext)
        assert r.code == 2, r.err
        assert len(r.err.strip().splitlines()) == 1, r.err
        assert path.read_bytes() == before
    assert ready("export", "--list").out == ""


@pytest.mark.parametrize("url", ["http://localhost:8080/mcp", "http://127.0.0.1:9/mcp", "http://[::1]/mcp", URL])
def test_loopback_http_and_https_are_accepted(ready: CliRunner, tmp_path: Path, url: str) -> None:
    path = tmp_path / ".mcp.json"
    assert export(ready, "claude-code", path, "--url", url).code == 0
    assert json.loads(path.read_text())["mcpServers"]["linear"]["url"] == url


@pytest.mark.parametrize("target", ["claude-desktop", "zed"])
def test_clients_without_remote_servers_refuse(ready: CliRunner, tmp_path: Path, target: str) -> None:
    path = tmp_path / "cfg.json"
    top = "context_servers" if target == "zed" else "mcpServers"
    before = json.dumps({top: {"linear": {"url": URL}}, "theme": "x"}).encode()
    path.write_bytes(before)
    for extra in (("--url", URL), (), ("--plaintext",)):  # asked for, or found in the entry
        r = export(ready, target, path, *extra)
        assert r.code == 2 and "no remote" in r.err, r.err
        assert path.read_bytes() == before
    r = export(ready, target, tmp_path / "new.json", "--url", URL)
    assert r.code == 2 and not (tmp_path / "new.json").exists()


@pytest.mark.parametrize(
    ("entry", "extra", "says"),
    [
        ({"command": "npx", "args": PKG}, ("--url", URL), "stdio server"),  # --url does not convert a stdio server
        ({"command": "npx", "args": PKG}, ("--header", "X-Api-Key"), "--header is for remote"),
        ({"url": URL}, ("--command", "npx"), "remote server"),
        ({"type": "stdio", "url": URL}, (), "type"),
        ({"url": 3}, (), "not a string"),
        ({"url": URL, "headers": ["x"]}, (), "not an object"),
    ],
)
def test_entries_of_another_kind_are_left_alone(
    ready: CliRunner, tmp_path: Path, entry: dict[str, Any], extra: tuple[str, ...], says: str
) -> None:
    path = tmp_path / ".mcp.json"
    before = json.dumps({"mcpServers": {"linear": entry}}).encode()
    path.write_bytes(before)
    r = export(ready, "claude-code", path, *extra)
    assert r.code == 2 and says in r.err, r.err
    assert path.read_bytes() == before


def test_var_needed_only_where_something_refers_to_it(ready: CliRunner, tmp_path: Path) -> None:
    for target in ("claude-code", "codex"):
        path = tmp_path / f"{target}.cfg"
        r = export(ready, target, path, "--url", URL, var=False)
        assert r.code == 2 and "--var" in r.err and not path.exists()
        path.write_text("")
        r = export(ready, target, path, var=False)  # remote or stdio is not known yet: same answer
        assert r.code == 2 and "--var" in r.err and path.read_text() == ""
    assert export(ready, "vscode", tmp_path / "vscode.json", "--url", URL, var=False).code == 0


def test_a_token_a_header_cannot_hold() -> None:
    from vault.errors import InvalidInput
    from vault.export.spec import Spec
    from vault.export.targets import render

    for target in ("claude-code", "codex"):
        spec = Spec(target, "gh", server="s", url=URL, plaintext=True)
        with pytest.raises(InvalidInput, match="line break"):
            render(spec, None, "abc\r\nX-Injected: 1", "f")


def test_url_and_header_only_for_mcp_targets(ready: CliRunner) -> None:
    r = ready("export", "dotenv", "--name", "gh", "--var", "V", "--plaintext", "--url", URL)
    assert r.code == 2 and "--url" in r.err and not Path(".env").exists()
    r = ready("export", "shell", "--name", "gh", "--var", "V", "--header", "X")
    assert r.code == 2 and r.out == ""
