"""The Python API for programs and agents: get_token, an httpx.Auth that refreshes
once on 401, and Google credentials whose refreshes go through the vault."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import httpx
import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.seeded import CLIENT_ID, seed

PASS = "api passphrase"


@pytest.fixture
def home_with_acme(home: Path, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", PASS)
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        seed(v, auth_server, "acme")
    return home


def test_get_token_is_fresh(home_with_acme: Path, auth_server: AuthServer) -> None:
    with vault.open_vault(home_with_acme) as v:
        c = v.get("acme")
        v.records.save(dataclasses.replace(c, expires_at=time.time() - 1))
        old = c.access_token.reveal() if c.access_token else ""
    token = vault.get_token("acme")
    assert token != old and auth_server.token_state(token) == "active"
    assert vault.get_token("acme") == token  # no second refresh
    assert auth_server.token_request_count("refresh_token") == 1


def test_httpx_auth_refreshes_once_on_401(home_with_acme: Path, auth_server: AuthServer) -> None:
    with vault.open_vault(home_with_acme) as v:
        stale = v.token("acme")
    httpx.post(auth_server.url("/revoke"), data={"token": stale, "token_type_hint": "access_token",
                                                 "client_id": CLIENT_ID})  # fmt: skip
    assert auth_server.token_state(stale) != "active"
    auth = vault.httpx_auth("acme")
    with httpx.Client(auth=auth) as client:
        answer = client.get(auth_server.url("/userinfo"))
    assert answer.status_code == 200 and answer.json()["email"] == "alice@example.test"
    assert auth_server.token_request_count("refresh_token") == 1
    assert vault.get_token("acme") != stale
    assert "acme" in repr(auth) and stale not in repr(auth)


def test_httpx_auth_gives_up_after_one_retry(home_with_acme: Path, auth_server: AuthServer) -> None:
    calls: list[str] = []

    def always_401(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        return httpx.Response(401)

    with httpx.Client(auth=vault.httpx_auth("acme"), transport=httpx.MockTransport(always_401)) as client:
        assert client.get("https://api.example.test/me").status_code == 401
    assert len(calls) == 2 and calls[0] != calls[1]  # a new token for the one retry


def test_httpx2_auth_is_the_same_auth_for_httpx2_programs(home_with_acme: Path, auth_server: AuthServer) -> None:
    """The auth for programs on httpx2 (what tokendeck installs): the same fresh token, the
    same one refresh and retry on 401."""
    import httpx2

    from vault.integrations.httpx2_auth import VaultAuth

    with vault.open_vault(home_with_acme) as v:
        stale = v.token("acme")
    httpx.post(auth_server.url("/revoke"), data={"token": stale, "token_type_hint": "access_token",
                                                 "client_id": CLIENT_ID})  # fmt: skip
    with httpx2.Client(auth=VaultAuth("acme")) as client:
        answer = client.get(auth_server.url("/userinfo"))
    assert answer.status_code == 200 and answer.json()["email"] == "alice@example.test"
    assert auth_server.token_request_count("refresh_token") == 1
    calls: list[str] = []

    def always_401(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.headers["authorization"])
        return httpx2.Response(401)

    with httpx2.Client(auth=VaultAuth("acme"), transport=httpx2.MockTransport(always_401)) as client:
        assert client.get("https://api.example.test/me").status_code == 401
    assert len(calls) == 2 and calls[0] != calls[1]


def test_google_credentials_refresh_through_the_vault(
    home: Path, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", PASS)
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        seed(v, auth_server, "g")
        registration = v.records.get_client("acme")
        # google-auth-oauthlib's catalog entry, pointed at the loopback server's endpoints
        v.records.set_client(dataclasses.replace(registration, provider="google-loop", base="google"))
        c = v.get("g")
        v.records.save(dataclasses.replace(c, provider="google-loop", expires_at=time.time() - 1))
    creds = vault.google_credentials("g")
    assert creds.valid  # it was expired: loading refreshed it on read
    first = creds.token
    creds.refresh(None)  # what google-auth does when a token expires in use
    assert creds.valid and creds.token != first and auth_server.token_state(creds.token) == "active"
    with vault.open_vault(home) as v:
        stored = v.get("g")
    assert stored.access_token is not None and stored.access_token.reveal() == creds.token  # written back
    assert stored.refresh_token is not None and stored.refresh_token.reveal() == creds.refresh_token
    assert auth_server.token_request_count("refresh_token") == 2  # on read, then the forced one
