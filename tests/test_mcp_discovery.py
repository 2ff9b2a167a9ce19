"""Issue 18, step 1: from an MCP server's URL to its authorization server (RFC 9728, then
RFC 8414 discovery), over real sockets: a loopback resource server of the test's own, and
the loopback Authlib authorization server.  Every URL a document names is checked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.authserver import AuthServer
from tests.support.json_handler import JsonHandler, serving
from vault.errors import InvalidInput, ProviderError
from vault.oauth import mcp


@contextmanager
def resource_server(
    documents: Callable[[str], dict[str, Any]], *, challenge: Callable[[str], str] | None, status: int = 401
) -> Iterator[str]:
    """An MCP endpoint at ``/mcp`` answering ``status`` with ``challenge(base)`` as its
    ``WWW-Authenticate``, and ``documents(base)`` by path (the rest: 404)."""

    class Handler(JsonHandler):
        base = ""

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/mcp":
                self.send_json({"error": "not found"}, 404)
                return
            body = b'{"error":"unauthorized"}'
            self.send_response(status)
            if challenge is not None:
                self.send_header("WWW-Authenticate", challenge(Handler.base))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            found = documents(Handler.base).get(self.path)
            self.send_json(found if found is not None else {"error": "not found"}, 200 if found is not None else 404)

    with serving(Handler) as base:
        Handler.base = base
        yield base


def metadata(base: str, issuer: str, **changes: Any) -> dict[str, Any]:
    return {"resource": f"{base}/mcp", "authorization_servers": [issuer], "scopes_supported": ["mcp"], **changes}


def test_the_challenge_names_the_metadata_and_the_metadata_the_authorization_server(
    auth_server: AuthServer,
) -> None:
    def docs(base: str) -> dict[str, Any]:
        return {"/meta/mcp.json": metadata(base, auth_server.issuer)}

    def challenge(base: str) -> str:
        return f'Bearer error="invalid_token", resource_metadata="{base}/meta/mcp.json", scope="mcp"'

    with resource_server(docs, challenge=challenge) as base:
        found = mcp.find(f"{base}/mcp/")
    assert found.resource == f"{base}/mcp"  # canonical: no trailing slash
    assert found.issuer == auth_server.issuer and found.scopes == ["mcp"]
    assert found.overrides["token_url"] == f"{auth_server.issuer}/token"
    assert found.overrides["authorize_url"] == f"{auth_server.issuer}/authorize"
    assert found.registration_url is None  # this server does not offer RFC 7591 registration


@pytest.mark.parametrize("where", ["inserted", "root"])
def test_without_resource_metadata_in_the_challenge_the_well_known_places_are_tried(
    auth_server: AuthServer, where: str
) -> None:
    def docs(base: str) -> dict[str, Any]:
        path = mcp.WELL_KNOWN + ("/mcp" if where == "inserted" else "")
        return {path: metadata(base, auth_server.issuer)}

    with resource_server(docs, challenge=lambda base: 'Bearer realm="mcp"') as base:
        assert mcp.find(f"{base}/mcp").issuer == auth_server.issuer


def test_no_metadata_anywhere_is_one_clear_error() -> None:
    with resource_server(lambda base: {}, challenge=None) as base, pytest.raises(ProviderError) as refused:
        mcp.find(f"{base}/mcp")
    assert refused.value.code == "no_resource_metadata" and "well-known places" in refused.value.message


def test_metadata_for_another_resource_is_refused(auth_server: AuthServer) -> None:
    def docs(base: str) -> dict[str, Any]:
        return {f"{mcp.WELL_KNOWN}/mcp": metadata(base, auth_server.issuer, resource="https://evil.example/mcp")}

    with resource_server(docs, challenge=None) as base, pytest.raises(ProviderError) as refused:
        mcp.find(f"{base}/mcp")
    assert refused.value.code == "resource_mismatch" and "evil.example" in refused.value.message


@pytest.mark.parametrize(
    ("named", "what"),
    [
        ("http://auth.example.com", "authorization server"),  # plain http off this machine
        ("file:///etc/passwd", "authorization server"),
        ("javascript:alert(1)", "authorization server"),
    ],
)
def test_an_authorization_server_url_that_is_not_https_is_refused_before_it_is_asked(named: str, what: str) -> None:
    def docs(base: str) -> dict[str, Any]:
        return {f"{mcp.WELL_KNOWN}/mcp": metadata(base, named)}

    with resource_server(docs, challenge=None) as base, pytest.raises(InvalidInput) as refused:
        mcp.find(f"{base}/mcp")
    assert what in refused.value.message


def test_a_metadata_url_in_the_challenge_that_is_not_https_is_never_fetched() -> None:
    with (
        resource_server(
            lambda base: {}, challenge=lambda base: 'Bearer resource_metadata="http://attacker.example/meta"'
        ) as base,
        pytest.raises(InvalidInput, match="resource metadata URL"),
    ):
        mcp.find(f"{base}/mcp")


def test_a_server_that_does_not_ask_for_sign_in_says_so() -> None:
    with resource_server(lambda base: {}, challenge=None, status=200) as base, pytest.raises(ProviderError) as no:
        mcp.find(f"{base}/mcp")
    assert no.value.code == "no_sign_in" and "HTTP 200" in no.value.message


def test_canonical_resource_and_the_challenge_parser() -> None:
    assert mcp.canonical_resource("HTTPS://MCP.Example.COM/Path/?q=1#frag") == "https://mcp.example.com/Path"
    assert mcp.canonical_resource("https://mcp.example.com/") == "https://mcp.example.com"
    with pytest.raises(InvalidInput):
        mcp.canonical_resource("http://mcp.example.com/mcp")
    header = 'Basic realm="x", Bearer realm="mcp", resource_metadata="https://a.example/m\\"q", scope="a b"'
    assert mcp.metadata_from_challenge(header) == 'https://a.example/m"q'
    assert mcp.metadata_from_challenge("Bearer resource_metadata=https://a.example/m") == "https://a.example/m"
    assert mcp.metadata_from_challenge('Basic resource_metadata="https://a.example/m"') is None
    assert mcp.metadata_from_challenge("") is None
    assert mcp.well_known_urls("https://a.example/v1/mcp") == [
        "https://a.example/.well-known/oauth-protected-resource/v1/mcp",
        "https://a.example/.well-known/oauth-protected-resource",
    ]
    assert json.loads(mcp.INITIALIZE)["method"] == "initialize"
