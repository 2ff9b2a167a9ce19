"""Issue 29: which client ``tokendeck login --mcp`` signs in with, against the loopback
Authlib authorization server (the conformance suite's scenarios check the same rules against
servers nobody on the team wrote: tests/test_interop_conformance.py).

In the MCP authorization spec's order: a pre-registered client (its secret from stdin, never
argv), a client ID metadata document, the registration that worked before with the same
authorization server, dynamic registration as a native app honouring what the answer says.
A registration is stored only with the credential of a sign-in that succeeded with it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from tests.test_mcp_discovery import metadata, resource_server


def state(home: Path) -> tuple[list[tuple[str, str | None]], list[tuple[str, str, bool]]]:
    """Every credential (name, server URL) and registration (provider, client id, has secret)."""
    with vault.open_vault(home) as v:
        return (
            [(c.name, c.extras.get("mcp_url")) for c in v.credentials()],
            [(r.provider, r.client_id, r.client_secret is not None) for r in v.records.clients()],
        )


@pytest.fixture
def issuer_of(auth_server: AuthServer) -> dict[str, str]:
    """The authorization server the MCP server's metadata names (a test may change it)."""
    return {"issuer": auth_server.issuer}


@pytest.fixture
def mcp_server(auth_server: AuthServer, issuer_of: dict[str, str]) -> Iterator[str]:
    def docs(base: str) -> dict[str, Any]:
        return {"/.well-known/oauth-protected-resource/mcp": metadata(base, issuer_of["issuer"], scopes_supported=[])}

    with resource_server(docs, challenge=lambda base: 'Bearer scope="read"') as base:
        auth_server.settings.dynamic_registration = True
        auth_server.settings.resource_indicators = (f"{base}/mcp",)
        yield f"{base}/mcp"


@pytest.fixture
def ready(cli: CliRunner, home: Path, browser_log: Path) -> CliRunner:
    assert cli("init").code == 0
    return cli


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_server_that_registers_a_confidential_client_is_answered_with_its_secret_and_method(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer, method: str
) -> None:
    auth_server.settings.registration_auth_method = method
    r = ready("login", "--mcp", mcp_server, "--name", "tools")
    assert r.code == 0, r.err
    (asked,) = auth_server.registrations()
    assert asked["application_type"] == "native" and asked["token_endpoint_auth_method"] == "none"
    with vault.open_vault(home) as v:
        registration = v.records.get_client(v.get("tools").provider)
    assert registration.client_secret is not None and registration.overrides["token_auth"] == method
    assert registration.client_secret.reveal() not in repr(registration)
    assert ready("refresh", "tools").code == 0
    calls = [(t.grant_type, t.auth_method, t.status) for t in auth_server.token_requests()]
    assert calls == [("authorization_code", method, 200), ("refresh_token", method, 200)]


def test_a_pre_registered_confidential_client_takes_its_secret_from_stdin(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer
) -> None:
    secret = "pre-registered-secret-value"
    auth_server.settings.dynamic_registration = False
    auth_server.register_client("given", secret, token_endpoint_auth_method="client_secret_post")
    auth_server.settings.metadata_overrides = {"token_endpoint_auth_methods_supported": ["client_secret_post"]}
    r = ready("login", "--mcp", mcp_server, "--name", "tools", "--client-id", "given", "--with-secret", stdin=secret)
    assert r.code == 0, r.err
    assert secret not in r.err and secret not in r.out
    assert state(home)[1] == [("mcp-" + mcp_server.split("//")[1].replace(":", "-").replace("/", "-"), "given", True)]
    (exchange,) = auth_server.token_requests()
    assert (exchange.client_id, exchange.auth_method, exchange.status) == ("given", "client_secret_post", 200)


def test_a_registration_method_tokendeck_cannot_do_is_one_line_and_stores_nothing(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer
) -> None:
    auth_server.settings.registration_auth_method = "private_key_jwt"
    before = state(home)
    r = ready("login", "--mcp", mcp_server)
    assert r.code == 1 and "private_key_jwt" in r.err and "cannot do" in r.err
    assert r.err.count("tokendeck:") == 1 and "Traceback" not in r.err
    assert state(home) == before


def test_a_sign_in_that_failed_leaves_no_registration_to_reuse(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BROWSER_MODE", "deny")
    denied = ready("login", "--mcp", mcp_server, "--name", "tools")
    assert denied.code != 0 and "declined" in denied.err or "access_denied" in denied.err
    assert state(home) == ([], [])
    monkeypatch.setenv("FAKE_BROWSER_MODE", "approve")
    assert ready("login", "--mcp", mcp_server, "--name", "tools").code == 0
    assert len(auth_server.registrations()) == 2  # registered anew
    assert ready("login", "--mcp", mcp_server, "--name", "tools").code == 0
    assert len(auth_server.registrations()) == 2  # the one that worked is reused


def test_a_server_whose_authorization_server_changed_registers_again(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer, issuer_of: dict[str, str]
) -> None:
    assert ready("login", "--mcp", mcp_server, "--name", "tools").code == 0
    with vault.open_vault(home) as v:
        first = v.records.get_client(v.get("tools").provider).client_id
    from tests.support.authserver import running_auth_server

    with running_auth_server() as other:
        other.settings.dynamic_registration = True
        other.settings.resource_indicators = (mcp_server,)
        issuer_of["issuer"] = other.issuer
        r = ready("login", "--mcp", mcp_server, "--name", "tools")
        assert r.code == 0, r.err
        assert len(other.registrations()) == 1 and f"registered tokendeck with {other.issuer}" in r.err
        with vault.open_vault(home) as v:
            registration = v.records.get_client(v.get("tools").provider)
        assert registration.client_id != first and registration.overrides["issuer"] == other.issuer


def test_signing_in_again_by_provider_name_keeps_the_server_url(ready: CliRunner, home: Path, mcp_server: str) -> None:
    assert ready("login", "--mcp", mcp_server, "--name", "tools").code == 0
    provider = json.loads(ready("show", "tools", "--json").out)["provider"]
    again = ready("login", provider, "--name", "tools")
    assert again.code == 0, again.err
    assert state(home)[0] == [("tools", mcp_server)]


def test_without_a_registration_endpoint_at_the_2025_03_26_defaults_it_is_one_line(
    ready: CliRunner, home: Path
) -> None:
    before = state(home)
    with resource_server(lambda base: {}, challenge=None) as base:
        r = ready("login", "--mcp", f"{base}/mcp")
    assert r.code == 1 and "2025-03-26" in r.err and "refused to register tokendeck (HTTP 404)" in r.err
    assert "Traceback" not in r.err and state(home) == before


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--with-secret"], "--with-secret goes with --client-id"),
        (["--client-id", "x", "--with-secret"], "the client secret is empty"),
    ],
)
def test_bad_client_input_is_one_line_and_stores_nothing(
    ready: CliRunner, home: Path, argv: list[str], said: str
) -> None:
    before = state(home)
    r = ready("login", "--mcp", "https://mcp.example/mcp", *argv)
    assert r.code == 2 and said in r.err and r.err.count("\n") == 1, r.err
    assert state(home) == before


def test_scope_goes_with_mcp(ready: CliRunner) -> None:
    r = ready("login", "github", "--scope", "repo")
    assert r.code == 2 and "--scope goes with --mcp" in r.err


def test_sign_in_again_advice_names_the_command_that_repairs_this_credential(
    ready: CliRunner, home: Path, mcp_server: str
) -> None:
    assert ready("login", "--mcp", mcp_server, "--name", "tools").code == 0
    assert ready("revoke", "tools", "--yes").code == 0
    r = ready("token", "tools")
    assert r.code == 4 and f"run tokendeck login --mcp {mcp_server} --name tools" in r.err
    repaired = ready("login", "--mcp", mcp_server, "--name", "tools")  # exactly what it said
    assert repaired.code == 0 and state(home)[0] == [("tools", mcp_server)]
