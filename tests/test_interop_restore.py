"""Issue 33, item 2: a restore never replays a refresh token, against the certified server.

panva's ``oidc-provider`` rotates refresh tokens and, when a used one comes back, refuses it
and revokes the whole grant (``grant.revoked``, counted in its log).  The scenario of the
issue: back up, keep working while the agent rotates the tokens, stop the agent, restore,
start it again.  Before the fix every restored credential was ``needs login`` within seconds
and the provider's log showed a refused refresh and a revoked grant for each.  Now the
restored credentials are held (``held_after_restore``, with the reason in ``show``), the agent
sends nothing for a few refresh intervals, no grant is revoked; and only ``tokendeck refresh
NAME``, the user's explicit choice, sends the backup's (used) token: the provider refuses it,
and the message says so and to sign in again.

Real processes (the agent, ``tokendeck``), real time (10-second access tokens)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import vault
from tests.support.bridge import PASS, TOKENDECK
from tests.support.cli import CliRunner
from tests.support.oidc_provider import running_oidc_provider

NAMES = ("one", "two")
LIFETIME = 10


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def agent_env(home: Path, passphrase_env: str) -> dict[str, str]:
    assert passphrase_env == PASS
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop("TOKENDECK_NO_AGENT", None)
    return env


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOKENDECK, *argv], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def agent(agent_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Callable[[], None], Callable[[], None]]]:
    """Start and stop the agent in the foreground, refreshing every second."""
    running: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        with (tmp_path / "agent.log").open("ab") as log:
            argv = [TOKENDECK, "agent", "start", "--foreground", "--interval", "1"]
            running.append(subprocess.Popen(argv, env=agent_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log))
        wait_for("the agent to serve", lambda: run(agent_env, "agent", "status").returncode == 0)

    def stop() -> None:
        while running:
            process = running.pop()
            run(agent_env, "agent", "stop")
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    yield start, stop
    stop()


def stored(home: Path) -> dict[str, vault.Credential]:
    with vault.open_vault(home, PASS) as v:
        return {c.name: c for c in v.credentials()}


def test_a_restore_under_the_agent_never_replays_and_only_the_users_word_sends_the_old_token(
    cli: CliRunner,
    home: Path,
    tmp_path: Path,
    agent_env: dict[str, str],
    agent: tuple[Callable[[], None], Callable[[], None]],
    browser_log: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start, stop = agent
    with running_oidc_provider(access_token_ttl=LIFETIME) as provider:
        client = provider.register_native_client()
        assert cli("init", "--passphrase").code == 0
        added = cli("provider", "add", "certified", "--issuer", provider.issuer, f"--client-id={client['client_id']}")
        assert added.code == 0, added.err
        for name, user in zip(NAMES, ("alice", "bob"), strict=True):
            monkeypatch.setenv("FAKE_BROWSER_USER", user)
            signed = cli("login", "certified", "--name", name)
            assert signed.code == 0, signed.err

        def refreshes() -> list[int]:
            return [q["status"] for q in provider.requests("token", grant_type="refresh_token")]

        backup = tmp_path / "before.zip"
        assert cli("backup", str(backup)).code == 0
        backed_up = stored(home)

        # Keep working: the agent rotates every credential's refresh token.
        start()
        wait_for("the agent to rotate both", lambda: len(refreshes()) >= len(NAMES), timeout=3 * LIFETIME)
        stop()
        rotated = stored(home)
        assert all(rotated[n].refresh_token != backed_up[n].refresh_token for n in NAMES)
        assert set(refreshes()) == {200} and provider.log()["revoked_grants"] == 0
        before = len(refreshes())

        restored = run(agent_env, "restore", str(backup), "--yes")
        assert restored.returncode == 0, restored.stderr
        assert "2 OAuth credential(s) will wait" in restored.stderr and "one, two" in restored.stderr
        assert "refreshed one, two after the backup" in restored.stderr  # the replaced vault had rotated them

        # Start the agent again and give it a few refresh intervals past every access token's expiry.
        start()
        time.sleep(LIFETIME + 5)
        log = provider.log()
        assert len(refreshes()) == before, "the agent replayed a restored refresh token"
        assert log["revoked_grants"] == 0, "a grant was revoked"
        listed = run(agent_env, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert "held_after_restore" in listed.stdout
        shown = run(agent_env, "show", "one")
        assert shown.returncode == 0 and "restored from a backup" in shown.stdout
        assert "its refresh token is spent" in shown.stdout  # the replaced vault had refreshed it
        token = run(agent_env, "token", "one")  # its access token has expired: held, not refreshed
        assert token.returncode == 4 and "tokendeck refresh one" in token.stderr
        assert len(refreshes()) == before

        # The user's explicit choice sends the backup's token once; it had been used, so the
        # provider refuses it (and revokes that grant, as a rotating server does): the message
        # says it was the user's choice and to sign in again.
        chosen = run(agent_env, "refresh", "one")
        assert chosen.returncode == 4, chosen.stderr
        assert "you chose to refresh the copy restored from a backup" in chosen.stderr
        assert "tokendeck login certified --name one" in chosen.stderr
        assert refreshes()[before:] == [400]
        assert provider.log()["revoked_grants"] == 1  # that one grant only, on the user's word
        time.sleep(3)
        assert len(refreshes()) == before + 1 and provider.log()["revoked_grants"] == 1  # "two" still waits
        stop()
        after = stored(home)
        assert after["one"].status_at(time.time()) == "needs_login"
        assert after["two"].status_at(time.time()) == "held_after_restore"
        provider.assert_no_server_errors()
