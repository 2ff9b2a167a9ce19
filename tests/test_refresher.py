"""The background refresher on a frozen clock: refreshes what is due with bounded
concurrency, reports dead grants and failures as events, warns once before static
and refresh tokens expire.  No sleeping: run_once is driven directly."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from vault.services.refresher import BackgroundRefresher, RefreshEvent


@pytest.fixture
def clock() -> vault.FrozenClock:
    return vault.FrozenClock(time.time())


@pytest.fixture
def v(home: Path, clock: vault.FrozenClock) -> Iterator[vault.Vault]:
    opened = vault.init_vault(home, mode="keyring", clock=clock)
    yield opened
    opened.close()


def kinds(events: list[RefreshEvent]) -> dict[str, str]:
    return {e.credential: e.kind for e in events}


def test_refreshes_only_what_is_due(v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock) -> None:
    seed(v, auth_server, "soon", expires_in=120)
    seed(v, auth_server, "later", expires_in=3600)
    v.records.add_static("pat", provider="github-pat", token="ghp_static")
    seen: list[RefreshEvent] = []
    events = BackgroundRefresher(v, window=300, on_event=seen.append).run_once()
    assert kinds(events) == {"soon": "refreshed"} and seen == events
    assert auth_server.token_request_count("refresh_token") == 1
    assert v.get("soon").expires_at == clock.now() + 3600
    clock.advance(3600 - 200)  # now "later" is within the window, and "soon" again
    assert kinds(BackgroundRefresher(v, window=300).run_once()) == {"soon": "refreshed", "later": "refreshed"}
    assert BackgroundRefresher(v, window=300).run_once() == []  # nothing due right after


def test_five_minutes_of_a_sixty_second_token(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    auth_server.settings.access_token_lifetime = 60
    seed(v, auth_server, "short", expires_in=60)
    refresher = BackgroundRefresher(v, window=30, interval=15)
    for _ in range(20):  # 20 ticks of 15 s of fake time
        refresher.run_once()
        token = v.get("short").access_token
        assert token is not None and auth_server.token_state(token.reveal()) == "active"
        assert v.get("short").expires_at > clock.now()  # type: ignore[operator]
        clock.advance(15)
    assert 8 <= auth_server.token_request_count("refresh_token") <= 12


def test_failures_become_events_not_exceptions(
    v: vault.Vault, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(v, auth_server, "dead", expires_in=10)
    seed(v, auth_server, "flaky", expires_in=10)
    dead_refresh = v.get("dead").refresh_token

    def answer(request: httpx2.Request) -> httpx2.Response:
        if dead_refresh is not None and dead_refresh.reveal().encode() in request.content:
            return httpx2.Response(400, json={"error": "invalid_grant"})
        return httpx2.Response(503)

    v.http_transport = httpx2.MockTransport(answer)
    from vault.services import refreshing as lifecycle

    original = lifecycle.refresh

    def no_backoff(*args: object, **kwargs: object) -> vault.Credential:
        return original(*args, **{**kwargs, "sleep": lambda seconds: None})  # type: ignore[arg-type]

    monkeypatch.setattr("vault.services.refresher.refresh", no_backoff)
    events = BackgroundRefresher(v, window=300).run_once()
    assert kinds(events) == {"dead": "needs_login", "flaky": "failed"}
    assert v.get("dead").stored_status == "needs_login" and v.get("flaky").stored_status == "active"
    assert "tokendeck login" in next(e.detail for e in events if e.credential == "dead")


def test_bounded_concurrency(v: vault.Vault, auth_server: AuthServer) -> None:
    for i in range(8):
        seed(v, auth_server, f"c{i}", expires_in=10)
    active = 0
    peak = 0
    lock = threading.Lock()
    real = httpx2.HTTPTransport()

    class Counting(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.05)  # hold the slot so overlaps show (real time, not the vault's clock)
            try:
                return real.handle_request(request)
            finally:
                with lock:
                    active -= 1

    v.http_transport = Counting()
    events = BackgroundRefresher(v, window=300, concurrency=3).run_once()
    assert len(events) == 8 and all(e.kind == "refreshed" for e in events)
    assert 2 <= peak <= 3


def test_expiry_warnings_once_each(v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock) -> None:
    v.records.add_static("pat", provider="github-pat", token="ghp_x", expires_at=clock.now() + 3 * 86400)
    v.records.add_static("far", provider="github-pat", token="ghp_y", expires_at=clock.now() + 30 * 86400)
    c = seed(v, auth_server, "oauth", expires_in=3600)
    v.records.save(dataclasses.replace(c, refresh_expires_at=clock.now() + 2 * 86400))
    refresher = BackgroundRefresher(v)
    events = refresher.run_once()
    assert kinds(events) == {"pat": "expiring", "oauth": "expiring"}
    assert "token expires in 3d" in next(e.detail for e in events if e.credential == "pat")
    assert "refresh token expires in 2d" in next(e.detail for e in events if e.credential == "oauth")
    assert refresher.run_once() == []  # warned once
    assert ("expiry-warning", "warned") in [(e.action, e.outcome) for e in v.records.audit_log(credential="pat")]


def test_no_warning_for_a_refresh_token_it_does_not_hold(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    """The warning follows the credential's deadline: without a refresh token, that is its
    access token's expiry (on the list's countdown), not a stale refresh-token expiry."""
    c = seed(v, auth_server, "oauth", expires_in=3 * 86400)
    v.records.save(dataclasses.replace(c, refresh_token=None, refresh_expires_at=clock.now() + 2 * 86400))
    assert BackgroundRefresher(v).run_once() == []
    assert ("expiry-warning", "warned") not in [(e.action, e.outcome) for e in v.records.audit_log(credential="oauth")]


def test_timer_runs_and_stops(v: vault.Vault, auth_server: AuthServer) -> None:
    seed(v, auth_server, "soon", expires_in=10)
    ran = threading.Event()
    refresher = BackgroundRefresher(v, window=300, interval=3600, on_event=lambda e: ran.set())
    refresher.start()
    try:
        assert ran.wait(10)
    finally:
        refresher.stop()
    assert refresher.last_run is not None and refresher.next_run is not None
    waits = {round(BackgroundRefresher(v, window=300, interval=100, jitter=0.1).next_wait()) for _ in range(50)}
    assert min(waits) >= 90 and max(waits) <= 100 and len(waits) > 1  # jitter only ever shortens a wait


# ------------------------------------------------------- lifetimes, not a fixed minute


def test_the_refresher_wakes_for_the_next_credential_due(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    """A 20-second token is renewed in the last quarter of its life: the next run is planned
    for then, not a minute later; an hour-long one, 5 minutes before it expires."""
    seed(v, auth_server, "short", expires_in=20)
    refresher = BackgroundRefresher(v, interval=60, jitter=0.1)
    assert refresher.run_once() == []  # just issued: not due
    waits = [refresher.next_wait() for _ in range(30)]
    assert min(waits) >= 13.5 and max(waits) <= 15.0
    clock.advance(15)
    assert kinds(refresher.run_once()) == {"short": "refreshed"}
    v.remove("short")
    seed(v, auth_server, "hour", expires_in=3600)
    assert BackgroundRefresher(v, interval=600, jitter=0).next_wait() == 600  # capped by the interval
    assert BackgroundRefresher(v, interval=7200, jitter=0).next_wait() == 3600 - 300


def test_three_minutes_of_a_twenty_second_token_read_every_second(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    """The refresher runs when it plans to, a reader asks every second: no read ever sees an
    expired token or refreshes one itself, and the server sees one refresh per 15 s of life."""
    auth_server.settings.access_token_lifetime = 20
    seed(v, auth_server, "short", expires_in=20)
    refresher = BackgroundRefresher(v, interval=60, jitter=0.1)
    next_run = clock.now()
    for _second in range(180):
        if clock.now() >= next_run:
            refresher.run_once()
            next_run = clock.now() + refresher.next_wait()
        token = v.token("short")
        assert auth_server.token_state(token) == "active"
        clock.advance(1)
    refreshes = auth_server.token_request_count("refresh_token")
    assert 10 <= refreshes <= 14, refreshes  # 180 s / 15 s; not one per read (180)
    assert {(e.action, e.outcome) for e in v.records.audit_log(credential="short")} == {
        ("seed", "ok"),
        ("refresh", "ok"),
    }


def test_a_token_issued_for_one_second_does_not_make_it_spin(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    """expires_in 1: always due, but renewed at most every MIN_REFRESH_SPACING seconds."""
    from vault.settings import MIN_REFRESH_SPACING

    auth_server.settings.access_token_lifetime = 1
    seed(v, auth_server, "blink", expires_in=1)
    refresher = BackgroundRefresher(v, interval=60, jitter=0)
    clock.advance(1)
    assert kinds(refresher.run_once()) == {"blink": "refreshed"}
    assert refresher.run_once() == []  # due, but refreshed a moment ago
    assert refresher.next_wait() == MIN_REFRESH_SPACING
    clock.advance(MIN_REFRESH_SPACING)
    assert kinds(refresher.run_once()) == {"blink": "refreshed"}
    assert auth_server.token_request_count("refresh_token") == 2


def test_expiry_warnings_survive_a_restart_of_the_refresher(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    """Once per credential per expiry, not once per start: a new refresher (an agent started
    again, unlocked again) finds the warning already given."""
    v.records.add_static("pat", provider="github-pat", token="ghp_x", expires_at=clock.now() + 3 * 86400)
    assert kinds(BackgroundRefresher(v).run_once()) == {"pat": "expiring"}
    assert BackgroundRefresher(v).run_once() == []
    clock.advance(86400)
    assert BackgroundRefresher(v).run_once() == []  # the same expiry, a day nearer
    v.remove("pat")
    v.records.add_static("pat", provider="github-pat", token="ghp_y", expires_at=clock.now() + 5 * 86400)
    assert kinds(BackgroundRefresher(v).run_once()) == {"pat": "expiring"}  # a new expiry: warned again
    warned = [e for e in v.records.audit_log(credential="pat") if e.action == "expiry-warning"]
    assert len(warned) == 2


def test_an_unexpected_error_does_not_stop_the_timer(
    v: vault.Vault, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one run is reported (its type only) and the next run still comes."""
    seed(v, auth_server, "soon", expires_in=10)
    runs: list[int] = []
    seen: list[RefreshEvent] = []

    def broken(self: BackgroundRefresher) -> list[RefreshEvent]:
        runs.append(1)
        raise KeyError("secret-looking text")

    monkeypatch.setattr(BackgroundRefresher, "run_once", broken)
    refresher = BackgroundRefresher(v, interval=0.01, on_event=seen.append)
    monkeypatch.setattr("vault.services.refresher.MIN_WAIT", 0.01)
    refresher.start()
    try:
        deadline = time.monotonic() + 10
        while len(runs) < 3:
            assert time.monotonic() < deadline, "the timer stopped after an unexpected error"
            time.sleep(0.01)
    finally:
        refresher.stop()
    assert seen and all(e.kind == "failed" and "KeyError" in e.detail for e in seen)
    assert not any("secret-looking" in e.detail for e in seen)


def test_the_audit_log_keeps_a_year_or_what_tokendeck_audit_days_says(
    v: vault.Vault, clock: vault.FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = clock.now()
    v.records.record("old", "ok", credential="x")  # 400 days before the refresher looks
    clock.advance(380 * 86400)
    v.records.record("recent", "ok", credential="x")  # 20 days before
    clock.advance(20 * 86400)
    BackgroundRefresher(v).run_once()
    assert [e.action for e in v.records.audit_log(credential="x")] == ["recent"]
    monkeypatch.setenv("TOKENDECK_AUDIT_DAYS", "10")
    BackgroundRefresher(v).run_once()
    assert v.records.audit_log(credential="x") == []
    assert clock.now() - start == 400 * 86400
