"""The test authorization server and the fake browser behave as the RFCs say.

These test the fixtures the sign-in integration tests stand on, over real sockets with
plain httpx (never the product), so a product test failing can be trusted to be the
product's fault.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import shlex
import threading
import webbrowser
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import httpx
import pytest

from tests.support.authserver import DEVICE_CODE_GRANT_TYPE, AuthServer, running_auth_server
from tests.support.fake_browser import browser_command, read_log

CLIENT = "public-app"
REDIRECT = "http://127.0.0.1:49152/callback"
"""Registered as ``http://127.0.0.1/callback``: RFC 8252 §7.3 lets the port vary."""


def pkce() -> tuple[str, str]:
    """An RFC 7636 verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@pytest.fixture
def server() -> Iterator[AuthServer]:
    with running_auth_server() as auth:
        auth.register_client(CLIENT)
        yield auth
        auth.assert_no_server_errors()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


def authorize(http: httpx.Client, server: AuthServer, *, confirm: str = "yes", **params: str | None) -> dict[str, str]:
    """Drive /authorize as a user would; return the parameters sent to the redirect URI."""
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "state": "st-1",
        "scope": "openid",
        **params,
    }
    url = server.url("/authorize?" + urlencode({k: v for k, v in query.items() if v is not None}))
    page = http.get(url)
    if page.status_code == 200:
        page = http.post(url, data={"confirm": confirm})
    assert page.status_code == 302, page.text
    location = page.headers["Location"]
    assert location.startswith(query["redirect_uri"] or "")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(http: httpx.Client, server: AuthServer) -> dict[str, Any]:
    """A complete authorization-code + PKCE sign-in; returns the token response."""
    verifier, challenge = pkce()
    code = authorize(http, server, code_challenge=challenge, code_challenge_method="S256")["code"]
    response = http.post(
        server.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return dict(response.json())


def refresh(http: httpx.Client, server: AuthServer, refresh_token: str) -> httpx.Response:
    return http.post(
        server.url("/token"),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT},
    )


def test_metadata_issuer_is_the_base_url(server: AuthServer, http: httpx.Client) -> None:
    assert server.issuer == f"http://127.0.0.1:{server.port}"
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        document = http.get(server.url(path)).json()
        assert document["issuer"] == server.issuer
        assert document["code_challenge_methods_supported"] == ["S256"]
        assert document["authorization_response_iss_parameter_supported"] is True
        assert document["token_endpoint"] == server.url("/token")
        assert document["revocation_endpoint"] == server.url("/revoke")
        assert document["device_authorization_endpoint"] == server.url("/device_authorization")
        assert DEVICE_CODE_GRANT_TYPE in document["grant_types_supported"]


@pytest.mark.parametrize(("confirm", "expected"), [("yes", "code"), ("no", "error")])
def test_authorization_response_keeps_state_and_adds_iss(
    server: AuthServer, http: httpx.Client, confirm: str, expected: str
) -> None:
    _, challenge = pkce()
    params = authorize(
        http, server, confirm=confirm, code_challenge=challenge, code_challenge_method="S256", prompt="consent"
    )
    assert expected in params
    assert params["state"] == "st-1"
    assert params["iss"] == server.issuer  # RFC 9207 §2, errors included
    if confirm == "no":
        assert params["error"] == "access_denied"
    seen = server.last_authorization_request
    assert seen is not None
    assert seen["code_challenge_method"] == "S256"
    assert seen["prompt"] == "consent"


def test_iss_can_be_switched_off(server: AuthServer, http: httpx.Client) -> None:
    server.settings.iss_parameter = False
    _, challenge = pkce()
    assert "iss" not in authorize(http, server, code_challenge=challenge, code_challenge_method="S256")
    document = http.get(server.url("/.well-known/oauth-authorization-server")).json()
    assert "authorization_response_iss_parameter_supported" not in document


def test_loopback_redirect_any_port_exact_path(server: AuthServer, http: httpx.Client) -> None:
    _, challenge = pkce()
    for redirect in ("http://127.0.0.1:1024/callback", "http://127.0.0.1:65000/callback"):
        assert "code" in authorize(
            http, server, redirect_uri=redirect, code_challenge=challenge, code_challenge_method="S256"
        )
    for wrong in ("http://127.0.0.1:1024/other", "http://localhost:1024/callback", "http://127.0.0.1:1024/callback/"):
        query = urlencode({"response_type": "code", "client_id": CLIENT, "redirect_uri": wrong, "state": "s"})
        page = http.get(server.url("/authorize?" + query))
        assert page.status_code == 400  # RFC 6749 §4.1.2.1: never redirect to it
        assert "Location" not in page.headers


def test_pkce_is_required(server: AuthServer, http: httpx.Client) -> None:
    params = authorize(http, server)  # no code_challenge at all
    assert (params["error"], params["state"], params["iss"]) == ("invalid_request", "st-1", server.issuer)
    assert authorize(http, server, code_challenge=pkce()[1])["error"] == "invalid_request"  # 'plain' by default

    verifier, challenge = pkce()
    code = authorize(http, server, code_challenge=challenge, code_challenge_method="S256")["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": CLIENT}
    missing = http.post(server.url("/token"), data=form)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    wrong = http.post(server.url("/token"), data={**form, "code_verifier": pkce()[0]})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    good = http.post(server.url("/token"), data={**form, "code_verifier": verifier})
    assert good.status_code == 200
    replay = http.post(server.url("/token"), data={**form, "code_verifier": verifier})
    assert replay.json()["error"] == "invalid_grant"
    assert server.token_state(good.json()["access_token"]) == "revoked"  # RFC 6749 §4.1.2
    assert [r.has_code_verifier for r in server.token_requests()] == [False, True, True, True]


def test_refresh_tokens_rotate_and_reuse_is_rejected(server: AuthServer, http: httpx.Client) -> None:
    first = sign_in(http, server)
    second = refresh(http, server, first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert server.token_state(first["refresh_token"]) == "revoked"

    reuse = refresh(http, server, first["refresh_token"])
    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
    # RFC 9700 §4.14.2: the reuse revoked the whole grant, newest refresh token included.
    assert server.token_state(second.json()["refresh_token"]) == "revoked"
    assert server.token_counts() == {"authorization_code": 1, "refresh_token": 2}


def test_refresh_without_rotation_keeps_the_old_token(server: AuthServer, http: httpx.Client) -> None:
    server.settings.rotate_refresh_tokens = False
    first = sign_in(http, server)
    for _ in range(2):
        again = refresh(http, server, first["refresh_token"])
        assert again.status_code == 200
        assert "refresh_token" not in again.json()


def test_revocation(server: AuthServer, http: httpx.Client) -> None:
    unknown = http.post(server.url("/revoke"), data={"token": "never-issued", "client_id": CLIENT})
    assert unknown.status_code == 200  # RFC 7009 §2.2

    tokens = sign_in(http, server)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get(server.url("/userinfo"), headers=bearer).json() == {
        "sub": "user-0001-alice",
        "email": "alice@example.test",
        "preferred_username": "alice",
        "name": "Alice",
    }
    revoked = http.post(
        server.url("/revoke"),
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": CLIENT},
    )
    assert revoked.status_code == 200
    # RFC 7009 §2.1: the access tokens of that grant die with the refresh token.
    assert http.get(server.url("/userinfo"), headers=bearer).status_code == 401
    assert [(r.token_type_hint, r.known, r.matched, r.was_active) for r in server.revocations()] == [
        (None, False, None, False),
        ("refresh_token", True, "refresh_token", True),
    ]


def test_client_secret_basic_is_form_urlencoded(http: httpx.Client) -> None:
    secret = "p@ss word+/:%"
    with running_auth_server() as server:
        server.register_client("web app", secret, token_endpoint_auth_method="client_secret_basic")
        tokens = server.issue_token("web app")
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        raw = base64.b64encode(f"web app:{secret}".encode()).decode()
        rejected = http.post(server.url("/token"), data=form, headers={"Authorization": f"Basic {raw}"})
        assert rejected.status_code == 401
        assert rejected.headers["WWW-Authenticate"].startswith("Basic ")
        encoded = base64.b64encode(f"{quote_plus('web app')}:{quote_plus(secret)}".encode()).decode()
        accepted = http.post(server.url("/token"), data=form, headers={"Authorization": f"Basic {encoded}"})
        assert accepted.status_code == 200, accepted.text
        assert server.token_requests()[-1].auth_method == "client_secret_basic"


def test_device_flow_pending_then_approved(server: AuthServer, http: httpx.Client) -> None:
    server.settings.device_slow_down_once = True
    started = http.post(server.url("/device_authorization"), data={"client_id": CLIENT, "scope": "read"}).json()
    assert (started["interval"], started["expires_in"]) == (1, 600)
    assert started["verification_uri"] == server.url("/device")
    assert server.wait_for_device_authorization(timeout=1) == started["user_code"]
    poll = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": started["device_code"], "client_id": CLIENT}
    assert http.post(server.url("/token"), data=poll).json()["error"] == "slow_down"
    assert http.post(server.url("/token"), data=poll).json()["error"] == "authorization_pending"

    approver = threading.Thread(target=server.approve_device, args=(started["user_code"].lower(),))
    approver.start()
    approver.join(5)
    assert server.pending_user_codes() == []
    granted = http.post(server.url("/token"), data=poll)
    assert granted.status_code == 200
    assert granted.json()["scope"] == "read"
    assert http.post(server.url("/token"), data=poll).json()["error"] == "invalid_grant"  # redeemed once


def test_token_response_override(server: AuthServer, http: httpx.Client) -> None:
    server.settings.token_response_override = (200, "text/html", b"<html>oops</html>")
    response = refresh(http, server, "anything")
    assert (response.status_code, response.headers["Content-Type"], response.content) == (
        200,
        "text/html",
        b"<html>oops</html>",
    )
    assert server.token_requests()[0].overridden


def test_close_ends_keep_alive_connections() -> None:
    server = AuthServer()
    with httpx.Client(timeout=10, trust_env=False) as http:
        assert http.get(server.url("/.well-known/openid-configuration")).status_code == 200
        server.close()  # the client still holds its keep-alive connection
        assert not [t for t in threading.enumerate() if t.name.startswith("authserver-")]
        with pytest.raises(httpx.TransportError):
            http.get(server.url("/.well-known/openid-configuration"))


class _Callback(BaseHTTPRequestHandler):
    """A stand-in for the product's loopback listener: 200 on /callback, 404 elsewhere."""

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        ok = urlsplit(self.path).path == "/callback"
        body = b"<html><body><p>Signed in</p></body></html>" if ok else b"not here"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass


@pytest.fixture
def listener() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    httpd.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


@pytest.mark.parametrize(
    ("mode", "callback_hits", "final_status"),
    [
        ("approve", ["code", "state", "iss"], 200),
        ("deny", ["error", "error_description", "state", "iss"], 200),
        ("tamper-state", ["code", "iss", "state"], 200),
        ("twice", ["code", "state", "iss"], 200),
        ("wrong-path", ["code", "state", "iss"], 404),
        ("never", None, None),
    ],
)
def test_fake_browser_as_BROWSER(
    server: AuthServer,
    listener: ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    callback_hits: list[str] | None,
    final_status: int | None,
) -> None:
    log = tmp_path / "browser.jsonl"
    monkeypatch.setenv("FAKE_BROWSER_MODE", mode)
    monkeypatch.setenv("FAKE_BROWSER_LOG", str(log))
    redirect = f"http://127.0.0.1:{listener.server_address[1]}/callback"
    _, challenge = pkce()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT,
            "redirect_uri": redirect,
            "state": "st-2",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    url = server.url("/authorize?" + query)

    # Exactly what the product's webbrowser.open() does with this $BROWSER value.
    assert webbrowser.GenericBrowser(shlex.split(browser_command())).open(url)

    (run,) = read_log(log)
    assert (run["mode"], run["url"], run["error"]) == (mode, url, None)
    hits = listener.hits  # type: ignore[attr-defined]
    if callback_hits is None:
        assert hits == [] and run["final"] is None
        return
    assert len(hits) == (2 if mode == "twice" else 1)
    assert list(parse_qs(urlsplit(hits[0]).query)) == callback_hits
    state = parse_qs(urlsplit(hits[0]).query)["state"][0]
    assert state == ("tampered-st-2" if mode == "tamper-state" else "st-2")
    assert urlsplit(hits[0]).path == ("/other" if mode == "wrong-path" else "/callback")
    assert [page["status"] for page in run["callbacks"]] == [final_status] * len(hits)
    assert run["final"]["status"] == final_status
    if final_status == 200:
        assert run["final"]["text"] == "Signed in"


def test_fake_browser_device_mode(
    server: AuthServer, http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "browser.jsonl"
    monkeypatch.setenv("FAKE_BROWSER_MODE", "device")
    monkeypatch.setenv("FAKE_BROWSER_LOG", str(log))
    started = http.post(server.url("/device_authorization"), data={"client_id": CLIENT}).json()
    assert webbrowser.GenericBrowser(shlex.split(browser_command())).open(started["verification_uri_complete"])
    (run,) = read_log(log)
    assert run["final"]["text"] == "Device approved approved"  # <h1> and <p id=result>
    poll = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": started["device_code"], "client_id": CLIENT}
    assert http.post(server.url("/token"), data=poll).status_code == 200
