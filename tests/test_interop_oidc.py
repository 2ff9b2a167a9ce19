"""The interoperability tier: ``tokendeck`` against panva's ``oidc-provider`` (OpenID Certified,
pinned in ``tests/interop/package-lock.json``), a server nobody on the team wrote, on loopback.

Each test registers a public native client by the provider's own dynamic registration
endpoint, adds it with ``tokendeck provider add NAME --issuer ISSUER --client-id ID``, and runs
the real CLI; the fake browser (``$BROWSER``) walks the provider's pages.  What the provider
says (introspection, userinfo, its request log) is the evidence, not what tokendeck believes."""

from __future__ import annotations

import json
import shlex
import socket
import threading
import webbrowser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import vault
from tests.support.cli import CliRunner, Result
from tests.support.fake_browser import browser_command, read_log
from tests.support.oidc_provider import OidcProvider

NAME = "certified"


@pytest.fixture
def client(oidc_provider: OidcProvider) -> dict[str, Any]:
    """A public native client, registered with the provider by RFC 7591."""
    return oidc_provider.register_native_client()


@pytest.fixture
def added(cli: CliRunner, oidc_provider: OidcProvider, client: dict[str, Any], browser_log: Path) -> CliRunner:
    """A keyring vault with the provider added (by discovery) as ``certified``."""
    assert cli("init").code == 0
    r = cli(
        "provider", "add", NAME, "--issuer", oidc_provider.issuer, f"--client-id={client['client_id']}"
    )  # the id may start with "-"
    assert r.code == 0, r.err
    return cli


def stored(home: Path) -> dict[str, vault.Credential]:
    with vault.open_vault(home) as v:
        return {c.name: c for c in v.credentials()}


def secret(value: vault.Secret | None) -> vault.Secret:
    """A stored token, which must be there (kept as a Secret: a failing assertion shows
    ``Secret('***')``, never the token)."""
    assert value is not None
    return value


def shows(text: str, value: vault.Secret) -> bool:
    return value.reveal() in text


def one_line(r: Result) -> str:
    lines = [line for line in r.err.splitlines() if line.startswith("tokendeck:")]
    assert len(lines) == 1, r.err
    assert "Traceback" not in r.err
    return lines[0]


def test_browser_sign_in(
    added: CliRunner, oidc_provider: OidcProvider, client: dict[str, Any], browser_log: Path, home: Path
) -> None:
    r = added("login", NAME)
    assert r.code == 0, r.err
    assert f"signed in to {NAME} as alice@acceptance.test; stored as {NAME}" in r.err
    credential = stored(home)[NAME]
    assert credential.account == "alice@acceptance.test"
    assert set(credential.scopes) == {"openid", "email", "profile", "offline_access"}
    access, refresh = secret(credential.access_token), secret(credential.refresh_token)
    found = oidc_provider.introspect(access)
    assert found["active"] is True and found["sub"] == "alice" and found["client_id"] == client["client_id"]
    assert oidc_provider.userinfo(access).json()["email"] == "alice@acceptance.test"
    assert oidc_provider.introspect(refresh, "refresh_token")["active"] is True
    assert credential.expires_at is not None and credential.last_refreshed_at is not None
    assert credential.expires_at - credential.last_refreshed_at == pytest.approx(oidc_provider.access_token_ttl, abs=2)
    (asked,) = oidc_provider.requests("authorization")
    assert asked["code_challenge_method"] == "S256" and asked["prompt"] == "consent" and asked["has_state"]
    assert "offline_access" in asked["scope"].split()
    assert asked["redirect_uri"].startswith("http://127.0.0.1:") and asked["redirect_uri"].endswith("/callback")
    (exchange,) = oidc_provider.requests("token", grant_type="authorization_code")
    assert exchange["status"] == 200 and exchange["issued_refresh_token"]
    (run,) = read_log(browser_log)
    assert run["callbacks"][0]["status"] == 200 and f"Signed in to {NAME}" in run["final"]["text"]
    callback = parse_qs(urlsplit(run["callbacks"][0]["url"]).query)
    assert callback["iss"] == [oidc_provider.issuer]  # RFC 9207, which tokendeck checks
    assert not shows(r.err + r.out, access) and not shows(r.err + r.out, refresh)


def play_the_device_user(oidc_provider: OidcProvider, client_id: str) -> threading.Thread:
    """On a thread: wait for the device authorization, then open its verification_uri_complete
    in the fake browser (FAKE_BROWSER_MODE says whether the user approves), as the user would
    on another device.  ``tokendeck login --device`` opens no browser: it prints the code."""

    def user() -> None:
        started = oidc_provider.wait_for("device_authorization", client_id=client_id, status=200)
        webbrowser.GenericBrowser(shlex.split(browser_command())).open(started["verification_uri_complete"])

    thread = threading.Thread(target=user, daemon=True)
    thread.start()
    return thread


def test_device_sign_in(
    added: CliRunner,
    oidc_provider: OidcProvider,
    client: dict[str, Any],
    browser_log: Path,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_BROWSER_MODE", "device")
    monkeypatch.setenv("FAKE_BROWSER_USER", "bob")
    user = play_the_device_user(oidc_provider, client["client_id"])
    r = added("login", NAME, "--device")
    user.join(15)
    assert r.code == 0, r.err
    (started,) = oidc_provider.requests("device_authorization")
    assert f"Enter the code  {started['user_code']}  at {oidc_provider.url('/device')}" in r.err
    assert "signed in to certified as bob@acceptance.test" in r.err
    credential = stored(home)[NAME]
    assert credential.account == "bob@acceptance.test"
    found = oidc_provider.introspect(secret(credential.access_token))
    assert found["active"] is True and found["sub"] == "bob"
    assert oidc_provider.introspect(secret(credential.refresh_token), "refresh_token")["active"] is True
    polls = oidc_provider.requests("token", grant_type="urn:ietf:params:oauth:grant-type:device_code")
    assert polls[-1]["status"] == 200 and polls[-1]["issued_refresh_token"]
    assert all(p.get("error") == "authorization_pending" for p in polls[:-1])
    (run,) = read_log(browser_log)
    pages = [(q["method"], urlsplit(q["url"]).path.split("/")[1]) for q in run["requests"]]
    assert ("POST", "device") in pages and ("POST", "interaction") in pages  # its code form, then ours
    assert "Sign-in Success" in run["final"]["text"]


def test_refresh_rotates_and_never_replays(
    added: CliRunner, oidc_provider: OidcProvider, client: dict[str, Any], home: Path
) -> None:
    """oidc-provider rotates the refresh token on every use, and treats a rotated one presented
    again as a replay: invalid_grant, and the whole grant revoked.  tokendeck stores each new
    refresh token before anything else and never sends an old one, so after several refreshes
    the grant is alive; the test's own replay then kills it, and tokendeck says so."""
    assert added("login", NAME).code == 0
    first = stored(home)[NAME]
    chain = [secret(first.refresh_token)]
    access = [secret(first.access_token)]
    for _ in range(4):
        r = added("refresh", NAME)
        assert r.code == 0, r.err
        now = stored(home)[NAME]
        chain.append(secret(now.refresh_token))
        access.append(secret(now.access_token))
        assert chain[-1] != chain[-2] and access[-1] != access[-2]
        assert oidc_provider.introspect(chain[-2], "refresh_token")["active"] is False  # consumed
        assert oidc_provider.introspect(chain[-1], "refresh_token")["active"] is True
        assert oidc_provider.introspect(access[-1])["active"] is True
        assert now.account == first.account and now.created_at == first.created_at
    refreshes = oidc_provider.requests("token", grant_type="refresh_token")
    assert [q["status"] for q in refreshes] == [200] * 4 and all(q["issued_refresh_token"] for q in refreshes)
    assert oidc_provider.log()["revoked_grants"] == 0  # no replay: the grant is alive
    r = added("token", NAME)
    assert r.code == 0 and oidc_provider.introspect(vault.Secret(r.out.strip()))["active"] is True
    assert len(oidc_provider.requests("token", grant_type="refresh_token")) == 4  # a fresh token: no refresh

    replay = oidc_provider.token(grant_type="refresh_token", refresh_token=chain[0], client_id=client["client_id"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert oidc_provider.requests("token", status=400)[-1]["error_detail"] == "refresh token already used"
    assert oidc_provider.log()["revoked_grants"] == 1
    assert oidc_provider.introspect(chain[-1], "refresh_token")["active"] is False  # the grant went with it
    before = stored(home)[NAME]
    r = added("refresh", NAME)
    assert r.code == 4, r.err  # needs sign-in
    assert "invalid_grant" in one_line(r) and f"tokendeck login {NAME}" in r.err
    after = stored(home)[NAME]
    assert after.status_at(after.updated_at) == "needs_login"
    assert after.refresh_token == before.refresh_token and after.access_token == before.access_token  # kept
    assert added("login", NAME).code == 0  # what the advice says repairs it
    again = stored(home)[NAME]
    assert again.status_at(again.updated_at) == "active"
    assert oidc_provider.introspect(secret(again.refresh_token), "refresh_token")["active"] is True


def test_revoke_revokes_at_the_provider(added: CliRunner, oidc_provider: OidcProvider, home: Path) -> None:
    assert added("login", NAME).code == 0
    credential = stored(home)[NAME]
    access, refresh = secret(credential.access_token), secret(credential.refresh_token)
    r = added("revoke", NAME, "--yes")
    assert r.code == 0, r.err
    assert oidc_provider.introspect(access)["active"] is False
    assert oidc_provider.introspect(refresh, "refresh_token")["active"] is False
    revocations = oidc_provider.requests("revocation")
    assert [q["status"] for q in revocations] == [200] * len(revocations) and revocations
    assert revocations[0]["token_type_hint"] == "refresh_token"  # the grant first (RFC 7009 §2.1)
    after = stored(home)[NAME]
    assert after.status_at(after.updated_at) == "revoked"
    assert after.access_token is None and after.refresh_token is None and after.id_token is None
    events = [(e["action"], e["outcome"]) for e in json.loads(added("audit", "--json").out) if e["credential"] == NAME]
    assert events[-1][0] == "revoke"


def test_denied_consent_stores_nothing(
    added: CliRunner, oidc_provider: OidcProvider, browser_log: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BROWSER_MODE", "deny")
    r = added("login", NAME)
    assert r.code == 1
    assert f"{NAME}: access_denied" in one_line(r)
    assert stored(home) == {}
    assert oidc_provider.requests("token") == []
    (run,) = read_log(browser_log)
    assert "did not complete" in run["final"]["text"]


def test_a_denied_sign_in_leaves_the_existing_credential(
    added: CliRunner, oidc_provider: OidcProvider, client: dict[str, Any], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert added("login", NAME).code == 0
    before = stored(home)
    monkeypatch.setenv("FAKE_BROWSER_MODE", "device-deny")
    user = play_the_device_user(oidc_provider, client["client_id"])
    r = added("login", NAME, "--device")
    user.join(15)
    assert r.code == 1
    assert "declined" in one_line(r)
    assert stored(home) == before
    assert oidc_provider.introspect(secret(before[NAME].refresh_token), "refresh_token")["active"] is True


def test_a_web_client_needs_its_exact_redirect_uri(
    cli: CliRunner, oidc_provider: OidcProvider, browser_log: Path, home: Path
) -> None:
    """A web client's redirect URI matches exactly, port included (only a native client's
    loopback URI matches on any port): on tokendeck's random port the provider shows an error
    page instead of redirecting, and the sign-in ends at its timeout with nothing stored; with
    ``--redirect-port`` set to the registered port it signs in."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = oidc_provider.register_native_client(application_type="web",
                                               redirect_uris=[f"http://127.0.0.1:{port}/callback"])  # fmt: skip
    assert cli("init").code == 0
    assert cli("provider", "add", "web", "--issuer", oidc_provider.issuer, f"--client-id={web['client_id']}").code == 0
    r = cli("login", "web", "--timeout", "2")
    assert r.code == 1
    said = one_line(r)
    assert "no answer from the browser within 2 s" in said and "invalid_redirect_uri" in said
    (asked,) = oidc_provider.requests("authorization")
    assert f"the app does not accept {asked['redirect_uri']})" in said  # the URI the user can compare
    assert stored(home) == {}
    (run,) = read_log(browser_log)
    assert run["final"]["status"] == 400 and "redirect_uri did not match" in run["final"]["text"]
    (refused,) = oidc_provider.requests("authorization")
    assert refused["error"] == "invalid_redirect_uri"

    r = cli("provider", "add", "web", "--issuer", oidc_provider.issuer, f"--client-id={web['client_id']}",
            "--redirect-port", str(port))  # fmt: skip
    assert r.code == 0, r.err
    r = cli("login", "web")
    assert r.code == 0, r.err
    assert oidc_provider.introspect(secret(stored(home)["web"].access_token))["active"] is True


def test_a_confidential_client(cli: CliRunner, oidc_provider: OidcProvider, browser_log: Path, home: Path) -> None:
    """A client registered with a secret (client_secret_basic, RFC 7591's default): the secret
    read from stdin authenticates the code exchange, the refresh and the revocation."""
    confidential = oidc_provider.register_native_client(token_endpoint_auth_method="client_secret_basic")
    assert cli("init").code == 0
    r = cli("provider", "add", NAME, "--issuer", oidc_provider.issuer, f"--client-id={confidential['client_id']}",
            "--with-secret", stdin=confidential["client_secret"] + "\n")  # fmt: skip
    assert r.code == 0, r.err
    assert cli("login", NAME).code == 0
    assert cli("refresh", NAME).code == 0
    assert oidc_provider.introspect(secret(stored(home)[NAME].access_token))["active"] is True
    assert cli("revoke", NAME, "--yes").code == 0
    calls = [(q["route"], q.get("grant_type"), q["status"]) for q in oidc_provider.requests()]
    assert [c for c in calls if c[0] in ("token", "revocation")] == [
        ("token", "authorization_code", 200),
        ("token", "refresh_token", 200),
        ("revocation", None, 200),
        ("revocation", None, 200),
    ]  # a confidential client without its secret gets 401 invalid_client at each
