"""Refresh and revoke against the loopback Authlib server (rotating refresh tokens,
RFC 9700 reuse detection), on a frozen clock: refresh on read, rotation kept, each
failure class, bad answers, and revocation that leaves no bytes behind."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.seeded import CLIENT_ID, open_seeded, seed
from vault.errors import NeedsSignIn, ProviderError, RevokeFailed
from vault.services.refreshing import refresh
from vault.services.revoke import revoke


@pytest.fixture
def clock() -> vault.FrozenClock:
    import time

    return vault.FrozenClock(time.time())


@pytest.fixture
def v(home: Path, auth_server: AuthServer, clock: vault.FrozenClock) -> Iterator[vault.Vault]:
    opened = open_seeded(home, auth_server, clock)
    yield opened
    opened.close()


class Flaky(httpx2.BaseTransport):
    """Answers the first calls itself, then passes requests to the real network."""

    def __init__(self, *answers: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.answers = list(answers)
        self.real = httpx2.HTTPTransport()
        self.calls = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.calls += 1
        if self.answers:
            return self.answers.pop(0)(request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


def tokens(v: vault.Vault, name: str = "acme") -> tuple[str | None, str | None]:
    c = v.get(name)
    return (
        c.access_token.reveal() if c.access_token else None,
        c.refresh_token.reveal() if c.refresh_token else None,
    )


def audit(v: vault.Vault, name: str = "acme") -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in v.records.audit_log(credential=name)]


# --------------------------------------------------------------------- refresh


def test_token_refreshes_on_read_and_rotation_is_kept(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    old_access, old_refresh = tokens(v)
    assert v.token("acme") == old_access  # fresh: no refresh
    assert auth_server.token_request_count("refresh_token") == 0
    clock.advance(3600 - 30)  # inside the 60 s skew
    new_access = v.token("acme")
    assert new_access != old_access and auth_server.token_state(new_access) == "active"
    assert auth_server.token_request_count("refresh_token") == 1
    _, new_refresh = tokens(v)
    assert new_refresh != old_refresh and auth_server.token_state(old_refresh or "") != "active"
    stored = v.get("acme")
    assert stored.stored_status == "active" and stored.last_refreshed_at == clock.now()
    assert stored.expires_at == clock.now() + 3600
    assert v.token("acme") == new_access  # fresh again: no second refresh
    assert auth_server.token_request_count("refresh_token") == 1
    assert ("refresh", "ok") in audit(v)


def test_old_refresh_token_kept_when_none_comes_back(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    auth_server.settings.rotate_refresh_tokens = False
    _, old_refresh = tokens(v)
    refresh(v, "acme", force=True)
    assert tokens(v)[1] == old_refresh
    refresh(v, "acme", force=True)  # and it still works
    assert auth_server.token_request_count("refresh_token") == 2


def test_refresh_token_reuse_is_detected_and_marked(v: vault.Vault, auth_server: AuthServer) -> None:
    """Someone else used our refresh token (RFC 9700 §4.14.2): the grant is dead."""
    _, current = tokens(v)
    import httpx as plain

    plain.post(auth_server.url("/token"), data={"grant_type": "refresh_token", "refresh_token": current,
                                                "client_id": CLIENT_ID})  # fmt: skip
    plain.post(auth_server.url("/token"), data={"grant_type": "refresh_token", "refresh_token": current,
                                                "client_id": CLIENT_ID})  # fmt: skip
    before = tokens(v)
    with pytest.raises(NeedsSignIn, match="invalid_grant"):
        refresh(v, "acme", force=True)
    stored = v.get("acme")
    assert stored.stored_status == "needs_login" and tokens(v) == before  # nothing blanked
    assert stored.last_error and "invalid_grant" in stored.last_error
    assert ("refresh", "dead_grant") in audit(v)
    with pytest.raises(NeedsSignIn):
        v.token("acme")


@pytest.mark.parametrize(
    ("base", "status", "body"),
    [
        ("github", 200, {"error": "bad_refresh_token", "error_description": "The refresh token passed is incorrect"}),
        ("atlassian", 403, {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}),
        ("slack", 200, {"ok": False, "error": "invalid_refresh_token"}),
        ("oidc", 400, {"error": "invalid_grant"}),
    ],
)
def test_each_providers_dead_grant_marks_needs_login(
    v: vault.Vault, base: str, status: int, body: dict[str, object]
) -> None:
    registration = v.records.get_client("acme")
    v.records.set_client(dataclasses.replace(registration, base=base, client_secret=vault.Secret("s")))
    before = tokens(v)
    v.http_transport = httpx2.MockTransport(lambda request: httpx2.Response(status, json=body))
    with pytest.raises(NeedsSignIn):
        refresh(v, "acme", force=True)
    assert v.get("acme").stored_status == "needs_login" and tokens(v) == before


def _raise(error: type[httpx2.TransportError]) -> Callable[[httpx2.Request], httpx2.Response]:
    def answer(request: httpx2.Request) -> httpx2.Response:
        raise error("simulated", request=request)

    return answer


@pytest.mark.parametrize(
    ("answer", "sleeps"),
    [
        (lambda r: httpx2.Response(503, text="down"), [1.0, 2.0]),
        (lambda r: httpx2.Response(429, headers={"Retry-After": "7"}), [7.0, 7.0]),
        (lambda r: httpx2.Response(400, json={"error": "temporarily_unavailable"}), [1.0, 2.0]),
        (_raise(httpx2.ConnectError), [1.0, 2.0]),
        (_raise(httpx2.ReadTimeout), [1.0, 2.0]),
    ],
    ids=["503", "429-retry-after", "temporarily-unavailable", "connect-error", "read-timeout-mid-response"],
)
def test_transient_failures_are_retried_then_succeed(
    v: vault.Vault, answer: Callable[[httpx2.Request], httpx2.Response], sleeps: list[float]
) -> None:
    flaky = Flaky(answer, answer)
    v.http_transport = flaky
    slept: list[float] = []
    refreshed = refresh(v, "acme", force=True, sleep=slept.append)
    assert flaky.calls == 3 and refreshed.stored_status == "active"
    assert slept == sleeps
    assert audit(v).count(("refresh", "retrying")) == 2


def test_transient_failure_that_persists_changes_nothing(v: vault.Vault) -> None:
    before = tokens(v)
    v.http_transport = httpx2.MockTransport(lambda r: httpx2.Response(502, text="bad gateway"))
    with pytest.raises(ProviderError) as info:
        refresh(v, "acme", force=True, sleep=lambda s: None)
    assert info.value.transient and info.value.message.startswith("acme: http_502")
    stored = v.get("acme")
    assert stored.stored_status == "active" and tokens(v) == before
    assert stored.last_error == "http_502: the provider is unavailable"


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (200, b"<html>oops</html>", "bad_response"),
        (200, b"", "bad_response"),
        (200, b"[]", "bad_response"),
        (200, b'{"error": "invalid_request"}', "invalid_request"),
        (200, b'{"access_token": "x", "expires_in": -1}', "bad_response"),
        (200, b'{"access_token": "x", "expires_in": 99999999999}', "bad_response"),
        (200, b"{" + b" " * (2 * 1024 * 1024) + b"}", "bad_response"),
    ],
    ids=["html", "empty", "array", "error-200", "negative-expiry", "absurd-expiry", "huge"],
)
def test_bad_answers_leave_the_credential_usable(v: vault.Vault, status: int, body: bytes, code: str) -> None:
    before = tokens(v)
    v.http_transport = httpx2.MockTransport(lambda r: httpx2.Response(status, content=body))
    with pytest.raises(ProviderError) as info:
        refresh(v, "acme", force=True)
    assert info.value.code == code and all(t and t not in info.value.message for t in before)
    assert tokens(v) == before and v.get("acme").stored_status == "active"
    assert v.token("acme") == before[0]  # still valid, still handed out


@pytest.mark.parametrize("expires_in", [0, 1, 5 * 365 * 86400, None], ids=["zero", "one", "years", "absent"])
def test_odd_lifetimes_keep_the_rotated_refresh_token(v: vault.Vault, expires_in: int | None) -> None:
    """expires_in 0, 1, years or none at all: the answer is stored (with its rotated refresh
    token, which the provider will not accept twice), and a read refreshes again only if due."""
    body: dict[str, object] = {"access_token": "fresh-access", "refresh_token": "rotated-refresh"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    v.http_transport = httpx2.MockTransport(lambda r: httpx2.Response(200, json=body))
    refresh(v, "acme", force=True)
    stored = v.get("acme")
    assert tokens(v) == ("fresh-access", "rotated-refresh") and stored.stored_status == "active"
    now = v.clock.now()
    assert stored.expires_at == (None if expires_in is None else now + expires_in)
    assert stored.due(now) is (expires_in == 0)  # issued already expired: the next read refreshes


def test_client_errors_mark_the_credential(v: vault.Vault) -> None:
    v.http_transport = httpx2.MockTransport(lambda r: httpx2.Response(401, json={"error": "invalid_client"}))
    with pytest.raises(ProviderError):
        refresh(v, "acme", force=True)
    assert v.get("acme").status_at(v.clock.now()) == "error"


def test_fewer_scopes_are_stored_and_audited(v: vault.Vault, auth_server: AuthServer) -> None:
    body = {"access_token": "narrow", "token_type": "Bearer", "expires_in": 60, "scope": "openid"}
    v.http_transport = httpx2.MockTransport(lambda r: httpx2.Response(200, json=body))
    refreshed = refresh(v, "acme", force=True)
    assert refreshed.scopes == ("openid",)
    detail = [e.detail for e in v.records.audit_log(credential="acme") if e.action == "refresh"][-1]
    assert detail and "scopes narrowed" in detail and "-email" in detail


def test_no_refresh_token_means_expired_with_a_hint(v: vault.Vault, clock: vault.FrozenClock) -> None:
    c = v.get("acme")
    v.records.save(dataclasses.replace(c, refresh_token=None))
    clock.advance(4000)
    assert v.get("acme").status_at(clock.now()) == "expired"
    with pytest.raises(NeedsSignIn, match="tokendeck login acme"):
        v.token("acme")
    assert v.get("acme").access_token is not None  # kept, never blanked


# ---------------------------------------------------------------------- revoke


def plaintext_copy(v: vault.Vault, tmp_path: Path) -> bytes:
    """Every byte the vault holds, decrypted (sqlcipher_export into a plain database)."""
    target = tmp_path / "plain.db"
    conn = v.records._store._conn
    conn.execute(f"ATTACH DATABASE '{target}' AS plain KEY ''")
    conn.execute("SELECT sqlcipher_export('plain')")
    conn.execute("DETACH DATABASE plain")
    data = target.read_bytes()
    target.unlink()
    return data


def test_the_revocation_plan_says_what_revoke_will_do(v: vault.Vault) -> None:
    from vault.core.model import ClientRegistration
    from vault.services.revoke import RevocationPlan, revocation_plan

    v.records.set_client(
        ClientRegistration(provider="microsoft", base="microsoft", client_id="app", params={"tenant": "x"})
    )
    v.records.set_client(ClientRegistration(provider="github", base="github", client_id="device-only"))  # no secret
    v.records.save(dataclasses.replace(v.get("acme"), name="entra", provider="microsoft"))
    v.records.save(dataclasses.replace(v.get("acme"), name="gh", provider="github"))
    v.records.add_static("pat", provider="github-pat", token="ghp_x")
    v.records.add_static("mine", provider="my-own-kind", token="tok")
    plans = {name: revocation_plan(v, v.get(name)) for name in ("acme", "entra", "gh", "pat", "mine")}
    no_endpoint = "{} has no revocation endpoint"
    assert plans == {
        "acme": RevocationPlan(by_api=True),  # the loopback server advertises RFC 7009
        "entra": RevocationPlan(False, "https://myaccount.microsoft.com/", no_endpoint.format("microsoft")),
        "gh": RevocationPlan(  # GitHub's revoke call authenticates with the secret (PROVIDERS.md Part E)
            False,
            "https://github.com/settings/applications",
            "github revokes a token only with the app's client secret, and this registration has none "
            "(add it with tokendeck provider add github --client-id ID --with-secret)",
        ),
        "pat": RevocationPlan(
            False, "https://github.com/settings/personal-access-tokens", no_endpoint.format("github-pat")
        ),
        "mine": RevocationPlan(False, None, "its provider is not known here, so it has no revocation endpoint"),
    }
    result = revoke(v, "entra", erase_without_provider=True)  # and revoke does what it said
    assert (result.revoked_at_provider, result.manual_url) == (False, plans["entra"].manual_url)


def test_revoke_for_real_then_erase(v: vault.Vault, auth_server: AuthServer, tmp_path: Path) -> None:
    access, refresh_token = tokens(v)
    assert access and refresh_token
    assert access.encode() in plaintext_copy(v, tmp_path)  # the check below can see tokens
    result = revoke(v, "acme")
    assert result.revoked_at_provider and result.erased
    assert auth_server.token_state(access) != "active" and auth_server.token_state(refresh_token) != "active"
    hints = [r.token_type_hint for r in auth_server.revocations()]
    assert hints[0] == "refresh_token"  # the refresh token first
    assert v.get("acme").status_at(v.clock.now()) == "revoked" and tokens(v) == (None, None)
    plain = plaintext_copy(v, tmp_path)
    assert access.encode() not in plain and refresh_token.encode() not in plain
    assert ("revoke", "ok") in audit(v)


def test_revoke_failure_erases_nothing(v: vault.Vault) -> None:
    before = tokens(v)
    v.http_transport = httpx2.MockTransport(lambda r: httpx2.Response(400, json={"error": "invalid_client"}))
    with pytest.raises(RevokeFailed, match="invalid_client"):
        revoke(v, "acme")
    assert tokens(v) == before and v.get("acme").stored_status == "active"


@pytest.mark.parametrize(
    ("base", "check"),
    [
        ("github", lambda r: r.method == "DELETE" and r.url.path == f"/applications/{CLIENT_ID}/token"
         and r.headers["authorization"].startswith("Basic ") and "access_token" in json.loads(r.content)),
        ("linear", lambda r: b"refresh_token=" in r.content),
        ("slack", lambda r: r.headers["authorization"].startswith("Bearer ")),
        ("notion", lambda r: r.headers["authorization"].startswith("Basic ") and "token" in json.loads(r.content)),
        ("dropbox", lambda r: r.headers["authorization"].startswith("Bearer ") and r.content == b""),
    ],
)  # fmt: skip
def test_revoke_speaks_each_providers_dialect(
    v: vault.Vault, base: str, check: Callable[[httpx2.Request], bool]
) -> None:
    registration = v.records.get_client("acme")
    v.records.set_client(dataclasses.replace(registration, base=base, client_secret=vault.Secret("s"), overrides={}))
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if base == "github":
            return httpx2.Response(204)
        if base == "slack":
            return httpx2.Response(200, json={"ok": True, "revoked": True})
        return httpx2.Response(200, json={})

    v.http_transport = httpx2.MockTransport(answer)
    assert revoke(v, "acme").revoked_at_provider
    assert seen and all(check(r) for r in seen[:1])
    assert tokens(v) == (None, None)


def test_providers_without_revocation_say_where_to_go(v: vault.Vault) -> None:
    registration = v.records.get_client("acme")
    v.records.set_client(
        dataclasses.replace(registration, base="atlassian", client_secret=vault.Secret("s"), overrides={})
    )
    result = revoke(v, "acme")
    assert not result.revoked_at_provider and not result.erased
    assert result.manual_url == "https://id.atlassian.com/manage-profile/apps"
    assert tokens(v)[0] is not None
    assert revoke(v, "acme", erase_without_provider=True).erased
    assert tokens(v) == (None, None)


def test_second_credential_is_untouched(v: vault.Vault, auth_server: AuthServer) -> None:
    seed(v, auth_server, "acme-2")
    other = tokens(v, "acme-2")
    revoke(v, "acme")
    assert tokens(v, "acme-2") == other and auth_server.token_state(other[0] or "") == "active"


def test_a_refresh_never_overwrites_what_changed_meanwhile(v: vault.Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new sign-in stored while a refresh was in flight wins; the refresh is dropped."""
    from vault.oauth.client import OAuthClient

    real = OAuthClient.token_request

    def sign_in_meanwhile(self: OAuthClient, *args: object, **kwargs: object) -> dict[str, object]:
        answer = real(self, *args, **kwargs)  # type: ignore[arg-type]
        c = v.get("acme")
        v.records.save(
            dataclasses.replace(c, access_token=vault.Secret("from-login"), refresh_token=vault.Secret("r-login"))
        )
        return answer

    monkeypatch.setattr(OAuthClient, "token_request", sign_in_meanwhile)
    with pytest.raises(vault.VaultError, match="changed while it was being refreshed"):
        refresh(v, "acme", force=True)
    assert tokens(v) == ("from-login", "r-login")
    assert ("refresh", "discarded") in audit(v)


def test_delete_waits_for_a_refresh_in_flight(v: vault.Vault, auth_server: AuthServer) -> None:
    import threading

    release = threading.Event()
    started = threading.Event()
    real = httpx2.HTTPTransport()

    class Slow(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            started.set()
            release.wait(10)
            return real.handle_request(request)

    v.http_transport = Slow()
    refresher = threading.Thread(target=refresh, args=(v, "acme"), kwargs={"force": True})
    refresher.start()
    assert started.wait(10)
    deleter = threading.Thread(target=v.remove, args=("acme",))
    deleter.start()
    deleter.join(0.3)
    assert deleter.is_alive()  # blocked on the credential's lock, not racing the refresh
    release.set()
    refresher.join(10)
    deleter.join(10)
    assert not v.records.exists("acme")  # deleted after the refresh, not resurrected by it


def test_refreshes_share_one_client_that_keeps_no_cookies(v: vault.Vault) -> None:
    """One ``httpx2.Client`` per vault for every refresh, from any thread; a provider's cookie is
    never kept, so no credential's request carries one another's refresh was given."""
    sent: list[str | None] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers.get("cookie"))
        body = {"access_token": f"at-{len(sent)}", "token_type": "Bearer", "expires_in": 3600}
        return httpx2.Response(200, json=body, headers={"Set-Cookie": "session=abc; Path=/"})

    v.http_transport = httpx2.MockTransport(answer)
    shared = v.http_client
    refresh(v, "acme", force=True)
    refresh(v, "acme", force=True)
    assert v.http_client is shared and not shared.is_closed  # not closed after each refresh
    assert sent == [None, None] and len(shared.cookies.jar) == 0
    v.http_transport = None
    assert v.http_client is not shared  # a new transport: a new client on it
