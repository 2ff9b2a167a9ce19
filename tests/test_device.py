"""The device authorization grant (RFC 8628) against the loopback Authlib server:
pending, slow_down (+5 s), approval, denial, expiry, and the CLI path."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from vault.core.model import ClientRegistration
from vault.core.providers import builtin, resolve
from vault.errors import InvalidInput, ProviderError, SignInFailed
from vault.oauth.discovery import discover
from vault.oauth.flows import DeviceCode, device_sign_in
from vault.oauth.tokens import TokenSet

CLIENT_ID = "device-client"


class RecordingUI:
    def __init__(self) -> None:
        self.codes: list[DeviceCode] = []

    def show_url(self, url: str) -> None:
        raise AssertionError("the device flow shows no authorization URL")

    def open_browser(self, url: str) -> bool:
        raise AssertionError("the device flow opens no browser")

    def ask_redirect(self) -> str:
        raise AssertionError("the device flow asks for no redirect")

    def show_device_code(self, code: DeviceCode) -> None:
        self.codes.append(code)


class FakeTime:
    """A monotonic clock that moves only when the flow sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def acme(server: AuthServer) -> tuple[ClientRegistration, vault.core.providers.Provider]:
    server.register_client(CLIENT_ID)
    registration = ClientRegistration(
        provider="acme", base="oidc", client_id=CLIENT_ID, overrides=discover("acme", server.issuer)
    )
    return registration, resolve(registration)


def run(server: AuthServer, **settings: object) -> tuple[TokenSet, RecordingUI, FakeTime]:
    for key, value in settings.items():
        setattr(server.settings, key, value)
    registration, provider = acme(server)
    ui, clock = RecordingUI(), FakeTime()
    tokens = device_sign_in(
        provider, registration, ui, scopes=provider.default_scopes, now=lambda: clock.now, sleep=clock.sleep
    )
    return tokens, ui, clock


def test_pending_then_approved(auth_server: AuthServer) -> None:
    tokens, ui, clock = run(auth_server, device_auto_approve_after=2)
    assert ui.codes[0].user_code and ui.codes[0].verification_uri.startswith(auth_server.issuer)
    assert "Secret" in repr(ui.codes[0].device_code)  # never shown
    assert clock.sleeps == [1.0, 1.0, 1.0]  # two pending answers, then the token
    assert auth_server.token_state(tokens.access_token.reveal()) == "active"
    assert tokens.refresh_token is not None


def test_slow_down_adds_five_seconds_for_good(auth_server: AuthServer) -> None:
    _, _, clock = run(auth_server, device_slow_down_once=True, device_auto_approve_after=2)
    assert clock.sleeps == [1.0, 6.0, 6.0]


@pytest.mark.parametrize(
    ("settings", "code"),
    [({"device_auto_deny_after": 1}, "access_denied"), ({"device_expires_in": 3}, "expired_token")],
)
def test_denied_or_expired(auth_server: AuthServer, settings: dict[str, object], code: str) -> None:
    with pytest.raises(SignInFailed) as info:
        run(auth_server, **settings)
    assert info.value.code == code


def test_a_broken_device_response(auth_server: AuthServer) -> None:
    with pytest.raises(ProviderError, match="lacks device_code"):
        run(auth_server, device_authorization_response_override=(200, "application/json", b'{"user_code": "X"}'))


def test_google_says_verification_url() -> None:
    from vault.oauth.flows import _device_code

    code = _device_code(
        {"device_code": "dc", "user_code": "ABCD", "verification_url": "https://www.google.com/device"}, "google"
    )
    assert code.verification_uri == "https://www.google.com/device"
    assert (code.expires_in, code.interval) == (900.0, 5.0)  # RFC 8628 defaults when absent
    with pytest.raises(InvalidInput):
        _device_code({"device_code": "d", "user_code": "U", "verification_uri": "javascript:alert(1)"}, "x")


def test_no_device_endpoint() -> None:
    registration = ClientRegistration(provider="linear", base="linear", client_id="c")
    with pytest.raises(InvalidInput, match="no device sign-in"):
        device_sign_in(resolve(registration), registration, RecordingUI(), scopes=())
    assert not builtin("linear").has_device_flow


def test_login_device_from_the_cli(cli: CliRunner, auth_server: AuthServer, home: Path) -> None:
    auth_server.register_client(CLIENT_ID)
    cli("init")
    assert cli("provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", CLIENT_ID).code == 0

    def user() -> None:
        auth_server.approve_device(auth_server.wait_for_device_authorization(timeout=10))

    approver = threading.Thread(target=user)
    approver.start()
    r = cli("login", "acme", "--device")
    approver.join(timeout=10)
    assert r.code == 0, r.err
    assert "Enter the code" in r.err and auth_server.issuer in r.err
    with vault.open_vault(home) as v:
        stored = v.get("acme")
    assert stored.account == "alice@example.test" and stored.refresh_token is not None


def test_device_flow_without_a_secret_where_the_provider_allows_it(
    cli: CliRunner, auth_server: AuthServer, home: Path
) -> None:
    """GitHub's device flow needs no client secret (device_needs_secret = false), whatever
    the registration is called; its browser flow does."""
    auth_server.register_client(CLIENT_ID)
    cli("init")
    r = cli("provider", "add", "work-gh", "--base", "github", "--client-id", CLIENT_ID,
            "--authorize-url", auth_server.url("/authorize"), "--token-url", auth_server.url("/token"),
            "--device-url", auth_server.url("/device_authorization"), stdin="")  # fmt: skip
    assert r.code == 2  # the browser flow's secret is required at registration...
    with vault.open_vault(home) as v:
        from vault.services.signin import _check_usable

        registration = ClientRegistration(provider="work-gh", base="github", client_id=CLIENT_ID)
        _check_usable(resolve(registration), has_secret=False, device=True)  # ...the device flow is fine
        with pytest.raises(InvalidInput, match="client secret"):
            _check_usable(resolve(registration), has_secret=False, device=False)
        assert v.records.clients() == []
