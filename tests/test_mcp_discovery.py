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
    assert found.server == found.resource == f"{base}/mcp"  # canonical: no trailing slash
    # The challenge's scope, and offline_access: the authorization server lists it (SEP-2207).
    assert found.issuer == auth_server.issuer and found.scopes == ["mcp", "offline_access"]
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


def test_metadata_at_the_root_names_the_origin_as_its_resource(auth_server: AuthServer) -> None:
    """RFC 9728 §3.3: the root well-known document describes the resource at the origin; that
    origin is what tokens are asked for, and the server's own URL is where requests go."""

    def docs(base: str) -> dict[str, Any]:
        return {mcp.WELL_KNOWN: metadata(base, auth_server.issuer, resource=base)}

    with resource_server(docs, challenge=lambda base: 'Bearer realm="mcp"') as base:
        found = mcp.find(f"{base}/mcp")
    assert found.resource == base and found.server == f"{base}/mcp"


@pytest.mark.parametrize(
    ("named", "allowed"),
    [
        ("https://mcp.example.com/v1/mcp", True),
        ("https://mcp.example.com/v1/mcp/", True),
        ("https://mcp.example.com/v1", True),
        ("https://mcp.example.com", True),
        ("https://mcp.example.com/v1/m", False),  # a prefix of the text, not of the path
        ("https://mcp.example.com/v2", False),
        ("https://mcp.example.com:8443/v1/mcp", False),
        ("https://other.example.com/v1/mcp", False),
        ("http://mcp.example.com/v1/mcp", False),
        ("", False),
    ],
)
def test_which_resource_a_document_may_name(named: str, allowed: bool) -> None:
    assert mcp.resource_allowed(named, "https://mcp.example.com/v1/mcp") is allowed


def test_a_server_that_asks_for_sign_in_only_later_is_found_from_its_well_known_metadata(
    auth_server: AuthServer,
) -> None:
    """Step-up servers let ``initialize`` through and ask for a token on a later request."""

    def docs(base: str) -> dict[str, Any]:
        return {f"{mcp.WELL_KNOWN}/mcp": metadata(base, auth_server.issuer)}

    with resource_server(docs, challenge=None, status=200) as base:
        found = mcp.find(f"{base}/mcp")
    assert found.issuer == auth_server.issuer and found.scopes == ["mcp", "offline_access"]


def test_scopes_come_from_the_challenge_else_scopes_supported_else_none(auth_server: AuthServer) -> None:
    def docs(base: str) -> dict[str, Any]:
        return {f"{mcp.WELL_KNOWN}/mcp": metadata(base, auth_server.issuer, scopes_supported=["a", "b"])}

    listed = {"scopes_supported": ["a", "b"]}  # the authorization server does not list offline_access
    with resource_server(docs, challenge=lambda base: 'Bearer scope="b c"') as base:
        auth_server.settings.metadata_overrides = listed
        assert mcp.find(f"{base}/mcp").scopes == ["b", "c"]
    with resource_server(docs, challenge=lambda base: "Bearer") as base:
        assert mcp.find(f"{base}/mcp").scopes == ["a", "b"]

    def bare(base: str) -> dict[str, Any]:
        document = metadata(base, auth_server.issuer)
        del document["scopes_supported"]
        return {f"{mcp.WELL_KNOWN}/mcp": document}

    with resource_server(bare, challenge=lambda base: "Bearer") as base:
        assert mcp.find(f"{base}/mcp").scopes == []
        auth_server.settings.metadata_overrides = {"scopes_supported": None}
        assert mcp.find(f"{base}/mcp").scopes == []


def test_without_any_metadata_the_2025_03_26_default_endpoints_at_the_origin_are_used() -> None:
    with resource_server(lambda base: {}, challenge=None) as base:
        found = mcp.find(f"{base}/mcp")
    assert found.resource is None and found.server == f"{base}/mcp" and found.issuer == base
    assert (found.overrides["authorize_url"], found.overrides["token_url"], found.registration_url) == (
        f"{base}/authorize",
        f"{base}/token",
        f"{base}/register",
    )
    assert found.fallback is not None and "2025-03-26" in found.fallback


def test_a_2025_03_26_server_s_own_metadata_is_used_and_must_name_its_origin(auth_server: AuthServer) -> None:
    """No protected-resource metadata: the origin is the authorization server (2025-03-26)."""

    def docs(issuer: str) -> Callable[[str], dict[str, Any]]:
        def at(base: str) -> dict[str, Any]:
            document = {**auth_server.metadata(), "issuer": issuer or base}
            return {"/.well-known/oauth-authorization-server": document}

        return at

    with resource_server(docs(""), challenge=lambda base: 'Bearer error="invalid_token"') as base:
        found = mcp.find(f"{base}/mcp")
    assert found.issuer == base and found.resource is None and found.fallback is None
    assert found.overrides["token_url"] == f"{auth_server.issuer}/token"
    with (
        resource_server(docs("https://elsewhere.example"), challenge=None) as base,
        pytest.raises(ProviderError) as refused,
    ):
        mcp.find(f"{base}/mcp")
    assert refused.value.code == "issuer_mismatch"


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


def test_a_challenge_naming_metadata_that_is_not_there_is_one_clear_error() -> None:
    def challenge(base: str) -> str:
        return f'Bearer resource_metadata="{base}/missing.json"'

    with resource_server(lambda base: {}, challenge=challenge) as base, pytest.raises(ProviderError) as refused:
        mcp.find(f"{base}/mcp")
    assert refused.value.code == "no_resource_metadata" and "http_404" in refused.value.message


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
    assert mcp.challenge_params('Bearer error="insufficient_scope", scope="a b", Resource_Metadata=x') == {
        "error": "insufficient_scope",
        "scope": "a b",
        "resource_metadata": "x",
    }
    assert mcp.well_known_urls("https://a.example/v1/mcp") == [
        "https://a.example/.well-known/oauth-protected-resource/v1/mcp",
        "https://a.example/.well-known/oauth-protected-resource",
    ]
    assert json.loads(mcp.INITIALIZE)["method"] == "initialize"
