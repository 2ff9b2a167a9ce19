"""``tokendeck verify`` (issue 33, item 7) against real HTTP servers on 127.0.0.1: a stand-in
for GitHub's ``/user`` (the registration's identity URL moved to loopback, as
``provider add --identity-url`` does) and the project's Authlib server's ``/userinfo``.

What happens to the vault is said in each test: a refused token's credential becomes
``revoked`` with ``revoked at the provider`` as its last error (tokens kept), an accepted
one and one that could not be checked are left as they were; every check sent is audited,
never with the token.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from tests.support.json_handler import JsonHandler, serving
from tests.support.seeded import CLIENT_ID, seed

LIVE, DEAD, FLAKY = "gho_live_token_0001", "gho_dead_token_0002", "gho_flaky_token_003"


class GitHubUser(JsonHandler):
    """GitHub's ``GET /user``: 200 with ``X-OAuth-Scopes`` for :data:`LIVE`, 401 for
    :data:`DEAD`, 503 for :data:`FLAKY` (and 401 for anything else)."""

    seen: list[str]

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.seen.append(self.path)
        if self.path != "/user":
            self.send_json({"message": "Not Found"}, 404)
        elif auth == f"Bearer {LIVE}":
            body = json.dumps({"login": "octocat", "id": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-OAuth-Scopes", "repo, gist")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif auth == f"Bearer {FLAKY}":
            self.send_json({"message": "Service Unavailable"}, 503)
        else:
            self.send_json({"message": "Bad credentials"}, 401)


@pytest.fixture
def github() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    with serving(type("Handler", (GitHubUser,), {"seen": seen})) as url:
        yield url, seen


@pytest.fixture
def three(cli: CliRunner, home: Path, passphrase_env: str, github: tuple[str, list[str]]) -> CliRunner:
    """A vault with three GitHub OAuth App credentials (tokens that do not expire) whose
    registration asks the loopback ``/user``."""
    assert cli("init").code == 0
    added = cli("provider", "add", "gh", "--base", "github", "--client-id", "cid",
                "--identity-url", f"{github[0]}/user", stdin="a-client-secret\n")  # fmt: skip
    assert added.code == 0, added.err
    now = time.time()
    with vault.open_vault(home, passphrase_env) as v:
        for name, token in (("live", LIVE), ("dead", DEAD), ("flaky", FLAKY)):
            v.records.save(
                vault.Credential(name=name, provider="gh", kind="oauth", account="octocat",
                                 access_token=vault.Secret(token), scopes=("repo",), created_at=now, updated_at=now)
            )  # fmt: skip
    return cli


def stored(home: Path, passphrase: str, name: str) -> vault.Credential:
    with vault.open_vault(home, passphrase) as v:
        return v.get(name)


def test_verify_marks_the_refused_token_revoked_and_leaves_the_others(
    three: CliRunner, home: Path, passphrase_env: str, github: tuple[str, list[str]]
) -> None:
    """Vault after: ``dead`` revoked (tokens kept, last error "revoked at the provider"),
    ``live`` and ``flaky`` active and unchanged; three audit entries, none with a token."""
    r = three("verify")
    assert r.code == 4, r.err  # one refused
    lines = {line.split("\t")[0]: line.split("\t")[1:] for line in r.out.splitlines()}
    assert lines["live"] == [
        "ok",
        "accepted by " + github[0].removeprefix("http://") + " as octocat; scopes: repo, gist",
    ]
    assert lines["dead"][0] == "revoked at provider" and "HTTP 401" in lines["dead"][1]
    assert lines["flaky"][0] == "could not check" and "HTTP 503" in lines["flaky"][1]
    assert "1 ok, 1 revoked at provider, 1 could not check" in r.err
    assert github[1].count("/user") == 3

    listed = {row["name"]: row for row in json.loads(three("list", "--json").out)}
    assert [listed[n]["status"] for n in ("dead", "flaky", "live")] == ["revoked", "active", "active"]
    table = three("list").out
    assert any(line.startswith("dead") and "revoked" in line for line in table.splitlines())
    shown = json.loads(three("show", "dead", "--json").out)
    assert shown["status"] == "revoked" and shown["last_error"].startswith("revoked at the provider: ")
    assert "revoked at the provider" in three("show", "dead").out
    dead = stored(home, passphrase_env, "dead")
    assert dead.stored_status == "revoked" and dead.access_token is not None  # kept: verify erases nothing
    assert stored(home, passphrase_env, "flaky").last_error is None
    assert three("token", "dead").code == 4

    audit = three("audit", "--json").out
    events = [e for e in json.loads(audit) if e["action"] == "verify"]
    assert sorted((e["credential"], e["outcome"]) for e in events) == [
        ("dead", "revoked"), ("flaky", "could_not_check"), ("live", "ok"),
    ]  # fmt: skip
    for token in (LIVE, DEAD, FLAKY):
        assert token not in audit and token not in r.out and token not in r.err


def test_verify_names_json_and_exit_7(three: CliRunner, home: Path, passphrase_env: str) -> None:
    """Vault after: unchanged but for two audit entries (``live`` ok, ``flaky`` could not check)."""
    r = three("verify", "live", "--json")
    assert r.code == 0, r.err
    (found,) = json.loads(r.out)
    assert found == {
        "name": "live", "provider": "gh", "outcome": "ok", "detail": found["detail"], "account": "octocat",
        "scopes": ["repo", "gist"], "status": "active",
    }  # fmt: skip
    r = three("verify", "live", "flaky")
    assert r.code == 7 and "1 ok, 1 could not check" in r.err
    assert stored(home, passphrase_env, "flaky").stored_status == "active"


def test_verify_bad_names_change_nothing(three: CliRunner, github: tuple[str, list[str]]) -> None:
    """Vault after: unchanged, nothing sent (an unknown name is found before any check)."""
    r = three("verify", "live", "nope")
    assert r.code == 5 and "nope" in r.err and r.out == ""
    assert three("verify", "bad name").code == 2
    assert github[1] == []


def test_a_later_accepted_check_makes_it_active_again(
    three: CliRunner, home: Path, passphrase_env: str, github: tuple[str, list[str]]
) -> None:
    """Vault after: ``dead`` revoked by the first verify, active again after the second
    (its token was accepted: the 401 was the provider's mistake)."""
    assert three("verify", "dead").code == 4
    with vault.open_vault(home, passphrase_env) as v:  # the server now accepts what it holds
        v.records.save(dataclasses.replace(v.get("dead"), access_token=vault.Secret(LIVE)))
    r = three("verify", "dead")
    assert r.code == 0, r.err
    assert stored(home, passphrase_env, "dead").status_at(time.time()) == "active"


def test_what_cannot_or_need_not_be_checked(three: CliRunner, home: Path, passphrase_env: str) -> None:
    """Vault after: unchanged; nothing sent for an API key, an expired token or an erased one."""
    assert three("add", "key", "--provider", "api-key", stdin="sk-abcdefgh\n").code == 0
    with vault.open_vault(home, passphrase_env) as v:
        v.records.save(dataclasses.replace(v.get("live"), name="old", expires_at=time.time() - 60))
        v.records.erase_secrets("flaky")
    r = three("verify", "key", "old", "flaky")
    lines = {line.split("\t")[0]: line.split("\t")[1:] for line in r.out.splitlines()}
    assert lines["key"] == ["cannot check", "cannot check (no check known for this provider)"]
    assert lines["old"] == ["not checked", "expired (not checked)"]
    assert lines["flaky"] == ["not checked", "revoked; its tokens are erased"]
    assert r.code == 0  # nothing refused, nothing failed to answer


# ------------------------------------------------------------------ OIDC: the Authlib server's userinfo


@pytest.fixture
def oidc(cli: CliRunner, home: Path, auth_server: AuthServer) -> CliRunner:
    assert cli("init").code == 0
    with vault.open_vault(home) as v:
        seed(v, auth_server, "acme")
        seed(v, auth_server, "gone")
        c = seed(v, auth_server, "stale")
        v.records.save(dataclasses.replace(c, expires_at=time.time() - 5))
    return cli


def test_oidc_userinfo(oidc: CliRunner, home: Path, auth_server: AuthServer) -> None:
    """Vault after: ``gone`` (its grant revoked at the server) revoked, ``acme`` active;
    ``stale`` (expired) not checked at first, then refreshed and checked with --refresh."""
    with vault.open_vault(home) as v:
        token = v.get("gone").access_token
    assert token is not None
    answer = httpx2.post(auth_server.url("/revoke"), data={"token": token.reveal(), "client_id": CLIENT_ID})
    assert answer.status_code == 200 and auth_server.token_state(token.reveal()) == "revoked"

    r = oidc("verify")
    assert r.code == 4, r.err
    lines = {line.split("\t")[0]: line.split("\t")[1:] for line in r.out.splitlines()}
    assert lines["acme"][0] == "ok" and "as alice" in lines["acme"][1]
    assert lines["gone"][0] == "revoked at provider"
    assert lines["stale"] == ["not checked", "expired (not checked); --refresh renews it first"]
    with vault.open_vault(home) as v:
        assert v.get("gone").stored_status == "revoked" and v.get("acme").stored_status == "active"

    r = oidc("verify", "stale", "--refresh")
    assert r.code == 0, r.err
    assert auth_server.token_request_count("refresh_token") == 1
    assert json.loads(oidc("show", "stale", "--json").out)["status"] == "active"
