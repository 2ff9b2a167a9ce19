"""The agent in this process, on a real Unix socket: who may connect, what bad clients
cannot do to good ones, what it sees of other processes, locking, a removed socket,
and refreshing on a frozen clock while nothing else runs."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from vault import errors
from vault.agent import ops, wire
from vault.agent.server import Agent
from vault.export import Spec, plan

TOKEN = "ghp_agentTEST123"  # noqa: S105 - a test value
PASSPHRASE = "correct horse battery staple"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll for something the agent does on its own thread (not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Running:
    """An agent serving on its own thread, with its log lines kept."""

    def __init__(self, agent: Agent, log: list[str]) -> None:
        self.agent, self.log = agent, log
        self.thread = threading.Thread(target=agent.serve, daemon=True)

    def __enter__(self) -> Running:
        self.agent.listen()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.agent.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()


def start_agent(clock: vault.Clock | None = None, **options: object) -> Running:
    os.makedirs(wire.runtime_dir(), mode=0o700, exist_ok=True)
    log: list[str] = []
    opened = vault.open_vault(clock=clock)
    settings: dict[str, object] = {"refresher": False, "client_timeout": 0.5, "watch_interval": 0.05}
    settings.update(options)
    agent = Agent(
        opened,
        wire.socket_path(wire.home_dir()),
        reopen=lambda passphrase: vault.open_vault(passphrase=passphrase, env={}, clock=clock),
        log=log.append,
        **settings,  # type: ignore[arg-type]
    )
    return Running(agent, log)


@pytest.fixture
def seeded(home: Path, passphrase_env: str) -> None:
    with vault.init_vault(mode="passphrase") as v:
        v.records.add_static("gh", provider="github-pat", token=TOKEN)


@pytest.fixture
def running(seeded: None) -> Iterator[Running]:
    with start_agent() as r:
        yield r


def raw(payload: bytes, *, shut: bool = True) -> bytes:
    """Send bytes as a client would and read everything the agent answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(wire.socket_path(wire.home_dir()))
        chunks: list[bytes] = []
        # A refusing agent may close before our request is even sent (EPIPE) or read
        # (ECONNRESET): either way the client was dropped, with no byte back.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(payload)
            if shut:
                s.shutdown(socket.SHUT_WR)
            chunks.extend(iter(lambda: s.recv(65536), b""))
        return b"".join(chunks)


def test_socket_and_directory_are_private(running: Running) -> None:
    path = wire.socket_path(wire.home_dir())
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert wire.call("token", "gh") == ["0", TOKEN]


def test_a_client_of_another_uid_is_refused_by_its_peer_credentials(seeded: None) -> None:
    with start_agent(allowed_uid=os.getuid() + 1) as r:  # the agent serves someone else: we are the stranger
        assert wire.call("token", "gh") is None
        assert raw(wire.encode([wire.VERSION, wire.home_dir(), "token", "gh"], request=True)) == b""
        assert any(f"refused a connection from uid {os.getuid()}" in line for line in r.log)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to become a second user")
def test_a_second_real_user_cannot_reach_or_use_the_socket(running: Running) -> None:
    """Three layers: the 0700 directory, the 0600 socket, and (with both opened up on
    purpose) the peer-credential check."""
    path = wire.socket_path(wire.home_dir())
    request = wire.encode([wire.VERSION, wire.home_dir(), "token", "gh"], request=True)

    def as_nobody() -> str:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: only system calls, then _exit
            os.close(read_end)
            outcome = b"?"
            try:
                os.setgid(65534)
                os.setuid(65534)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(5)
                    s.connect(path)
                    s.sendall(request)
                    data = s.recv(65536)
                outcome = b"answered:" + data if data else b"dropped"
            except PermissionError:
                outcome = b"denied"
            except (BrokenPipeError, ConnectionResetError):  # closed before the request was sent, or read
                outcome = b"dropped"
            except OSError as exc:
                outcome = f"error:{exc.errno}".encode()
            finally:
                os.write(write_end, outcome)
                os._exit(0)
        os.close(write_end)
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as f:
            return f.read().decode(errors="replace")

    directory = os.path.dirname(path)
    os.chmod(os.path.dirname(directory), 0o711)  # noqa: S103 - on purpose; the test's own (runtime fixture): let a stranger get this far
    assert as_nobody() == "denied"  # the directory
    os.chmod(directory, 0o711)  # noqa: S103 - opened on purpose, restored below
    try:
        assert as_nobody() == "denied"  # the socket file
        os.chmod(path, 0o666)  # noqa: S103 - opened on purpose: only the peer check is left
        assert as_nobody() == "dropped"  # connected, and refused by peer credentials: no byte back
    finally:
        os.chmod(directory, 0o700)
    assert any("refused a connection from uid 65534" in line for line in running.log)


def test_garbage_oversized_and_silent_clients_do_not_stall_others(running: Running) -> None:
    path = wire.socket_path(wire.home_dir())
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(path)
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(path)
    slow.sendall(b"1\0")  # starts a request and never finishes it
    try:
        # While both hold their connections, others are answered.
        assert wire.call("token", "gh") == ["0", TOKEN]
        assert raw(b"\xff\xfe garbage \x00\x01\n") == b"-"  # not our protocol: fall back, nothing else
        too_long = wire.decode(raw(b"x" * (wire.MAX_REQUEST + 10), shut=False))  # one error answer, rest unread
        assert too_long[:2] == [
            "2",
            f"the request is longer than the agent takes ({wire.MAX_REQUEST} bytes); nothing was done",
        ]
        assert raw(b"") == b""  # connects and sends nothing at all
        # The silent and the slow client are dropped after the client timeout.
        for client in (silent, slow):
            client.settimeout(10)
            assert client.recv(100) == b""
    finally:
        silent.close()
        slow.close()
    assert wire.call("token", "gh") == ["0", TOKEN]  # and the agent is unharmed


def test_idle_clients_hold_no_worker_and_are_dropped_at_their_timeout(seeded: None) -> None:
    """Two idle clients with two workers: a third is answered (idle clients hold no worker; they
    held both until issue 30), and the idle ones are dropped at their timeout."""
    with start_agent(max_clients=2, client_timeout=1.0):
        path = wire.socket_path(wire.home_dir())
        holders = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(2)]
        try:
            for h in holders:
                h.connect(path)
                h.settimeout(10)
            assert wire.call("token", "gh", timeout=10) == ["0", TOKEN]
            assert [h.recv(100) for h in holders] == [b"", b""]  # the idle ones were dropped
        finally:
            for h in holders:
                h.close()


def test_a_hundred_clients_at_once_are_all_answered(seeded: None) -> None:
    """More clients than workers, all at once: each waits its turn; none is turned away."""
    from concurrent.futures import ThreadPoolExecutor

    with start_agent(max_clients=4, client_timeout=5.0), ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(lambda _: wire.call("token", "gh", timeout=30), range(100)))
    assert answers == [["0", TOKEN]] * 100


def test_errors_travel_with_their_exit_code_and_class(running: Running) -> None:
    answer = wire.call("token", "nope")
    assert answer is not None and answer[0] == "5" and answer[2] == "NotFound"
    assert isinstance(wire.error_from(answer), vault.NotFound)
    assert wire.call("tokens", "gh", "nope") == answer  # all names checked before any token is read
    assert wire.call("frobnicate") == [wire.FALL_BACK]  # a request of a newer client: it does the work itself


def every_vault_error() -> list[type[errors.VaultError]]:
    """VaultError and all its subclasses (they all live in vault.errors: see test_import_hygiene)."""
    found, todo = [], [errors.VaultError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


def sample_error(cls: type[errors.VaultError]) -> errors.VaultError:
    """An instance with every attribute its class has set to something recognisable."""
    if issubclass(cls, errors.ProviderError):
        return cls("acme", "invalid_grant", "the grant is\tgone", transient=True, retry_after=2.5)
    if cls is errors.WrongPassphrase:
        return cls("the vault key changed")
    return cls(f"{cls.__name__} happened: 'quoted' and \\ back", title=f"{cls.__name__} title")


def assert_same_error(rebuilt: Exception, raised: errors.VaultError) -> None:
    assert type(rebuilt) is type(raised)
    assert isinstance(rebuilt, errors.VaultError)
    assert (str(rebuilt), rebuilt.args, rebuilt.exit_code) == (str(raised), raised.args, raised.exit_code)
    assert vars(rebuilt) == vars(raised)  # message, title, and a ProviderError's provider, code, ...


FORWARDED = [cls for cls in every_vault_error() if cls not in (errors.WrongPassphrase, errors.VaultCorrupt)]
"""What a request may fail with.  A vault re-keyed or damaged under the agent makes it lock
itself and answer "fall back" instead (test_a_vault_rekeyed_under_it_locks_it); a wrong
passphrase reaches a client through ``unlock``, below."""


@pytest.mark.parametrize("cls", FORWARDED, ids=lambda cls: cls.__name__)
def test_every_error_crosses_the_socket_exactly(
    running: Running, monkeypatch: pytest.MonkeyPatch, cls: type[errors.VaultError]
) -> None:
    raised = sample_error(cls)

    def fail(opened: vault.Vault, args: list[str]) -> list[str]:
        raise raised

    monkeypatch.setitem(ops.OPS, "fail", fail)
    answer = wire.call("fail")
    assert answer is not None and answer[0] == str(cls.exit_code)
    assert_same_error(wire.error_from(answer), raised)


def test_a_wrong_unlock_passphrase_comes_back_as_itself(running: Running) -> None:
    running.agent.lock()
    answer = wire.call("unlock", "not it")
    assert answer is not None
    assert_same_error(wire.error_from(answer), errors.WrongPassphrase("wrong passphrase"))
    assert running.agent.locked


@pytest.mark.parametrize("cls", every_vault_error(), ids=lambda cls: cls.__name__)
def test_every_error_survives_its_fields(cls: type[errors.VaultError]) -> None:
    raised = sample_error(cls)
    assert_same_error(errors.from_fields(errors.to_fields(raised), raised.exit_code), raised)


def test_an_error_class_this_version_does_not_know_keeps_its_message_and_exit_code() -> None:
    rebuilt = errors.from_fields(["something new went wrong", "FutureError", "Future", "{}"], 7)
    assert type(rebuilt) is errors.VaultError
    assert (rebuilt.message, rebuilt.exit_code) == ("something new went wrong", 7)


def test_a_request_for_another_vault_falls_back(running: Running, tmp_path: Path) -> None:
    fields = [wire.VERSION, str(tmp_path / "other"), "token", "gh"]
    assert running.agent.answer(fields) == [wire.FALL_BACK]


def test_it_sees_what_other_processes_change(running: Running) -> None:
    with vault.open_vault() as other:  # another connection, as another process would have
        other.records.add_static("new", provider="api-key", token="tok_new")
        assert wire.call("token", "new") == ["0", "tok_new"]
        other.remove("gh")
    answer = wire.call("token", "gh")
    assert answer is not None and answer[0] == "5"


def test_lock_forgets_the_vault_and_unlock_needs_the_passphrase(running: Running) -> None:
    running.agent.lock()
    assert running.agent.locked and running.agent.refresher is None
    assert wire.call("token", "gh") == [wire.FALL_BACK]
    assert vault.get_token("gh") == TOKEN  # the library falls back to opening the vault
    wrong = wire.call("unlock", "not it")
    assert wrong is not None and wrong[0] == "3"
    assert running.agent.locked
    assert wire.call("unlock", PASSPHRASE) == ["0"]
    assert wire.call("token", "gh") == ["0", TOKEN]


def test_it_locks_itself_when_idle(seeded: None) -> None:
    with start_agent(lock_after=0.2) as r:
        assert wire.call("token", "gh") == ["0", TOKEN]
        wait_until(lambda: r.agent.locked, "the idle lock")
        # locked is true from the lock's first step; its log line comes once the vault is closed
        wait_until(lambda: any("locked (idle" in line for line in r.log), "the idle lock's log line")
        assert wire.call("token", "gh") == [wire.FALL_BACK]


def test_a_removed_socket_file_is_made_again(running: Running) -> None:
    path = wire.socket_path(wire.home_dir())
    os.unlink(path)
    assert wire.call("token", "gh") is None  # meanwhile clients fall back
    wait_until(lambda: os.path.exists(path), "the socket to come back")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert wire.call("token", "gh") == ["0", TOKEN]


def test_a_vault_rekeyed_under_it_locks_it(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    with vault.open_vault() as other:
        vault.change_to_passphrase(other, "a new passphrase")
    assert wire.call("token", "gh") == [wire.FALL_BACK]
    wait_until(lambda: running.agent.locked, "the agent to lock")
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", "a new passphrase")
    assert vault.get_token("gh") == TOKEN  # the fallback opens with the new key


def test_stop_closes_the_vault_and_removes_the_socket(seeded: None) -> None:
    r = start_agent()
    with r:
        assert wire.call("stop") == ["0"]
        r.thread.join(10)
    assert r.agent.locked
    assert not os.path.exists(wire.socket_path(wire.home_dir()))
    with vault.open_vault() as v:
        assert v.token("gh") == TOKEN


def test_five_minutes_of_a_sixty_second_token_with_only_the_agent(
    home: Path, auth_server: AuthServer, tmp_path: Path
) -> None:
    """The TUI is closed: the agent alone keeps a 60 s token valid and the plaintext export current."""
    clock = vault.FrozenClock(time.time())
    auth_server.settings.access_token_lifetime = 60
    with vault.init_vault(mode="keyring", clock=clock) as v:
        seed(v, auth_server, "short", expires_in=60)
        env_file = tmp_path / "agent.env"
        spec = Spec("dotenv", "short", var="SHORT", plaintext=True)
        first = v.get("short").access_token
        assert first is not None
        plan(spec, env_file, first.reveal()).write()
        v.records.links.add_export_binding(
            "short", target="dotenv", path=str(env_file), key="SHORT", options=spec.options()
        )
    with start_agent(clock=clock, refresher=True, refresh_interval=None) as r:
        refresher = r.agent.refresher
        assert refresher is not None
        refresher.window = 30
        seen: set[str] = set()
        for _ in range(20):  # 20 runs, 15 s of fake time apart
            refresher.run_once()
            answer = wire.call("token", "short")
            assert answer is not None and answer[0] == "0"
            token = answer[1]
            assert auth_server.token_state(token) == "active"
            assert env_file.read_text() == f"SHORT='{token}'\n"
            seen.add(token)
            clock.advance(15)
    assert len(seen) >= 8  # it really refreshed
    # Never two refreshes for one tick: the refresher's run, or else the read's refresh-on-read (60 s skew).
    assert auth_server.token_request_count("refresh_token") <= 20


def test_the_client_finds_the_same_default_home_as_the_vault(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from vault.core.paths import resolve_home

    monkeypatch.delenv("TOKENDECK_HOME")
    for xdg in (str(tmp_path / "data"), ""):
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
        assert wire.home_dir() == os.path.abspath(resolve_home().home)
    monkeypatch.setenv("TOKENDECK_HOME", "~/somewhere/../vault")
    assert wire.home_dir() == os.path.abspath(os.path.expanduser("~/vault"))
    assert wire.agent_id(wire.home_dir()) == wire.agent_id(str(resolve_home().home))


def test_near_expiry_warnings_reach_the_audit_log_and_the_desktop(home: Path, passphrase_env: str) -> None:
    clock = vault.FrozenClock(time.time())
    with vault.init_vault(mode="passphrase", clock=clock) as v:
        v.records.add_static("soon", provider="api-key", token="tok", expires_at=clock.now() + 3 * 86400)
        v.records.add_static("later", provider="api-key", token="tok", expires_at=clock.now() + 30 * 86400)
    shown: list[str] = []
    with start_agent(clock=clock, refresher=True, refresh_interval=None, notify=shown.append) as r:
        assert r.agent.refresher is not None
        r.agent.refresher.run_once()
        r.agent.refresher.run_once()  # once per expiry, not once per run
    assert shown == ["soon: token expires in 3d"]
    with vault.open_vault() as v:
        warned = [e for e in v.records.audit_log() if e.action == "expiry-warning"]
    assert [(e.credential, e.outcome) for e in warned] == [("soon", "warned")]


def test_the_agents_cached_list_sees_every_change_at_once(running: Running, home: Path) -> None:
    """Issue 15, item 4: the agent keeps decoded credentials between requests, and a change
    by another process (another connection), or by the agent's own vault, shows at once."""
    import json

    def listed() -> dict[str, str]:
        answer = wire.call("list", "json", "iso")
        assert answer is not None and answer[0] == "0"
        return {row["name"]: row["status"] for row in json.loads(answer[1])}

    assert listed() == {"gh": "active"}
    with vault.open_vault(home, PASSPHRASE) as other:  # another process's connection
        other.records.add_static("fresh", provider="api-key", token="sk_fresh")
        assert listed() == {"fresh": "active", "gh": "active"}
        other.rename("fresh", "renamed")
        assert listed() == {"gh": "active", "renamed": "active"}
        other.records.add_static("gh", provider="github-pat", token="ghp_replaced", replace=True)
        assert wire.call("token", "gh") == ["0", "ghp_replaced"]
    assert running.agent._vault is not None
    running.agent._vault.remove("renamed")  # the agent's own write
    assert listed() == {"gh": "active"}


def test_list_json_is_exactly_json_dumps_of_the_public_records(home: Path, passphrase_env: str) -> None:
    """The per-record JSON the listing keeps is byte for byte what ``json.dumps(..., indent=2)``
    gives for the whole list, whatever the records hold."""
    import json

    from vault.services.listing import list_output

    with vault.init_vault(mode="passphrase") as v:
        assert list_output(v.records, as_json=True, human=False)[0] == "[]\n"
        v.records.add_static("u1", provider="api-key", token="sk_1", account='a "quoted"\\name',
                     extras={"nested": {"list": [1, 2.5, None, "é\n"]}, "e": ""})  # fmt: skip
        v.records.add_static("plain", provider="github-pat", token="ghp_2", expires_at=v.clock.now() + 3600)
        for _ in range(2):  # the second time from the memo
            now = v.clock.now()
            expected = json.dumps([c.public(now) for c in v.credentials()], indent=2, ensure_ascii=False) + "\n"
            assert list_output(v.records, as_json=True, human=False)[0] == expected
