"""Google signs in through google-auth-oauthlib (the catalog's client_library), here
against the loopback Authlib server standing in for accounts.google.com, and comes
back as ``google.oauth2.credentials.Credentials``."""

from __future__ import annotations

from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from vault.integrations.google import credentials

CLIENT_ID = "1234-desktop.apps.googleusercontent.com"
SECRET = "GOCSPX-loopback-secret"


@pytest.fixture
def google(cli: CliRunner, auth_server: AuthServer, browser_log: Path) -> CliRunner:
    auth_server.register_client(CLIENT_ID, client_secret=SECRET, token_endpoint_auth_method="client_secret_post")
    cli("init")
    r = cli(
        "provider", "add", "google", "--client-id", CLIENT_ID,
        "--authorize-url", auth_server.url("/authorize"), "--token-url", auth_server.url("/token"),
        "--userinfo-url", auth_server.url("/userinfo"), "--scopes", "openid email profile",
        stdin=SECRET + "\n",
    )  # fmt: skip
    assert r.code == 0, r.err
    return cli


def test_google_login_and_credentials(google: CliRunner, auth_server: AuthServer, home: Path) -> None:
    r = google("login", "google")
    assert r.code == 0, r.err
    sent = auth_server.last_authorization_request
    assert sent is not None
    assert sent["access_type"] == "offline" and sent["prompt"] == "consent"  # Google's refresh-token rule
    assert sent["code_challenge_method"] == "S256"
    exchange = [t for t in auth_server.token_requests() if t.grant_type == "authorization_code"][-1]
    assert exchange.auth_method == "client_secret_post" and exchange.has_code_verifier
    with vault.open_vault(home) as v:
        stored = v.get("google")
        assert stored.account == "alice@example.test" and stored.refresh_token is not None
        creds = credentials(v, "google")
    from google.oauth2.credentials import Credentials

    assert isinstance(creds, Credentials)
    assert creds.token == stored.access_token.reveal()  # type: ignore[union-attr]
    assert creds.refresh_token == stored.refresh_token.reveal()
    assert creds.client_id == CLIENT_ID and creds.client_secret == SECRET
    assert creds.token_uri == auth_server.url("/token") and creds.valid


def test_google_error_from_the_token_endpoint(google: CliRunner, auth_server: AuthServer, home: Path) -> None:
    auth_server.settings.token_response_override = (
        400,
        "application/json",
        b'{"error": "invalid_request", "error_description": "client_secret is missing."}',
    )
    r = google("login", "google")
    assert r.code == 1 and "google: invalid_request: client_secret is missing." in r.err
    with vault.open_vault(home) as v:
        assert v.credentials() == []


def test_credentials_refuses_other_providers(google: CliRunner, home: Path) -> None:
    google("add", "pat", "--provider", "github-pat", stdin="ghp_x")
    with vault.open_vault(home) as v, pytest.raises(vault.NotFound):
        credentials(v, "pat")
