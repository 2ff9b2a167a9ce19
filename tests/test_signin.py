"""``tokendeck login`` end to end, the way users run it: a real Authlib authorization
server on loopback, real sockets, and a fake browser set as $BROWSER doing the user's
part over HTTP.  Each bad input ends with one clear message, a page in the browser that
says what happened, and a vault exactly as it was."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner, Result
from tests.support.fake_browser import read_log

CLIENT_ID = "tokendeck-test"


@pytest.fixture
def registered(cli: CliRunner, auth_server: AuthServer, browser_log: Path) -> CliRunner:
    """A keyring vault with the test server registered as provider ``acme`` (by discovery)."""
    auth_server.register_client(CLIENT_ID)
    assert cli("init").code == 0
    r = cli("provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", CLIENT_ID)
    assert r.code == 0, r.err
    return cli


def credentials(home: Path) -> dict[str, vault.Credential]:
    with vault.open_vault(home) as v:
        return {c.name: c for c in v.credentials()}


def browser_runs(log: Path, count: int = 1) -> list[dict[str, Any]]:
    """The fake browser's runs, once ``count`` have finished (it runs on its own thread)."""
    import time

    deadline = time.monotonic() + 15
    while len(runs := read_log(log)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(runs) >= count, "the browser did not finish"
    return runs


def last_page(log: Path, count: int = 1) -> str:
    final = browser_runs(log, count)[-1]["final"]
    return str(final["text"] if final else "")


def one_line(r: Result) -> str:
    lines = [line for line in r.err.splitlines() if line.startswith("tokendeck:")]
    assert len(lines) == 1, r.err
    assert "Traceback" not in r.err
    return lines[0]


def test_login_stores_a_working_credential(
    registered: CliRunner, auth_server: AuthServer, browser_log: Path, home: Path
) -> None:
    r = registered("login", "acme")
    assert r.code == 0, r.err
    assert r.out == ""  # data only on stdout, and a login has none
    assert "signed in to acme as alice@example.test; stored as acme" in r.err
    assert auth_server.issuer + "/authorize?" in r.err  # the URL is always printed too
    stored = credentials(home)["acme"]
    assert stored.kind == "oauth" and stored.account == "alice@example.test"
    assert stored.refresh_token is not None and stored.expires_at is not None
    assert stored.status_at(stored.created_at) == "active"
    assert set(stored.scopes) >= {"openid", "email"}
    assert auth_server.token_state(stored.access_token.reveal()) == "active"  # type: ignore[union-attr]
    sent = auth_server.last_authorization_request
    assert sent is not None
    assert sent["code_challenge_method"] == "S256" and len(sent["state"]) >= 32
    assert sent["redirect_uri"].startswith("http://127.0.0.1:") and sent["redirect_uri"].endswith("/callback")
    assert sent["prompt"] == "consent" and "offline_access" in sent["scope"].split()
    exchange = [t for t in auth_server.token_requests() if t.grant_type == "authorization_code"]
    assert len(exchange) == 1 and exchange[0].has_code_verifier and exchange[0].status == 200
    assert "Signed in to acme" in last_page(browser_log)
    events = [(e["action"], e["credential"]) for e in json.loads(registered("audit", "--json").out)]
    assert ("login", "acme") in events
    assert stored.access_token.reveal() not in registered("audit").out + r.err  # type: ignore[union-attr]


def test_second_account_gets_its_own_name(registered: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert registered("login", "acme").code == 0
    monkeypatch.setenv("FAKE_BROWSER_USER", "bob")
    assert registered("login", "acme").code == 0
    assert registered("login", "acme", "--name", "acme-alice").code == 0
    found = credentials(home)
    assert {n: c.account for n, c in found.items()} == {
        "acme": "alice@example.test",
        "acme-bob@example.test": "bob@example.test",
        "acme-alice": "bob@example.test",
    }


@pytest.mark.parametrize(
    ("mode", "code", "page"),
    [
        ("deny", "access_denied", "did not complete"),
        ("tamper-state", "state_mismatch", "does not match"),
        ("drop-state", "state_mismatch", "had no state"),
    ],
)
def test_refused_callbacks_leave_the_vault_alone(
    registered: CliRunner,
    home: Path,
    browser_log: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    code: str,
    page: str,
) -> None:
    assert registered("login", "acme").code == 0
    before = credentials(home)["acme"]
    monkeypatch.setenv("FAKE_BROWSER_MODE", mode)
    # A wrong state is ignored: the listener waits on, out to the timeout; a refusal ends it at once.
    r = registered("login", "acme", "--timeout", "30" if mode == "deny" else "3")
    assert r.code == 1
    assert f"acme: {code}" in one_line(r)
    assert page in last_page(browser_log, count=2)
    assert credentials(home) == {"acme": before}  # the existing credential is untouched


def test_second_callback_is_told_the_sign_in_is_over(registered: CliRunner, browser_log: Path, home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("FAKE_BROWSER_MODE", "twice")
    assert registered("login", "acme").code == 0
    first, second = browser_runs(browser_log)[-1]["callbacks"]
    assert first["status"] == 200
    assert second["status"] in (409, None)  # "already over", or the listener has closed
    assert list(credentials(home)) == ["acme"]


def test_a_forged_callback_is_ignored_and_the_real_one_signs_in(
    registered: CliRunner, browser_log: Path, home: Path, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any local process or web page can send the listener a request: one without this
    sign-in's state gets an error page and does not end the sign-in (issue 30)."""
    monkeypatch.setenv("FAKE_BROWSER_MODE", "forged-first")
    r = registered("login", "acme")
    assert r.code == 0, r.err
    forged, real = browser_runs(browser_log)[-1]["callbacks"]
    assert forged["status"] == 400 and "ignored" in forged["text"] and real["status"] == 200
    stored = credentials(home)["acme"]
    assert auth_server.token_state(stored.access_token.reveal()) == "active"  # type: ignore[union-attr]
    exchanges = [t for t in auth_server.token_requests() if t.grant_type == "authorization_code"]
    assert len(exchanges) == 1  # the forged code was never redeemed


@pytest.mark.parametrize("mode", ["never", "wrong-path"])
def test_nobody_comes_back_times_out(
    registered: CliRunner, home: Path, browser_log: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("FAKE_BROWSER_MODE", mode)
    r = registered("login", "acme", "--timeout", "3")  # the browser's wrong-path call lands well within it
    assert r.code == 1
    assert "no answer from the browser within 3 s" in one_line(r)
    assert credentials(home) == {}
    if mode == "wrong-path":
        assert browser_runs(browser_log)[-1]["callbacks"][0]["status"] == 404


@pytest.mark.parametrize(
    ("status", "content_type", "body", "words"),
    [
        (200, "text/html", b"<html>maintenance</html>", "did not answer JSON"),
        (200, "application/json", b'{"access_token": "abc', "did not answer JSON"),
        (200, "application/json", b'{"token_type": "Bearer"}', "no access_token"),
        (200, "application/json", b'{"access_token": "a", "expires_in": "tomorrow"}', "expires_in is not a number"),
        (200, "application/json", b'[{"access_token": "a"}]', "JSON list"),
        (200, "application/json", b'{"error": "server_error"}', "server_error"),
    ],
    ids=["html", "truncated-json", "no-access-token", "non-numeric-expires-in", "array", "error-with-200"],
)
def test_bad_token_responses_store_nothing(
    registered: CliRunner,
    auth_server: AuthServer,
    home: Path,
    status: int,
    content_type: str,
    body: bytes,
    words: str,
) -> None:
    assert registered("login", "acme").code == 0
    before = credentials(home)
    auth_server.settings.token_response_override = (status, content_type, body)
    r = registered("login", "acme")
    assert r.code == 1
    assert words in one_line(r) and one_line(r).startswith("tokendeck: acme: ")
    assert credentials(home) == before


def test_a_taken_fixed_port(registered: CliRunner, auth_server: AuthServer, home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = registered("provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", CLIENT_ID,
                       "--redirect-port", str(port))  # fmt: skip
        assert r.code == 0
        r = registered("login", "acme")
    assert r.code == 1 and f"port {port} on 127.0.0.1 is already in use" in one_line(r)
    assert credentials(home) == {}


def test_ctrl_c_in_the_middle(registered: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import webbrowser

    def user_presses_ctrl_c(url: str) -> bool:
        signal.raise_signal(signal.SIGINT)  # delivered to the main thread, waiting for the callback
        return True

    monkeypatch.setattr(webbrowser, "open", user_presses_ctrl_c)
    r = registered("login", "acme")
    assert r.code == 130 and "interrupted" in r.err and "Traceback" not in r.err
    assert credentials(home) == {}


def test_no_browser_paste(
    registered: CliRunner, auth_server: AuthServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--no-browser``: the user opens the URL elsewhere and pastes where the browser landed."""
    import httpx

    from vault.cli.signin import TerminalSignIn

    shown: list[str] = []
    monkeypatch.setattr(TerminalSignIn, "show_url", lambda self, url: shown.append(url))

    def paste(self: TerminalSignIn) -> str:
        with httpx.Client(timeout=5) as browser:
            browser.get(shown[0])
            consent = browser.post(shown[0], data={"confirm": "yes"})
        assert consent.status_code in (302, 303)
        return consent.headers["location"]  # the loopback URL no one listens on

    monkeypatch.setattr(TerminalSignIn, "ask_redirect", paste)
    r = registered("login", "acme", "--no-browser")
    assert r.code == 0, r.err
    assert credentials(home)["acme"].account == "alice@example.test"


def test_no_browser_paste_of_something_else(registered: CliRunner, home: Path) -> None:
    r = registered("login", "acme", "--no-browser", stdin="not a url\n")
    assert r.code == 1 and "state_mismatch" in one_line(r)
    assert credentials(home) == {}


# ---------------------------------------------------------------- registration


def test_discovery_with_a_mismatched_issuer_stores_nothing(cli: CliRunner, auth_server: AuthServer, home: Path) -> None:
    cli("init")
    auth_server.settings.metadata_overrides = {"issuer": "https://somebody-else.example"}
    r = cli("provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", CLIENT_ID)
    assert r.code == 1 and "issuer_mismatch" in one_line(r)
    with vault.open_vault(home) as v:
        assert v.records.clients() == []


@pytest.mark.parametrize("endpoint", ["javascript:alert(1)", "file:///etc/passwd", "http://auth.example.com/a"])
def test_unsafe_authorization_endpoint_is_refused(
    cli: CliRunner, auth_server: AuthServer, home: Path, endpoint: str
) -> None:
    cli("init")
    auth_server.settings.metadata_overrides = {"authorization_endpoint": endpoint}
    r = cli("provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", CLIENT_ID)
    assert r.code == 2 and "must be an https URL" in one_line(r)
    r = cli("provider", "add", "acme2", "--authorize-url", endpoint, "--token-url", auth_server.url("/token"),
            "--client-id", CLIENT_ID)  # fmt: skip
    assert r.code == 2
    with vault.open_vault(home) as v:
        assert v.records.clients() == []


def test_provider_list_show_rm(registered: CliRunner) -> None:
    listed = {p["name"]: p for p in json.loads(registered("provider", "list", "--json").out)}
    assert listed["acme"]["registered"] and listed["acme"]["base"] == "oidc"
    assert listed["github"]["builtin"] and not listed["github"]["registered"]
    shown = json.loads(registered("provider", "show", "acme", "--json").out)
    assert shown["registration"]["client_id"] == CLIENT_ID and shown["device_flow"] is True
    assert shown["endpoints"]["token_url"].endswith("/token")
    assert registered("provider", "rm", "acme").code == 0
    r = registered("login", "acme")
    assert r.code == 5 and "tokendeck provider add" in one_line(r)


def test_login_without_a_registration_says_where_to_register_one(cli: CliRunner, home: Path) -> None:
    cli("init")
    r = cli("login", "github")
    assert r.code == 5 and one_line(r) == (
        "tokendeck: no client registration for github: register an OAuth app at "
        "https://github.com/settings/applications/new, then tokendeck provider add github --client-id ID "
        "(tokendeck provider show github lists the redirect URI and scopes the app needs)"
    )
    with vault.open_vault(home) as v:  # nothing was stored
        assert v.credentials() == [] and v.records.clients() == []


def test_secret_is_required_where_the_provider_insists(cli: CliRunner, home: Path) -> None:
    cli("init")
    r = cli("provider", "add", "google", "--client-id", "x.apps.googleusercontent.com", stdin="")
    assert r.code == 2 and one_line(r) == "tokendeck: Google needs your app's client secret too; nothing was stored."
    r = cli("provider", "add", "google", "--client-id", "x.apps.googleusercontent.com", stdin="GOCSPX-s3cret\n")
    assert r.code == 0
    with vault.open_vault(home) as v:
        stored = v.records.get_client("google")
    assert stored.client_secret is not None and stored.client_secret.reveal() == "GOCSPX-s3cret"
    shown = cli("provider", "show", "google").out
    assert "GOCSPX" not in shown and "has_client_secret=True" in shown


def test_login_in_a_real_process(auth_server: AuthServer, browser_log: Path, home: Path) -> None:
    """The installed console script, its own process, $BROWSER from the environment."""
    import os
    import shutil
    import subprocess
    import sys

    auth_server.register_client(CLIENT_ID)
    tokendeck = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
    env = {**os.environ, "TOKENDECK_PASSPHRASE": "pw", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([tokendeck, *argv], env=env, capture_output=True, text=True, timeout=60, check=False)

    assert run("init").returncode == 0
    assert run("provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", CLIENT_ID).returncode == 0
    done = run("login", "acme")
    assert done.returncode == 0, done.stderr
    assert "stored as acme" in done.stderr and done.stdout == ""
    token = run("token", "acme").stdout.strip()
    assert auth_server.token_state(token) == "active"
    assert token not in done.stderr
