"""Token responses as providers really send them, through the real Authlib client
(httpx2.MockTransport as the wire): the good ones parse, the bad ones fail with a
message naming the provider and the problem, never the token."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import pytest

from vault.core.model import ClientRegistration
from vault.core.providers import resolve
from vault.core.secret import Secret
from vault.errors import ProviderError
from vault.oauth.http import MAX_RESPONSE_BYTES
from vault.oauth.sessions import AuthlibSession
from vault.oauth.tokens import token_set

NOW = 1_800_000_000.0
SECRET_TOKEN = "tok_SENTINEL_ACCESS"


def exchange(
    base: str, reply: Callable[[httpx2.Request], httpx2.Response], *, secret: str | None = "shh"
) -> tuple[object, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return reply(request)

    registration = ClientRegistration(
        provider=base, base=base, client_id="cid", client_secret=Secret(secret) if secret else None
    )
    provider = resolve(registration)
    session = AuthlibSession(
        provider, registration, "http://127.0.0.1:5555/callback", provider.default_scopes, httpx2.MockTransport(handler)
    )
    try:
        data = session.exchange("the-code", "v" * 64)
    finally:
        session.close()
    return token_set(data, provider, now=NOW, requested=provider.default_scopes), seen


def raw(status: int, body: bytes | str, content_type: str = "application/json") -> Callable[..., httpx2.Response]:
    content = body.encode() if isinstance(body, str) else body
    return lambda request: httpx2.Response(status, content=content, headers={"content-type": content_type})


def test_standard_response_and_request_shape() -> None:
    body = {"access_token": SECRET_TOKEN, "token_type": "bearer", "expires_in": 7200, "refresh_token": "r1"}
    tokens, seen = exchange("gitlab", raw(200, json.dumps({**body, "scope": "api read_user"})))
    assert tokens.access_token == Secret(SECRET_TOKEN) and tokens.refresh_token == Secret("r1")  # type: ignore[attr-defined]
    assert tokens.expires_at == NOW + 7200 and tokens.scopes == ("api", "read_user")  # type: ignore[attr-defined]
    assert tokens.token_type == "Bearer"  # type: ignore[attr-defined]
    form = dict(httpx2.QueryParams(seen[0].content.decode()))
    assert form["grant_type"] == "authorization_code" and form["code"] == "the-code"
    assert form["code_verifier"] == "v" * 64 and form["redirect_uri"] == "http://127.0.0.1:5555/callback"
    assert form["client_id"] == "cid" and form["client_secret"] == "shh"  # gitlab: client_secret_post


def test_github_form_encoded_answer_and_accept_header() -> None:
    tokens, seen = exchange(
        "github",
        raw(
            200, f"access_token={SECRET_TOKEN}&scope=repo%2Cgist&token_type=bearer", "application/x-www-form-urlencoded"
        ),
    )
    assert tokens.access_token == Secret(SECRET_TOKEN)  # type: ignore[attr-defined]
    assert seen[0].headers["accept"] == "application/json"


def test_slack_nested_user_token_and_comma_scopes() -> None:
    body = {"ok": True, "team": {"id": "T1"}, "authed_user": {"id": "U1", "access_token": "xoxp-1", "scope": "a,b"}}
    tokens, _ = exchange("slack", raw(200, json.dumps(body)))
    assert tokens.access_token == Secret("xoxp-1") and tokens.scopes == ("a", "b")  # type: ignore[attr-defined]
    assert tokens.extras["team"] == {"id": "T1"}  # type: ignore[attr-defined]


def test_linear_scope_as_array() -> None:
    tokens, _ = exchange("linear", raw(200, json.dumps({"access_token": "lin", "scope": ["read", "write"]})))
    assert tokens.scopes == ("read", "write")  # type: ignore[attr-defined]


def test_notion_sends_json_with_basic_auth() -> None:
    tokens, seen = exchange("notion", raw(200, json.dumps({"access_token": "ntn", "owner": {"type": "user"}})))
    request = seen[0]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"].startswith("Basic ")
    assert request.headers["notion-version"] == "2025-09-03"
    assert json.loads(request.content)["code"] == "the-code"
    assert tokens.extras["owner"] == {"type": "user"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("base", "reply", "code", "words"),
    [
        ("gitlab", raw(200, "<html><body>Login</body></html>", "text/html"), "bad_response", "did not answer JSON"),
        ("gitlab", raw(200, ""), "bad_response", "empty body"),
        ("gitlab", raw(200, '{"access_token": "abc'), "bad_response", "did not answer JSON"),
        ("gitlab", raw(200, "[1, 2]"), "bad_response", "JSON list"),
        ("gitlab", raw(200, '{"token_type": "bearer"}'), "bad_response", "no access_token"),
        ("gitlab", raw(200, '{"access_token": "a", "expires_in": "soon"}'), "bad_response", "not a number"),
        ("gitlab", raw(200, '{"access_token": "a", "expires_in": -5}'), "bad_response", "out of range"),
        ("gitlab", raw(200, '{"access_token": "a", "expires_in": 1e12}'), "bad_response", "out of range"),
        ("gitlab", raw(400, '{"error": "invalid_grant", "error_description": "no"}'), "invalid_grant", "no"),
        ("github", raw(200, '{"error": "bad_verification_code"}'), "bad_verification_code", ""),
        ("slack", raw(200, '{"ok": false, "error": "invalid_code"}'), "invalid_code", ""),
        ("slack", raw(200, '{"ok": true, "access_token": "xoxb-bot"}'), "bad_response", "authed_user"),
        ("gitlab", raw(503, "upstream down", "text/plain"), "http_503", "unavailable"),
        ("gitlab", raw(200, b"{" + b" " * (MAX_RESPONSE_BYTES + 10) + b"}"), "bad_response", "too large"),
    ],
    ids=[
        "html", "empty", "truncated", "array", "no-access-token", "non-numeric-expiry", "negative-expiry",
        "absurd-expiry", "invalid-grant", "github-200-error", "slack-ok-false", "slack-no-user-token",
        "5xx-text", "huge",
    ],
)  # fmt: skip
def test_bad_token_responses(base: str, reply: Callable[..., httpx2.Response], code: str, words: str) -> None:
    with pytest.raises(ProviderError) as info:
        exchange(base, reply)
    assert info.value.code == code
    assert words in info.value.message
    assert info.value.message.startswith(f"{base}: ")
    assert SECRET_TOKEN not in info.value.message


def test_error_text_is_one_printable_line() -> None:
    body = json.dumps({"error": "invalid_grant", "error_description": "line1\n\x1b[31mred[/red]" + "x" * 500})
    with pytest.raises(ProviderError) as info:
        exchange("gitlab", raw(400, body))
    description = info.value.description or ""
    assert "\n" not in description and "\x1b" not in description and len(description) <= 200


def test_network_failure_is_a_provider_error() -> None:
    def boom(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    with pytest.raises(ProviderError, match="could not connect"):
        exchange("gitlab", boom)


@pytest.mark.parametrize(
    ("reply", "transient", "retry_after"),
    [
        (lambda r: httpx2.Response(503, text="down"), True, None),
        (lambda r: httpx2.Response(429, headers={"Retry-After": "7"}, json={"error": "rate_limited"}), True, 7.0),
        (lambda r: httpx2.Response(400, json={"error": "temporarily_unavailable"}), True, None),
        (lambda r: httpx2.Response(400, json={"error": "invalid_grant"}), False, None),
        (lambda r: httpx2.Response(200, text="<html>"), False, None),
    ],
    ids=["503", "429-retry-after", "temporarily-unavailable", "invalid-grant", "html"],
)
def test_transient_failures_are_marked(
    reply: Callable[[httpx2.Request], httpx2.Response], transient: bool, retry_after: float | None
) -> None:
    with pytest.raises(ProviderError) as info:
        exchange("gitlab", reply)
    assert (info.value.transient, info.value.retry_after) == (transient, retry_after)


def test_a_streamed_body_is_cut_off_at_the_cap_on_a_real_socket() -> None:
    """A server that would send 64 MiB in chunks: the client stops soon after the cap and says
    why (without the cap it would read the lot and answer 'not JSON')."""
    from tests.support.json_handler import JsonHandler, serving
    from vault.oauth.http import get_json, new_client

    sent = []

    class Endless(JsonHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(1024):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent.append(len(chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client hung up: what the cap is for

    with serving(Endless) as url, new_client() as client, pytest.raises(ProviderError) as info:
        get_json(client, url + "/meta", "acme", "metadata")
    assert info.value.message == "acme: network: metadata: response too large"
    assert sum(sent) < 16 * MAX_RESPONSE_BYTES
