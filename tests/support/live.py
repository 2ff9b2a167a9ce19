"""Real processes on a vault made by the CLI at the shipped KDF cost, and a 20-second grant
from the loopback authorization server: what the live TUI and agent tests share."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.test_agent_cli import tokendeck
from vault.oauth.discovery import discover

PASS = "live tui passphrase"
CLIENT_ID = "tokendeck-live"
LIFETIME = 20
"""Seconds an access token from the loopback server lives in these tests."""


@pytest.fixture
def live_env(home: Path) -> Iterator[dict[str, str]]:
    """A passphrase vault made by the CLI (at the shipped KDF cost, which its ``vault.json``
    records), and the environment of its processes."""
    environment = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    assert tokendeck(environment, "init", "--passphrase").returncode == 0
    assert tokendeck(environment, "add", "gh", "--provider", "github-pat", stdin="ghp_live").returncode == 0
    yield environment
    tokendeck(environment, "agent", "stop")


def sign_in_acme(home: Path, server: AuthServer) -> None:
    """The loopback server registered as ``acme`` and a fresh 20-second grant stored as ``acme``,
    written by a connection of its own (as another process would)."""
    server.settings.access_token_lifetime = LIFETIME
    server.register_client(CLIENT_ID)
    issued = server.issue_token(CLIENT_ID)
    with vault.open_vault(home, PASS) as v:
        overrides = discover("acme", server.issuer)
        v.records.set_client(
            vault.ClientRegistration(provider="acme", base="oidc", client_id=CLIENT_ID, overrides=overrides)
        )
        now = time.time()
        v.records.save(
            vault.Credential(
                name="acme",
                provider="acme",
                kind="oauth",
                account="alice@example.test",
                access_token=vault.Secret(issued["access_token"]),
                refresh_token=vault.Secret(issued["refresh_token"]),
                expires_at=now + LIFETIME,
                created_at=now,
                updated_at=now,
            )
        )
