"""Issue 30: a credential whose refreshes keep failing backs off, and the backoff is kept by
every refresher (the agent's and the TUI's background one, a read, the CLI): stored with the
credential, exponential from the spacing to a ceiling of minutes with jitter, reset by a
success, never sooner than the provider's ``Retry-After``.  The loopback Authlib server
answers the refreshes (a 503, an HTML page, then success); time is the vault's frozen clock."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from tests.support.seeded import seed
from vault.core.clock import next_refresh_try
from vault.errors import ProviderError, RefreshBackoff
from vault.services.refresher import BackgroundRefresher
from vault.settings import MIN_REFRESH_SPACING, REFRESH_BACKOFF_CEILING, RETRY_AFTER_CEILING

FAILING = (503, "text/html", b"<html><body>Service Unavailable</body></html>")


@pytest.fixture
def clock() -> vault.FrozenClock:
    return vault.FrozenClock(time.time())


@pytest.fixture
def v(home: Path, clock: vault.FrozenClock) -> Iterator[vault.Vault]:
    opened = vault.init_vault(home, mode="keyring", clock=clock)
    yield opened
    opened.close()


def test_the_backoff_rule_doubles_from_the_spacing_to_the_ceiling_with_jitter() -> None:
    rng = random.Random(7)  # noqa: S311 - jitter, seeded for the test
    waits = [next_refresh_try(n, 1000.0, rng=rng) - 1000.0 for n in range(1, 12)]
    for n, wait in enumerate(waits, start=1):
        expected = min(MIN_REFRESH_SPACING * 2 ** (n - 1), REFRESH_BACKOFF_CEILING)
        assert 0.8 * expected <= wait <= 1.2 * expected, (n, wait)
    assert next_refresh_try(10_000, 0.0, rng=rng) <= 1.2 * REFRESH_BACKOFF_CEILING  # no overflow, capped
    assert next_refresh_try(1, 0.0, retry_after=300.0, rng=rng) == 300.0  # Retry-After honoured
    assert next_refresh_try(1, 0.0, retry_after=1e9, rng=rng) == RETRY_AFTER_CEILING


def test_a_failing_credential_is_tried_once_per_backoff_step_and_a_success_starts_over(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    seed(v, auth_server, "flaky", expires_in=10)
    auth_server.settings.token_response_override = FAILING
    refresher = BackgroundRefresher(v, rng=random.Random(1))  # noqa: S311 - jitter, seeded
    calls: list[float] = []
    start = clock.now()
    for _second in range(120):  # two minutes of runs, one a second: the timer's fastest
        before = auth_server.token_request_count("refresh_token")
        refresher.run_once()
        if auth_server.token_request_count("refresh_token") > before:
            calls.append(clock.now() - start)
        clock.advance(1)
    # 5 s, 10 s, 20 s, 40 s apart (give or take a fifth): 5 calls in 2 minutes, not 120.
    assert 4 <= len(calls) <= 6, calls
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert all(gap >= 0.8 * MIN_REFRESH_SPACING * 2**i - 1 for i, gap in enumerate(gaps)), gaps
    failing = v.get("flaky")
    assert failing.refresh_failures == len(calls) and failing.retry_at is not None and failing.retry_at > clock.now()
    assert failing.status_at(clock.now()) in ("refresh_failing", "expired")

    auth_server.settings.token_response_override = None
    clock.advance(failing.retry_at - clock.now() + 1)
    assert refresher.run_once()[0].kind == "refreshed"
    fresh = v.get("flaky")
    assert (fresh.refresh_failures, fresh.retry_at, fresh.last_error) == (0, None, None)


def test_retry_after_is_honoured(v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock) -> None:
    seed(v, auth_server, "limited", expires_in=10)
    auth_server.settings.token_response_override = (429, "application/json", b'{"error": "slow_down"}')
    auth_server.settings.token_response_headers = {"Retry-After": "600"}
    clock.advance(9)  # due
    BackgroundRefresher(v).run_once()
    limited = v.get("limited")
    if limited.retry_at is None:
        pytest.fail("no backoff was recorded")
    assert limited.retry_at - clock.now() >= 600 - 1


def test_a_read_during_the_backoff_gets_the_still_valid_token_and_no_request_is_sent(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    seed(v, auth_server, "flaky", expires_in=50)  # due for a read (within its margin), still valid
    seed(v, auth_server, "gone", expires_in=-5)  # already expired
    auth_server.settings.token_response_override = FAILING
    valid = v.get("flaky").access_token
    assert valid is not None and v.token("flaky") == valid.reveal()  # its refresh failed; the token is good
    with pytest.raises(ProviderError):
        v.token("gone")  # failed, and nothing valid to hand out
    requests = auth_server.token_request_count("refresh_token")
    clock.advance(2)  # within both backoffs
    assert v.token("flaky") == valid.reveal()
    with pytest.raises(RefreshBackoff, match=r"gone's refreshes are failing .*; the next try is in \d+s"):
        v.token("gone")
    assert auth_server.token_request_count("refresh_token") == requests  # nothing sent during the backoff


def test_the_cli_says_when_the_next_try_is_and_refresh_forces_one(
    cli: CliRunner, home: Path, auth_server: AuthServer
) -> None:
    assert cli("init").code == 0
    with vault.open_vault(home) as opened:
        seed(opened, auth_server, "flaky", expires_in=-5)
    auth_server.settings.token_response_override = FAILING
    first = cli("token", "flaky")
    assert first.code == 1 and "Traceback" not in first.err
    shown = json.loads(cli("show", "flaky", "--json").out)
    assert shown["refresh_failures"] == 1 and shown["next_refresh_try"] is not None
    requests = auth_server.token_request_count("refresh_token")
    again = cli("token", "flaky")
    assert again.code == 1 and "refreshes are failing" in again.err and "the next try is in" in again.err
    assert auth_server.token_request_count("refresh_token") == requests  # nothing sent
    auth_server.settings.token_response_override = None
    forced = cli("refresh", "flaky")
    assert forced.code == 0, forced.err
    assert json.loads(cli("show", "flaky", "--json").out)["refresh_failures"] == 0


def test_the_tui_s_facts_say_when_the_next_try_is(
    v: vault.Vault, auth_server: AuthServer, clock: vault.FrozenClock
) -> None:
    from screens.logic.facts import fact_values

    seed(v, auth_server, "flaky", expires_in=10)
    auth_server.settings.token_response_override = FAILING
    clock.advance(9)
    BackgroundRefresher(v, rng=random.Random(3)).run_once()  # noqa: S311 - jitter, seeded
    said = fact_values(v.get("flaky"), clock.now())["last_error"]
    assert said.startswith("http_503: the provider is unavailable · 1 in a row; next try in ")
