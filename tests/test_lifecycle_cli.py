"""``tokendeck refresh``, ``revoke`` and refresh-on-read through ``token`` and ``show``,
in-process against the loopback server: outputs, exit codes, and the vault after."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from tests.support.seeded import seed


@pytest.fixture
def seeded(cli: CliRunner, home: Path, auth_server: AuthServer) -> CliRunner:
    assert cli("init").code == 0
    with vault.open_vault(home) as v:
        seed(v, auth_server, "acme")
        c = seed(v, auth_server, "stale")
        v.records.save(dataclasses.replace(c, expires_at=time.time() - 5))  # expired a moment ago
    return cli


def stored(home: Path, name: str) -> vault.Credential:
    with vault.open_vault(home) as v:
        return v.get(name)


def test_token_refreshes_an_expired_credential(seeded: CliRunner, home: Path, auth_server: AuthServer) -> None:
    before = stored(home, "stale").access_token
    r = seeded("token", "stale")
    assert r.code == 0 and r.err == ""
    assert r.out.strip() != (before.reveal() if before else "")
    assert auth_server.token_state(r.out.strip()) == "active"
    assert auth_server.token_request_count("refresh_token") == 1


def test_show_refreshes_on_read(seeded: CliRunner, auth_server: AuthServer) -> None:
    facts = json.loads(seeded("show", "stale", "--json").out)
    assert facts["status"] == "active" and facts["last_refreshed_at"] is not None
    assert auth_server.token_request_count("refresh_token") == 1


def test_refresh_one_and_due(seeded: CliRunner, auth_server: AuthServer) -> None:
    r = seeded("refresh", "acme")
    assert r.code == 0 and "refreshed acme (expires in" in r.err
    r = seeded("refresh", "--due")
    assert r.code == 0
    assert len(r.out.splitlines()) == 1 and r.out.startswith("stale\trefreshed\texpires in")
    assert "1 refreshed, 0 need sign-in, 0 failed" in r.err
    assert "nothing is due" in seeded("refresh", "--due").err
    assert seeded("refresh", "--due", "--within", "2h").out.count("refreshed") == 2
    assert seeded("refresh").code == 2  # neither a name nor --due


def test_refresh_dead_grant_is_exit_4(seeded: CliRunner, auth_server: AuthServer, home: Path) -> None:
    auth_server.settings.token_response_override = (400, "application/json", b'{"error": "invalid_grant"}')
    r = seeded("token", "stale")
    assert r.code == 4 and "invalid_grant" in r.err and "tokendeck login acme --name stale" in r.err
    assert stored(home, "stale").stored_status == "needs_login"
    r = seeded("refresh", "--due")
    assert r.code == 0 and "nothing is due" in r.err  # needs_login is not retried in a loop
    assert json.loads(seeded("list", "--json").out)[1]["status"] == "needs_login"


def test_static_tokens_cannot_be_refreshed(seeded: CliRunner) -> None:
    seeded("add", "pat", "--provider", "github-pat", stdin="ghp_x")
    r = seeded("refresh", "pat")
    assert r.code == 2 and "static token" in r.err


def test_revoke_needs_confirmation(seeded: CliRunner, home: Path, auth_server: AuthServer) -> None:
    r = seeded("revoke", "acme")
    assert r.code == 2 and "--yes" in r.err
    assert seeded("revoke", "acme", tty=True, answers=["n"]).code == 1
    assert stored(home, "acme").access_token is not None
    access = stored(home, "acme").access_token
    r = seeded("revoke", "acme", "--yes")
    assert r.code == 0 and "revoked acme at acme" in r.err
    assert access is not None and auth_server.token_state(access.reveal()) != "active"
    facts = json.loads(seeded("show", "acme", "--json").out)
    assert facts["status"] == "revoked" and facts["has_refresh_token"] is False
    assert seeded("token", "acme").code == 4


def test_revoke_without_an_endpoint(seeded: CliRunner, home: Path) -> None:
    with vault.open_vault(home) as v:
        registration = v.records.get_client("acme")
        v.records.set_client(dataclasses.replace(registration, base="microsoft", overrides={}))
    r = seeded("revoke", "acme", "--yes")
    assert r.code == 1 and "https://myaccount.microsoft.com/" in r.err and "--local" in r.err
    assert stored(home, "acme").access_token is not None
    r = seeded("revoke", "acme", "--yes", "--local")
    assert r.code == 0 and "erased acme's tokens locally" in r.err
    assert stored(home, "acme").access_token is None
    r = seeded("revoke", "stale", tty=True, answers=["y"])
    assert r.code == 0 and stored(home, "stale").access_token is None
