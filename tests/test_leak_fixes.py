"""Which fixes fit what ``tokendeck scan`` found (vault/services/leak_fixes.py), and the file
edits behind them (vault/services/leak_files.py): the one place ``scan --fix`` and the TUI's
Leaks screen ask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from vault.errors import InvalidInput
from vault.services import leak_files, leak_fixes
from vault.services.leak_fixes import Facts
from vault.services.scanning import Finding

SECRET = "sk-live-0123456789abcdef"


def holds(text: str) -> bool:
    return SECRET in text


def found(path: str, *, live: bool = True, line: int = 1, git: str = "", credential: str = "gh") -> Finding:
    return Finding(credential, "static token", live, "raw", path, line, git, "f.env" if git else "")


STATIC = Facts("gh", "static", "github-pat", token_page="https://example.test/new", revoke_page="https://example.test")


def test_a_static_token_is_replaced_and_each_file_gets_its_own_fix() -> None:
    fixes = leak_fixes.fixes_for(
        STATIC,
        [
            found("/h/.bash_history", line=3),
            found("/h/.bash_history", line=9),
            found("/h/app/.env", line=2),
            found("/h/.cursor/mcp.json", line=6),
            found("/h/repo", git="3f2a9c01d4e5aa"),
            found("/h/.claude/projects/x.jsonl"),
        ],
    )
    assert [(f.action, f.path, f.lines) for f in fixes] == [
        ("rotate", "", ()),
        ("scrub", "/h/.bash_history", (3, 9)),
        ("remove", "/h/app/.env", (2,)),
        ("rewrite", "/h/.cursor/mcp.json", (6,)),
        ("advice", "/h/repo", ()),
        ("advice", "/h/.claude/projects/x.jsonl", ()),
    ]
    assert "https://example.test/new" in fixes[0].note
    assert fixes[3].target == "cursor" and "tokendeck exec -e VAR=gh" in fixes[2].note
    assert [f.asks for f in fixes] == [True, True, True, True, False, False]


def test_an_oauth_credential_is_revoked_where_it_can_be_else_refreshed_where_that_kills_the_leak() -> None:
    live = [found("/h/.env", credential="acme")]
    revocable = Facts("acme", "oauth", "acme", revocable=True, rotates_refresh=True)
    assert leak_fixes.fixes_for(revocable, live)[0].action == "revoke"
    rotating = Facts("acme", "oauth", "acme", rotates_refresh=True)
    refresh = leak_fixes.fixes_for(rotating, live)[0]
    assert refresh.action == "refresh" and "access token lives until its expiry" in refresh.note
    neither = Facts("acme", "oauth", "acme")
    assert [f.action for f in leak_fixes.fixes_for(neither, live)] == ["remove"]


def test_old_copies_get_no_fix() -> None:
    assert leak_fixes.fixes_for(STATIC, [found("/h/.bash_history", live=False)]) == []


def test_findings_grouped_live_first() -> None:
    groups = leak_fixes.by_credential([found("/a", live=False, credential="aa"), found("/b", credential="zz")])
    assert [name for name, _ in groups] == ["zz", "aa"]


def test_a_dotenv_line_is_removed_and_nothing_else(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"A=1\nTOKEN={SECRET}\nB=2\n")
    plan = leak_files.plan_line_removal(env, [2], holds)
    leak_files.write_unchanged(plan)
    assert env.read_text() == "A=1\nB=2\n"


def test_a_line_that_no_longer_holds_it_refuses_the_plan(tmp_path: Path) -> None:
    history = tmp_path / ".bash_history"
    history.write_text(f"ls\necho {SECRET}\n")
    with pytest.raises(InvalidInput, match="changed since the scan"):
        leak_files.plan_history(history, [1], holds)
    assert leak_files.plan_history(history, [2], holds).removed == 1


def test_a_file_changed_after_the_plan_is_left_untouched(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"TOKEN={SECRET}\n")
    plan = leak_files.plan_line_removal(env, [1], holds)
    env.write_text(f"TOKEN={SECRET}\nMORE=1\n")
    with pytest.raises(InvalidInput, match="changed since the scan"):
        leak_files.write_unchanged(plan)
    assert env.read_text() == f"TOKEN={SECRET}\nMORE=1\n"


def test_the_mcp_entry_holding_it_is_found_env_or_header(tmp_path: Path) -> None:
    config = tmp_path / ".mcp.json"
    stdio = {"command": "npx", "env": {"API_KEY": SECRET}}
    remote = {"url": "https://mcp.example.test/mcp", "headers": {"Authorization": f"Bearer {SECRET}"}}
    config.write_text(json.dumps({"mcpServers": {"s": stdio}}))
    assert leak_files.mcp_spec(config, "claude-code", "gh", holds) == {
        "target": "claude-code", "name": "gh", "server": "s", "var": "API_KEY",
    }  # fmt: skip
    config.write_text(json.dumps({"mcpServers": {"r": remote}}))
    spec = leak_files.mcp_spec(config, "claude-code", "my-gh", holds)
    assert (spec["server"], spec["var"], spec["header"]) == ("r", "MY_GH_TOKEN", "Authorization")
    config.write_text(json.dumps({"mcpServers": {}, "note": SECRET}))
    with pytest.raises(InvalidInput, match="edit the file yourself"):
        leak_files.mcp_spec(config, "claude-code", "gh", holds)


def test_the_vault_says_what_fits_and_a_refresh_kills_the_leaked_refresh_token(
    home: Path, auth_server: AuthServer
) -> None:
    from vault.services import commands

    with vault.init_vault(home, mode="keyring") as v:
        v.records.add_static("gh", provider="github-pat", token="ghp_0123456789abcdef")
        acme = seed(v, auth_server, "acme")
        assert acme.refresh_token is not None
        leaked = acme.refresh_token.reveal()
        facts = json.loads(commands.run(v, "leak-facts", json.dumps({"names": ["gh", "acme", "gone"]})).data)
        assert set(facts) == {"gh", "acme"}
        assert facts["gh"]["kind"] == "static" and "github.com" in str(facts["gh"]["token_page"])
        assert facts["acme"]["revocable"] is True
        commands.run(v, "leak-refresh", json.dumps({"name": "acme", "path": "/h/.env"}))
        assert auth_server.token_state(leaked) != "active"  # the server rotates refresh tokens
        rows = [(e.outcome, e.credential, e.detail) for e in v.records.audit_log(actions=["scan-fix"])]
        assert rows == [("refreshed", "acme", "path=/h/.env")]


def test_a_codex_config_entry_is_rewritten_to_read_it_from_the_environment(home: Path, tmp_path: Path) -> None:
    from vault.services import file_commands

    config = tmp_path / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        '# my servers\n[mcp_servers.api]\nurl = "https://mcp.example.test/mcp"\n\n'
        f'[mcp_servers.api.http_headers]\nAuthorization = "Bearer {SECRET}"\n'
    )
    assert leak_fixes.mcp_target(str(config)) == "codex"
    spec = leak_files.mcp_spec(config, "codex", "api", holds)
    assert (spec["server"], spec["var"], spec["header"]) == ("api", "API_TOKEN", "Authorization")
    with vault.init_vault(home, mode="keyring") as v:
        v.records.add_static("api", provider="api-key", token=SECRET)
        done = file_commands.export(v, spec=spec, path=str(config))
    assert done.code == 0, done.err
    text = config.read_text()
    assert SECRET not in text and 'bearer_token_env_var = "API_TOKEN"' in text and "# my servers" in text
