"""The loopback listener over real sockets: one answer decides, every request
gets a page, and the state / issuer / error rules hold (RFC 6749 §10.12, RFC 9207)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from vault.errors import SignInFailed
from vault.oauth.loopback import Expectation, LoopbackListener, check_callback

EXPECTED = Expectation(provider="acme", state="s-123", issuer=None)


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=5)


@pytest.fixture
def listener() -> Iterator[LoopbackListener]:
    with LoopbackListener(EXPECTED) as running:
        yield running


def test_binds_loopback_only_on_a_random_port(listener: LoopbackListener) -> None:
    host, port = listener._server.server_address[:2]
    assert host == "127.0.0.1" and port > 0
    assert listener.redirect_uri == f"http://127.0.0.1:{port}/callback"


def test_good_callback_gives_the_code_and_a_success_page(listener: LoopbackListener) -> None:
    page = get(listener.redirect_uri + "?code=abc&state=s-123")
    assert page.status_code == 200 and "Signed in to acme" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert listener.wait(1) == "abc"
    again = get(listener.redirect_uri + "?code=other&state=s-123")
    assert again.status_code == 409 and "already over" in again.text
    assert listener.wait(1) == "abc"  # the second callback changed nothing


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("code=abc&state=wrong", "state_mismatch"),
        ("code=abc", "state_mismatch"),
        ("error=access_denied&error_description=User+said+no&state=s-123", "access_denied"),
        ("state=s-123", "no_code"),
    ],
)
def test_bad_callbacks_end_the_sign_in_with_a_page(listener: LoopbackListener, query: str, code: str) -> None:
    page = get(f"{listener.redirect_uri}?{query}")
    assert page.status_code == 400 and "did not complete" in page.text
    with pytest.raises(SignInFailed) as info:
        listener.wait(1)
    assert info.value.code == code


def test_a_callback_without_this_sign_ins_state_is_ignored(listener: LoopbackListener) -> None:
    """A forged or stale callback gets its error page and leaves the listener waiting for the
    real one (RFC 9700 §4.7): one request from any local page cannot end a sign-in."""
    for query in ("code=forged&state=wrong", "code=forged", "error=access_denied&state=other"):
        page = get(f"{listener.redirect_uri}?{query}")
        assert page.status_code == 400 and "ignored" in page.text
    assert get(listener.redirect_uri + "?code=real&state=s-123").status_code == 200
    assert listener.wait(1) == "real"


def test_error_text_is_escaped_in_the_page(listener: LoopbackListener) -> None:
    page = get(listener.redirect_uri + "?error=x&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=s-123")
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text


def test_other_paths_do_not_decide(listener: LoopbackListener) -> None:
    page = get(f"http://127.0.0.1:{listener.port}/favicon.ico")
    assert page.status_code == 404
    assert get(listener.redirect_uri + "?code=c&state=s-123").status_code == 200
    assert listener.wait(1) == "c"


def test_timeout_when_nobody_comes_back() -> None:
    with LoopbackListener(EXPECTED) as quiet, pytest.raises(SignInFailed, match="within 0 s") as info:
        quiet.wait(0.05)
    assert info.value.code == "timeout"


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SignInFailed, match=f"port {port} on 127.0.0.1 is already in use"):
            LoopbackListener(EXPECTED, port)


def test_closing_frees_the_port() -> None:
    with LoopbackListener(EXPECTED) as first:
        port = first.port
    with LoopbackListener(EXPECTED, port) as second:
        assert second.port == port
    assert threading.active_count() < 50


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"code": "c", "state": "s-123"}, "issuer_mismatch"),
        ({"code": "c", "state": "s-123", "iss": "https://evil.example"}, "issuer_mismatch"),
    ],
)
def test_issuer_is_required_when_promised(params: dict[str, str], code: str) -> None:
    expected = Expectation(provider="acme", state="s-123", issuer="https://id.example")
    with pytest.raises(SignInFailed) as info:
        check_callback(params, expected)
    assert info.value.code == code
    assert check_callback({**params, "iss": "https://id.example"}, expected) == "c"
