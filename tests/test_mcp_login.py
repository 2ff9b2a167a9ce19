"""Issue 18, step 2: ``tokendeck login --mcp URL`` against a loopback MCP resource and the
loopback Authlib authorization server with RFC 7591 dynamic registration and RFC 8707
resource indicators switched on, through the fake browser.  Bad input stores nothing."""

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


@pytest.fixture
def mcp_server(auth_server: AuthServer) -> Iterator[str]:
    """An MCP endpoint (``BASE/mcp``) whose 401 names its metadata, which names ``auth_server``;
    the authorization server registers clients and checks ``resource``.  Yields the MCP URL."""

    def docs(base: str) -> dict[str, Any]:
        return {
            "/.well-known/oauth-protected-resource/mcp": metadata(base, auth_server.issuer, scopes_supported=["read"])
        }

    def challenge(base: str) -> str:
        return f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"'

    with resource_server(docs, challenge=challenge) as base:
        auth_server.settings.dynamic_registration = True
        auth_server.settings.resource_indicators = (f"{base}/mcp",)
        yield f"{base}/mcp"


@pytest.fixture
def ready(cli: CliRunner, home: Path, browser_log: Path) -> CliRunner:
    assert cli("init").code == 0
    return cli


def state(home: Path) -> tuple[list[str], list[str]]:
    with vault.open_vault(home) as v:
        return [c.name for c in v.credentials()], [r.provider for r in v.records.clients()]


def test_login_mcp_registers_signs_in_with_the_resource_and_refreshes_with_it(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer
) -> None:
    # A userinfo endpoint refuses a token that is for another resource, as a certified server does.
    auth_server.settings.userinfo_response_override = (403, "application/json", b'{"error":"invalid_token"}')
    r = ready("login", "--mcp", mcp_server, "--name", "tools")
    assert r.code == 0, r.err
    # The token is for the MCP server (RFC 8707), so the userinfo endpoint is not asked with
    # it: no 403 to report, and no account (there is no ID token without openid).
    assert f"signed in to {mcp_server}; stored as tools" in r.err and "http_403" not in r.err and "account" not in r.err
    (registered,) = auth_server.registrations()
    assert registered["token_endpoint_auth_method"] == "none" and registered["redirect_uris"] == [
        "http://127.0.0.1/callback"
    ]
    assert auth_server.last_authorization_request is not None
    assert auth_server.last_authorization_request["resource"] == mcp_server  # RFC 8707 §2.1
    # The resource's scopes_supported, and offline_access because the authorization server
    # lists it (with the prompt=consent a certified OpenID server needs to grant it).
    assert auth_server.last_authorization_request["scope"] == "read offline_access"
    assert auth_server.last_authorization_request["prompt"] == "consent"
    exchange = [t for t in auth_server.token_requests() if t.grant_type == "authorization_code"]
    assert [(t.status, t.resource) for t in exchange] == [(200, mcp_server)]
    with vault.open_vault(home) as v:
        credential = v.get("tools")
        registration = v.records.get_client(credential.provider)
    assert credential.extras["mcp_url"] == mcp_server and credential.refresh_token is not None
    assert registration.overrides["resource"] == mcp_server and registration.client_secret is None
    assert ready("refresh", "tools").code == 0
    refreshes = [t for t in auth_server.token_requests() if t.grant_type == "refresh_token"]
    assert [(t.status, t.resource) for t in refreshes] == [(200, mcp_server)]  # refreshes carry it too
    again = ready("login", "--mcp", mcp_server, "--name", "tools")
    assert again.code == 0 and len(auth_server.registrations()) == 1  # the registration is reused
    shown = json.loads(ready("show", "tools", "--json").out)
    assert shown["extras"]["mcp_url"] == mcp_server


def test_a_refused_registration_stores_nothing(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer
) -> None:
    auth_server.settings.registration_refusal = "invalid_redirect_uri"
    before = state(home)
    r = ready("login", "--mcp", mcp_server)
    assert r.code == 1 and "refused to register tokendeck (HTTP 400) (invalid_redirect_uri)" in r.err
    assert r.err.count("tokendeck:") == 1 and "Traceback" not in r.err
    assert state(home) == before and auth_server.registrations() == []


def test_without_dynamic_registration_a_client_id_is_needed(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer
) -> None:
    auth_server.settings.dynamic_registration = False
    before = state(home)
    r = ready("login", "--mcp", mcp_server)
    assert r.code == 2 and "does not offer dynamic client registration" in r.err and "--client-id" in r.err
    assert state(home) == before
    auth_server.register_client("given-client", redirect_uris=("http://127.0.0.1/callback",))
    r = ready("login", "--mcp", mcp_server, "--client-id", "given-client")
    assert r.code == 0, r.err
    with vault.open_vault(home) as v:
        assert v.records.get_client(v.credentials()[0].provider).client_id == "given-client"


@pytest.fixture
def hosted_document() -> Iterator[str]:
    """tokendeck's client ID metadata document, as ``client_metadata_document`` says to host it,
    served on loopback; yields its URL."""
    from tests.support.json_handler import JsonHandler, serving
    from vault.oauth.mcp import client_metadata_document

    class Document(JsonHandler):
        server_url = ""

        def do_GET(self) -> None:
            self.send_json(client_metadata_document(self.server_url))

    with serving(Document) as base:
        url = f"{base}/tokendeck/client.json"
        Document.server_url = url
        yield url


def test_a_client_id_metadata_document_is_the_client_id_where_the_server_takes_one(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer, hosted_document: str
) -> None:
    """The MCP spec's order: a document the server accepts comes before dynamic registration."""
    auth_server.settings.client_metadata_documents = True
    r = ready("login", "--mcp", mcp_server, "--name", "tools", "--client-metadata", hosted_document)
    assert r.code == 0, r.err
    assert auth_server.client_documents() == [hosted_document]  # the server fetched it
    assert auth_server.registrations() == []  # and nothing was registered
    with vault.open_vault(home) as v:
        registration = v.records.get_client(v.get("tools").provider)
    assert registration.client_id == hosted_document and registration.client_secret is None
    assert ready("refresh", "tools").code == 0


def test_a_client_metadata_url_falls_back_to_registration_where_the_server_takes_no_document(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer, hosted_document: str
) -> None:
    r = ready("login", "--mcp", mcp_server, "--name", "tools", "--client-metadata", hosted_document)
    assert r.code == 0, r.err
    assert "does not take client ID metadata documents; registering tokendeck instead" in r.err
    assert len(auth_server.registrations()) == 1 and auth_server.client_documents() == []


def test_a_resource_the_authorization_server_does_not_serve_stores_no_credential(
    ready: CliRunner, home: Path, mcp_server: str, auth_server: AuthServer
) -> None:
    auth_server.settings.resource_indicators = ("https://another.example/mcp",)
    r = ready("login", "--mcp", mcp_server)
    assert r.code == 1 and "invalid_target" in r.err and "Traceback" not in r.err
    assert state(home) == ([], [])  # no credential, and no registration that never worked
    auth_server.settings.resource_indicators = (mcp_server,)
    assert ready("login", "--mcp", mcp_server).code == 0
    assert len(auth_server.registrations()) == 2  # registered anew, not the one that failed


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["login"], "name a provider, or give --mcp URL"),
        (["login", "acme", "--mcp", "https://mcp.example/mcp"], "name a provider, or give --mcp URL"),
        (["login", "--mcp", "http://mcp.example.com/mcp"], "https"),
        (["login", "--mcp", "https://mcp.example/mcp", "--device"], "--device does not go with --mcp"),
        (["login", "acme", "--client-id", "x"], "--client-id goes with --mcp"),
        (["login", "acme", "--client-metadata", "https://me.example/c.json"], "--client-metadata goes with --mcp"),
        (
            ["login", "--mcp", "https://mcp.example/mcp", "--client-id", "x", "--client-metadata", "https://a/c"],
            "not both",
        ),
        (["login", "--mcp", "https://mcp.example/mcp", "--client-metadata", "http://me.example/c"], "https"),
        (["login", "--mcp", "https://mcp.example/mcp", "--client-metadata", "https://me.example/c#x"], "#fragment"),
    ],
)
def test_bad_login_mcp_input_is_one_line(ready: CliRunner, home: Path, argv: list[str], said: str) -> None:
    before = state(home)
    r = ready(*argv)
    assert r.code == 2 and said in r.err and r.err.count("\n") == 1, r.err
    assert state(home) == before
