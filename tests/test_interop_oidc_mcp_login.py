"""Issue 29: ``tokendeck login --mcp`` against an MCP server whose authorization server is a
certified OpenID provider (panva's ``oidc-provider``, pinned) with open dynamic registration,
rotating refresh tokens and 20-second access tokens; the MCP server checks every token by
introspection at that provider (:mod:`tests.support.oidc_mcp`).  Before issue 29 the
registration carried no ``application_type``, oidc-provider made tokendeck a web client, and
the browser landed on ``invalid_redirect_uri``."""

from __future__ import annotations

from pathlib import Path

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.oidc_mcp import RESOURCE_SCOPE, OidcMcpServer
from tests.test_interop_oidc_mcp import call_echo
from vault.core.secret import Secret

PASS = "correct horse battery staple"


@pytest.fixture
def ready(cli: CliRunner, home: Path, browser_log: Path, passphrase_env: str) -> CliRunner:
    assert cli("init", "--passphrase").code == 0
    return cli


def stored(home: Path, name: str = "tools") -> vault.Credential:
    with vault.open_vault(home, PASS) as v:
        return v.get(name)


def test_login_mcp_registers_as_a_native_app_and_signs_in(
    ready: CliRunner, home: Path, oidc_mcp_server: OidcMcpServer
) -> None:
    provider = oidc_mcp_server.provider
    r = ready("login", "--mcp", oidc_mcp_server.url, "--name", "tools")
    assert r.code == 0, r.err
    assert f"signed in to {oidc_mcp_server.url}; stored as tools" in r.err
    assert "http_403" not in r.err and "account" not in r.err  # no userinfo call with the resource's token
    (registered,) = provider.requests("registration")
    assert registered["status"] == 201 and registered["application_type"] == "native"
    assert registered["token_endpoint_auth_method"] == "none"
    (asked,) = provider.requests("authorization")
    assert asked["resource"] == oidc_mcp_server.url and asked["prompt"] == "consent"
    # The resource's scopes_supported, and offline_access, which the provider lists (SEP-2207).
    assert asked["scope"].split() == [RESOURCE_SCOPE, "offline_access"]
    credential = stored(home)
    assert credential.extras["mcp_url"] == oidc_mcp_server.url and credential.access_token is not None
    assert call_echo(oidc_mcp_server.url, credential.access_token, "hello") == "hello"
    assert oidc_mcp_server.seen.accepted[-1]["aud"] == oidc_mcp_server.url


def test_refresh_rotates_with_the_resource_and_the_new_token_works(
    ready: CliRunner, home: Path, oidc_mcp_server: OidcMcpServer
) -> None:
    provider = oidc_mcp_server.provider
    assert ready("login", "--mcp", oidc_mcp_server.url, "--name", "tools").code == 0
    first = stored(home)
    if first.refresh_token is None:
        pytest.fail("no refresh token: offline_access was not asked for or not granted")
    assert ready("refresh", "tools").code == 0
    second = stored(home)
    assert second.refresh_token is not None and second.refresh_token.reveal() != first.refresh_token.reveal()
    (refresh,) = provider.requests("token", grant_type="refresh_token")
    assert refresh["status"] == 200 and refresh["resource"] == oidc_mcp_server.url
    assert second.access_token is not None
    assert call_echo(oidc_mcp_server.url, Secret(second.access_token.reveal()), "again") == "again"
    assert provider.log()["revoked_grants"] == 0  # nothing was ever replayed


def test_a_two_minute_bridge_session_over_20_second_rotating_tokens_has_no_failed_call(
    ready: CliRunner, home: Path, oidc_mcp_server: OidcMcpServer, tmp_path: Path
) -> None:
    """Real time, as issue 29 asks: a call every 2 s for 2 minutes through ``mcp-bridge``, with
    the agent running (started with the passphrase; the bridge has none), oidc-provider's
    access tokens living 20 s and its refresh tokens rotating, a replay revoking the grant."""
    import os
    import subprocess

    import anyio

    from tests.support.bridge import TOKENDECK, echo_for

    provider = oidc_mcp_server.provider
    assert provider.access_token_ttl == 20
    assert ready("login", "--mcp", oidc_mcp_server.url, "--name", "tools").code == 0
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop("TOKENDECK_NO_AGENT", None)
    assert subprocess.run([TOKENDECK, "agent", "start"], env=env, timeout=60).returncode == 0
    bridge_env = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}  # only the agent has the key
    try:
        calls, failures = anyio.run(echo_for, bridge_env, tmp_path / "bridge.err")
    finally:
        subprocess.run([TOKENDECK, "agent", "stop"], env=env, timeout=60)
    assert failures == [] and calls >= 50
    refreshes = provider.requests("token", grant_type="refresh_token")
    assert 4 <= len(refreshes) <= 9, len(refreshes)  # about one per 20 s lifetime, ahead of expiry
    assert [r["status"] for r in refreshes] == [200] * len(refreshes)
    assert provider.log()["revoked_grants"] == 0  # never a replayed refresh token
    assert oidc_mcp_server.seen.refused == 0  # no call ever went out with a stale token
    said = (tmp_path / "bridge.err").read_text()
    assert "Traceback" not in said and "refused" not in said
