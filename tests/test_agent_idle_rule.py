"""Issue 31, items 3 and 4: one idle rule, and a TUI joining an unlocked agent.

The agent runs in this process on a real Unix socket over a real SQLCipher vault (the
helpers of ``tests/test_agent.py``); the policy file is read as ``tokendeck agent start``
reads it, by a real agent process.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.test_agent import PASSPHRASE, TOKEN, Running, start_agent, wait_until
from tests.test_agent_cli import tokendeck
from vault import errors
from vault.agent import joining, ops, wire
from vault.core.policy import POLICY_FILE, LockPolicy, load_policy
from vault.settings import AGENT_LOCK_AFTER


@pytest.fixture
def seeded(home: Path, passphrase_env: str) -> None:
    with vault.init_vault(mode="passphrase") as v:
        v.records.add_static("gh", provider="github-pat", token=TOKEN)


@pytest.fixture
def running(seeded: None) -> Iterator[Running]:
    with start_agent() as r:
        yield r


def key_hex() -> str:
    with vault.open_vault() as v:
        return v.records.keys.handover_key().secret.reveal()


# ----------------------------------------------------------------------- join


def test_a_tui_joins_the_unlocked_agent_with_its_key_and_the_log_names_it_not_the_key(
    running: Running, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = key_hex()
    monkeypatch.delenv("TOKENDECK_PASSPHRASE")  # nothing here could unlock it
    joined = joining.join_unlocked(home)
    assert joined is not None
    opened, pid = joined
    with opened:
        assert pid == os.getpid()  # the agent runs in this process here
        assert opened.get("gh").access_token.reveal() == TOKEN  # type: ignore[union-attr]
        opened.records.add_static("new", provider="api-key", token="sk-joined")  # it can write, too
    assert wire.call("token", "new") == ["0", "sk-joined"]
    assert any(line == f"a TUI (pid {os.getpid()}) joined" for line in running.log), running.log
    assert all(secret not in line and PASSPHRASE not in line for line in running.log)


def test_a_locked_agent_hands_over_nothing(running: Running, home: Path) -> None:
    running.agent.lock()
    assert wire.call("join", "tui", opt_out=False) == [wire.FALL_BACK]
    assert joining.join_unlocked(home) is None
    assert not any("joined" in line for line in running.log)


def test_no_agent_means_no_join(seeded: None, home: Path) -> None:
    assert joining.join_unlocked(home) is None


def test_a_key_that_no_longer_opens_the_vault_is_refused_before_anything_is_written(
    running: Running, home: Path
) -> None:
    with vault.open_vault() as other:  # re-keyed under the agent, which still holds the old key
        vault.change_to_passphrase(other, "a new passphrase")
    before = {p.name: p.read_bytes() for p in home.iterdir() if p.name in ("vault.json", "vault.db")}
    assert joining.join_unlocked(home) is None
    assert {p.name: p.read_bytes() for p in home.iterdir() if p.name in ("vault.json", "vault.db")} == before


def test_join_is_not_an_answer_of_the_shared_dispatcher(running: Running) -> None:
    """``answer`` (what every path but the local socket's handler reaches) never hands a key."""
    assert running.agent.answer([wire.VERSION, running.agent.home, "join", "tui"]) == [wire.FALL_BACK]


# ----------------------------------------------------------------------- lock


@pytest.mark.parametrize(
    ("args", "reason"),
    [(["tui"], "the TUI's Ctrl+L, pid {pid}"), (["cli"], "tokendeck lock, pid {pid}"),
     ([], "tokendeck lock, pid {pid}"), (["whatever\nforged line"], "a lock request, pid {pid}")],
)  # fmt: skip
def test_the_log_names_who_locked_the_agent(running: Running, args: list[str], reason: str) -> None:
    answer = wire.call("lock", *args, opt_out=False)
    if "\n" in "".join(args):
        assert answer is None  # cannot be framed: never sent
        running.agent._answer_lock(args, os.getpid())
    else:
        assert answer == ["0"]
    wait_until(lambda: any(line.startswith("locked (") for line in running.log), "the lock's log line")
    assert f"locked ({reason.format(pid=os.getpid())})" in running.log, running.log


def test_tokendeck_lock_names_itself(home: Path, passphrase_env: str) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    assert tokendeck(env, "init", "--passphrase").returncode == 0
    try:
        assert tokendeck(env, "agent", "start").returncode == 0
        assert tokendeck(env, "lock").returncode == 0
        log = (Path(wire.socket_path(str(home))[:-5] + ".log")).read_text()
        assert "locked (tokendeck lock, pid " in log
    finally:
        tokendeck(env, "agent", "stop")


# ----------------------------------------------------------------------- idle


def test_idle_is_no_request_from_any_client_and_the_log_says_after_how_long(seeded: None) -> None:
    with start_agent(lock_after=1.0) as r:
        end = time.monotonic() + 2.5  # more than twice lock_after of steady reads: never idle
        while time.monotonic() < end:
            assert wire.call("token", "gh") == ["0", TOKEN]
            time.sleep(0.3)
        assert not r.agent.locked
        wait_until(lambda: r.agent.locked, "the idle lock", timeout=5)
        wait_until(lambda: any(line.startswith("locked (") for line in r.log), "the idle lock's log line")
        assert "locked (idle after 1s without a request)" in r.log, r.log


def test_a_request_in_flight_is_not_idle(seeded: None) -> None:
    """A bridge's call that takes longer than lock_after (a slow provider) does not lock the agent
    under it; idle counts from the end of the last request."""
    release = threading.Event()

    def slow(v: vault.Vault, args: list[str]) -> list[str]:
        release.wait(10)
        return ["done"]

    ops.OPS["slow-test"] = slow
    try:
        with start_agent(lock_after=0.3) as r:
            answers: list[list[str] | None] = []
            caller = threading.Thread(target=lambda: answers.append(wire.call("slow-test")))
            caller.start()
            time.sleep(1.0)  # three times lock_after, the request still in flight
            assert not r.agent.locked
            release.set()
            caller.join(10)
            assert answers == [["0", "done"]]
            wait_until(lambda: r.agent.locked, "the idle lock once the request is over")
    finally:
        del ops.OPS["slow-test"]


def test_a_ping_is_not_a_request_unless_a_user_is_active(seeded: None) -> None:
    with start_agent(lock_after=0.5) as r:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:  # a TUI left alone pings without "active"
            assert wire.call("ping", opt_out=False) is not None
            time.sleep(0.1)
            if r.agent.locked:
                break
        assert r.agent.locked


# --------------------------------------------------------------------- policy


def test_the_policy_file(home: Path) -> None:
    home.mkdir()
    assert load_policy(home) == LockPolicy(AGENT_LOCK_AFTER)  # no file: an hour
    for text, seconds in (('lock_after = "30m"', 1800.0), ("lock_after = 90", 90.0), ('lock_after = "never"', None),
                          ("", AGENT_LOCK_AFTER)):  # fmt: skip
        (home / POLICY_FILE).write_text(text)
        assert load_policy(home).lock_after == seconds
    for text, words in (('lock_after = "0s"', "positive"), ('lock_after = "soon"', "positive"),
                        ("lock_after = -1", "positive"), ('idle = "5m"', "unknown setting 'idle'"),
                        ("lock_after = ", "not readable TOML")):  # fmt: skip
        (home / POLICY_FILE).write_text(text)
        with pytest.raises(errors.InvalidInput, match=words):
            load_policy(home)


def test_agent_start_follows_the_vaults_policy_and_the_option_overrides_it(home: Path, passphrase_env: str) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    assert tokendeck(env, "init", "--passphrase").returncode == 0
    (home / POLICY_FILE).write_text('lock_after = "2h"\n')
    try:
        assert tokendeck(env, "agent", "start").returncode == 0
        facts = json.loads(tokendeck(env, "agent", "status", "--json").stdout)
        assert facts["lock_after"] == "7200.0"
        assert tokendeck(env, "agent", "stop").returncode == 0
        assert tokendeck(env, "agent", "start", "--lock-after", "5m").returncode == 0
        facts = json.loads(tokendeck(env, "agent", "status", "--json").stdout)
        assert facts["lock_after"] == "300.0"
        assert tokendeck(env, "agent", "stop").returncode == 0
        (home / POLICY_FILE).write_text('lock_after = "soon"\n')
        bad = tokendeck(env, "agent", "start")
        assert bad.returncode == 2 and "lock_after must be a positive duration" in bad.stderr
    finally:
        tokendeck(env, "agent", "stop")


def test_a_running_agent_follows_a_changed_policy(home: Path, passphrase_env: str) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    assert tokendeck(env, "init", "--passphrase").returncode == 0
    log = Path(wire.socket_path(str(home))[:-5] + ".log")
    try:
        assert tokendeck(env, "agent", "start").returncode == 0  # an hour, the default
        (home / POLICY_FILE).write_text('lock_after = "soon"\n')
        wait_until(lambda: "lock_after stays as it was" in log.read_text(), "the refusal of a bad file")
        assert json.loads(tokendeck(env, "agent", "status", "--json").stdout)["lock_after"] == "3600.0"
        (home / POLICY_FILE).write_text('lock_after = "2s"\n')
        wait_until(lambda: "vault.toml: lock_after is now 2s" in log.read_text(), "the new policy")
        wait_until(lambda: "locked (idle after 2s without a request)" in log.read_text(), "the idle lock")
        assert tokendeck(env, "agent", "status").returncode == 3
        assert tokendeck(env, "agent", "stop").returncode == 0
        (home / POLICY_FILE).write_text('lock_after = "1h"\n')
        assert tokendeck(env, "agent", "start", "--lock-after", "never").returncode == 0  # the option wins
        (home / POLICY_FILE).write_text('lock_after = "1s"\n')
        time.sleep(3.5)
        assert tokendeck(env, "agent", "status").returncode == 0
        assert "lock_after is now 1s" not in log.read_text()
    finally:
        tokendeck(env, "agent", "stop")
