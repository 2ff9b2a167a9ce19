"""``tokendeck import gh|dotenv|netrc|token-storage``: what each reads, the plan it shows
(never a secret), all or nothing, names already taken, and shredding only when asked.
Every refusal leaves the vault's records and audit log exactly as they were."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.memory_keyring import MemoryKeyring
from tests.support.original_storage import OriginalTokenStorage
from vault.compat import TokenStorage
from vault.core.repository import Repository

PASS = "correct horse battery staple"
JIRA_URL = "https://jira.example.com"


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str) -> CliRunner:
    """A passphrase vault holding ``github-token`` (which an import may meet again)."""
    assert cli("init", "--passphrase").code == 0
    assert cli("add", "github-token", "--provider", "api-key", stdin="tok-already-here\n").code == 0
    return cli


def state(home: Path) -> tuple[dict[str, tuple[str, str | None, str | None]], list[tuple[str, str]]]:
    """Every credential (provider, account, token) and every audit event (action, outcome)."""
    with vault.open_vault(home, PASS) as v:
        creds = {
            c.name: (c.provider, c.account, c.access_token.reveal() if c.access_token else None)
            for c in v.credentials()
        }
        return creds, [(e.action, e.outcome) for e in v.records.audit_log()]


def no_secrets(r: Any, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in r.out and secret not in r.err


# --------------------------------------------------------------------- dotenv

DOTENV = """\
# tokens for the scripts
export GITHUB_TOKEN=ghp_exported_1
OPENAI_API_KEY="sk-dq \\"quoted\\" end"
ANTHROPIC_API_KEY='sk-ant-$literal'   # single quotes keep $ as it is
BARE=bare-value # a comment after a bare value
EMPTY=
   SPACED = spaced-value
NOT A LINE
"""


def test_dotenv_with_quotes_exports_and_comments(ready: CliRunner, home: Path, tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(DOTENV)
    r = ready("import", "dotenv", str(env), "--yes")
    assert r.code == 0, r.err
    creds, _ = state(home)
    assert creds["github-token"][2] == "tok-already-here"  # taken: kept, not overwritten
    assert creds["anthropic-api-key"] == ("api-key", None, "sk-ant-$literal")
    assert creds["bare"][2] == "bare-value" and creds["spaced"][2] == "spaced-value"
    assert "openai-api-key" not in creds  # a token with spaces: skipped, with the reason
    assert "OPENAI_API_KEY (line 3): the token contains whitespace" in r.err
    assert "EMPTY (line 6): empty" in r.err and "line 8: not a VAR=value line" in r.err
    assert "keep     github-token" in r.err
    no_secrets(r, "ghp_exported_1", "sk-ant-", "bare-value", "spaced-value", "sk-dq")
    assert env.read_text() == DOTENV  # the source is never changed unless asked
    assert "still holds the tokens in plaintext" in r.err


def test_dotenv_replace_and_only(ready: CliRunner, home: Path, tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(DOTENV)
    r = ready("import", "dotenv", str(env), "--only", "GITHUB_TOKEN,BARE", "--replace", "--yes")
    assert r.code == 0, r.err
    creds, _ = state(home)
    assert set(creds) == {"github-token", "bare"} and creds["github-token"][2] == "ghp_exported_1"
    before = state(home)
    r = ready("import", "dotenv", str(env), "--only", "GITHUB_TOKEN,NOT_THERE", "--yes")
    assert r.code == 2 and "not in" in r.err and "NOT_THERE" in r.err
    assert state(home) == before


def test_an_import_asks_or_needs_yes_and_a_dry_run_changes_nothing(
    ready: CliRunner, home: Path, tmp_path: Path
) -> None:
    env = tmp_path / ".env"
    env.write_text("NEW_TOKEN=tok-new\n")
    before = state(home)
    assert ready("import", "dotenv", str(env)).code == 2  # piped: no question to answer
    dry = ready("import", "dotenv", str(env), "--dry-run")
    assert dry.code == 0 and "create   new-token" in dry.err and "dry run" in dry.err
    assert ready("import", "dotenv", str(env), tty=True, answers=["n"]).code == 1
    assert state(home) == before and env.exists()
    r = ready("import", "dotenv", str(env), tty=True, answers=["y", "y"])  # import, then shred
    assert r.code == 0 and "shredded" in r.err and not env.exists()
    assert state(home)[0]["new-token"][2] == "tok-new"


def test_an_import_is_all_or_nothing(
    ready: CliRunner, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("ONE=tok-1\nTWO=tok-2\nTHREE=tok-3\n")
    before = state(home)
    real = Repository.add_static
    calls: list[str] = []

    def fails_on_the_third(self: Repository, name: str, **kw: Any) -> Any:
        calls.append(name)
        if len(calls) == 3:
            raise vault.VaultError("the disk filled up")
        return real(self, name, **kw)

    monkeypatch.setattr(Repository, "add_static", fails_on_the_third)
    r = ready("import", "dotenv", str(env), "--yes")
    assert r.code == 1 and "nothing was imported" in r.err and calls == ["one", "two", "three"]
    assert state(home) == before


# ------------------------------------------------------------------------- gh

HOSTS = """\
github.com:
    git_protocol: https
    users:
        alice:
            oauth_token: gho_alice_in_file
        bob:
    user: alice
    oauth_token: gho_alice_in_file
github.example.com:
    user: carol
    git_protocol: ssh
"""


def test_gh_every_host_and_user_with_keyring_tokens_and_gh_config_dir(
    ready: CliRunner, home: Path, tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gh-config"
    config.mkdir()
    (config / "hosts.yml").write_text(HOSTS)
    monkeypatch.setenv("GH_CONFIG_DIR", str(config))
    memory_keyring.set_password("gh:github.com", "bob", "gho_bob_in_keyring")
    memory_keyring.set_password("gh:github.example.com", "carol", "go-keyring-base64:Z2hwX2Nhcm9sX2VuY29kZWQ=")
    r = ready("import", "gh", "--yes")
    assert r.code == 0, r.err
    creds, _ = state(home)
    assert creds["github-alice"] == ("github-pat", "alice", "gho_alice_in_file")
    assert creds["github-bob"] == ("github-pat", "bob", "gho_bob_in_keyring")
    assert creds["github-example-com-carol"] == ("github-pat", "carol", "ghp_carol_encoded")
    no_secrets(r, "gho_alice", "gho_bob", "ghp_carol")


def test_gh_hosts_with_no_token_anywhere_import_nothing(
    ready: CliRunner, home: Path, tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hosts.yml").write_text("github.com:\n    user: alice\n    users:\n        alice:\n")
    monkeypatch.setenv("GH_CONFIG_DIR", str(tmp_path))
    before = state(home)
    r = ready("import", "gh", "--yes")
    assert r.code == 5 and "nothing to import" in r.err and "github.com user alice: no token" in r.err
    assert state(home) == before
    (tmp_path / "hosts.yml").write_text("github.com: [unclosed\n")
    r = ready("import", "gh", "--yes")
    assert r.code == 2 and "not YAML" in r.err and "Traceback" not in r.err
    r = ready("import", "gh", "--file", str(tmp_path / "missing.yml"))
    assert r.code == 5 and "no file at" in r.err
    assert state(home) == before


# ---------------------------------------------------------------------- netrc

NETRC = """\
machine api.example.com login alice password pw-alice
machine git.example.org
    login bob
    password pw-bob
machine nopass.example.net login carol
macdef init
    cd /pub
    binary

default login anonymous password guest@example.com
"""


def test_netrc_one_per_machine_with_default_and_macdefs_reported(
    ready: CliRunner, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(NETRC)
    monkeypatch.setenv("NETRC", str(netrc))
    r = ready("import", "netrc", "--yes", "--shred")
    assert r.code == 0, r.err
    creds, _ = state(home)
    assert creds["api-example-com"] == ("api-key", "alice", "pw-alice")
    assert creds["git-example-org"] == ("api-key", "bob", "pw-bob")
    assert "nopass-example-net" not in creds and "default" not in creds and "anonymous" not in str(creds)
    assert "skip     default:" in r.err and "skip     macdef init" in r.err and "no password" in r.err
    assert not netrc.exists()  # --shred
    no_secrets(r, "pw-alice", "pw-bob", "guest@example.com")


def test_a_broken_netrc_changes_nothing(ready: CliRunner, home: Path, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine a.example login x password pw-x\nbogus here\n")
    before = state(home)
    r = ready("import", "netrc", str(netrc), "--yes")
    assert r.code == 2 and "not a netrc file" in r.err and len(r.err.strip().splitlines()) == 1
    assert state(home) == before and netrc.exists()


# -------------------------------------------------------------- token-storage


def _naive(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def test_token_storage_migrates_into_the_records_the_compat_class_reads(
    ready: CliRunner, home: Path, tmp_path: Path
) -> None:
    from google.oauth2.credentials import Credentials

    db = tmp_path / "tokens.db"
    original = OriginalTokenStorage(db, lambda: _naive(1_700_000_000))
    assert original.upsert_jira_token("alice", "jira-pat-alice", JIRA_URL, "alice")
    assert original.upsert_jira_token("bob@example.com", "jira-pat-bob", JIRA_URL, "bob")
    drive = Credentials(
        token="ya29.drive-access",
        refresh_token="1//drive-refresh",
        token_uri="https://oauth2.googleapis.com/token",
        client_id="client-1.apps.googleusercontent.com",
        client_secret="drive-client-secret",
        scopes=["https://www.googleapis.com/auth/drive.file"],
    )
    assert original.upsert_gdrive_token("carol", drive)
    original.close()
    before = db.read_bytes()
    r = ready("import", "token-storage", str(db), "--yes")
    assert r.code == 0, r.err
    assert "jira-user-alice" in r.err and "gdrive-user-carol" in r.err
    no_secrets(r, "jira-pat", "ya29", "1//drive", "drive-client-secret")
    assert db.read_bytes() == before
    with vault.open_vault(home, PASS) as v:
        storage = TokenStorage(db_file=db, vault=v)  # the file is marked imported: not read again
        assert storage.list_users_with_jira_tokens() == ["alice", "bob@example.com"]
        jira = storage.get_jira_token("bob@example.com")
        assert jira is not None and jira["token"] == "jira-pat-bob" and jira["created_at"] == _naive(1_700_000_000)
        carol = storage.get_gdrive_credentials("carol")
        assert carol is not None and carol.refresh_token == "1//drive-refresh"
    again = ready("import", "token-storage", str(db), "--yes")
    assert again.code == 0 and "nothing new to import" in again.err


def test_a_token_storage_imports_the_odd_rows_the_compat_class_would_and_skips_only_the_rest(
    ready: CliRunner, home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The rows the original stored though they are odd (an empty token, a token with a space,
    an empty server_url, a Drive row without a client id) are imported as vault.compat stores
    them, each saying so in the plan; a token over 64 KiB is skipped, and a file holding only
    such rows changes nothing."""
    db = tmp_path / "tokens.db"
    OriginalTokenStorage(db, lambda: _naive(1_700_000_000)).close()
    conn = sqlite3.connect(db)
    rows = [
        ("alice", "", JIRA_URL),
        ("dave", "two words", JIRA_URL),
        ("erin", "jira-pat-erin", ""),
        ("", "jira-pat-x", JIRA_URL),
    ]
    conn.executemany("INSERT INTO jira_tokens (user_id, token, server_url) VALUES (?, ?, ?)", rows)
    conn.execute("INSERT INTO jira_tokens (user_id, token, server_url) VALUES ('carol', ?, ?)", ("x" * 65537, JIRA_URL))
    conn.execute("INSERT INTO gdrive_tokens (user_id, token, refresh_token) VALUES ('bob', 'ya29.bob', '1//bob')")
    conn.commit()
    conn.close()
    r = ready("import", "token-storage", str(db), "--yes")
    assert r.code == 0, r.err
    plan = {line.split()[1]: line for line in r.err.splitlines() if line.startswith("  create")}
    assert sorted(plan) == ["gdrive-user-bob", "jira-user---", "jira-user-alice", "jira-user-dave", "jira-user-erin"]
    assert "the token is empty" in plan["jira-user-alice"] and "whitespace" in plan["jira-user-dave"]
    assert "server_url is empty" in plan["jira-user-erin"] and "no client id" in plan["gdrive-user-bob"]
    assert "skip     jira_tokens row 5: the token is 65537 bytes" in r.err
    assert not [m for m in caplog.messages if m.startswith("TokenStorage: imported")]  # the plan said it: once
    no_secrets(r, "two words", "ya29.bob", "1//bob", "jira-pat")
    with vault.open_vault(home, PASS) as v:
        storage = TokenStorage(db_file=db, vault=v)  # marked imported: not read again
        assert storage.list_users_with_jira_tokens() == ["", "alice", "dave", "erin"]
        assert [storage.get_jira_token(u)["token"] for u in ("alice", "dave")] == ["", "two words"]  # type: ignore[index]
        assert [v.get(n).stored_status for n in ("jira-user-alice", "jira-user-dave", "jira-user-erin")] == [
            "error",
            "error",
            "active",
        ]
        bob = storage.get_gdrive_credentials("bob")
        assert bob is not None and (bob.token, bob.refresh_token, bob.client_id) == ("ya29.bob", "1//bob", None)

    only_too_long = tmp_path / "only.db"
    OriginalTokenStorage(only_too_long, lambda: _naive(1_700_000_000)).close()
    conn = sqlite3.connect(only_too_long)
    conn.execute("INSERT INTO jira_tokens (user_id, token, server_url) VALUES ('carol', ?, ?)", ("x" * 65537, JIRA_URL))
    conn.commit()
    conn.close()
    before = state(home)
    r = ready("import", "token-storage", str(only_too_long), "--yes")
    assert r.code == 5 and "nothing to import" in r.err and "65537 bytes" in r.err
    assert state(home) == before
    (tmp_path / "not.db").write_text("not sqlite at all")
    r = ready("import", "token-storage", str(tmp_path / "not.db"), "--yes")
    assert r.code == 2 and "not a TokenStorage database" in r.err
    assert state(home) == before
