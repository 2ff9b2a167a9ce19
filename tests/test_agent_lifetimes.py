"""The agent as a user leaves it running: it follows short token lifetimes for minutes on
end, says when it will lock itself, and warns once per expiry however often it restarts.
Real processes at the shipped KDF cost, against the loopback authorization server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.authserver import AuthServer
from tests.support.live import LIFETIME, sign_in_acme
from tests.test_agent_cli import tokendeck

MINUTES = 3


def audit(env: dict[str, str], name: str) -> list[dict[str, object]]:
    done = tokendeck(env, "audit", "--json")
    assert done.returncode == 0, done.stderr
    return [e for e in json.loads(done.stdout) if e["credential"] == name]


def agent_facts(env: dict[str, str]) -> dict[str, object]:
    done = tokendeck(env, "agent", "status", "--json")
    assert done.returncode in (0, 3), done.stderr
    facts: dict[str, object] = json.loads(done.stdout)
    return facts


def test_three_minutes_of_twenty_second_tokens_read_every_second(
    live_env: dict[str, str], home: Path, auth_server: AuthServer
) -> None:
    """``tokendeck token`` once a second through the agent: no read fails, and the server sees
    about one refresh per 15 s of a token's 20-second life (not one per read)."""
    sign_in_acme(home, auth_server)
    assert tokendeck(live_env, "agent", "start").returncode == 0
    failures, printed = [], set()
    start = time.monotonic()
    for second in range(MINUTES * 60):
        read = tokendeck(live_env, "token", "acme")
        if read.returncode != 0:
            failures.append((second, read.returncode, read.stderr))
        printed.add(read.stdout)
        time.sleep(max(0.0, start + second + 1 - time.monotonic()))
    refreshes = auth_server.token_request_count("refresh_token")
    assert not failures
    expected = MINUTES * 60 / (LIFETIME * 3 / 4)
    assert expected - 3 <= refreshes <= expected + 3, refreshes
    assert len(printed) == refreshes + 1  # every token handed out came from one refresh (or the sign-in)


def test_the_agent_says_when_it_locks(live_env: dict[str, str]) -> None:
    assert tokendeck(live_env, "agent", "start").returncode == 0
    status = tokendeck(live_env, "agent", "status")
    assert status.returncode == 0
    assert "locks after 1h without a request (in " in status.stdout  # the default idle lock
    facts = agent_facts(live_env)
    assert facts["lock_after"] == "3600.0" and 3500 < float(str(facts["locks_in"])) <= 3600
    assert tokendeck(live_env, "agent", "stop").returncode == 0
    assert tokendeck(live_env, "agent", "start", "--lock-after", "never").returncode == 0
    assert "never locks by itself" in tokendeck(live_env, "agent", "status").stdout
    assert tokendeck(live_env, "agent", "stop").returncode == 0
    bad = tokendeck(live_env, "agent", "start", "--lock-after", "0s")
    assert bad.returncode == 2 and "positive" in bad.stderr
    assert tokendeck(live_env, "agent", "status").returncode == 5  # nothing started


@pytest.mark.parametrize("restarts", [2])
def test_a_restarted_agent_writes_no_duplicate_warning(live_env: dict[str, str], restarts: int) -> None:
    added = tokendeck(live_env, "add", "soon", "--provider", "api-key", "--expires", "3d", stdin="sk-soon")
    assert added.returncode == 0, added.stderr
    for _ in range(restarts):
        assert tokendeck(live_env, "agent", "start").returncode == 0
        deadline = time.monotonic() + 30
        while not agent_facts(live_env).get("last_refresh_run"):  # its refresher has run once
            assert time.monotonic() < deadline, "the agent's refresher never ran"
            time.sleep(0.1)
        assert tokendeck(live_env, "agent", "stop").returncode == 0
    warnings = [e for e in audit(live_env, "soon") if e["action"] == "expiry-warning"]
    assert len(warnings) == 1, warnings
