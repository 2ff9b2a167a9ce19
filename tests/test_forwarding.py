"""Issue 19, step 1: a forward is a restricted view of the agent on a socket of its own.

The agent runs in this process on a real Unix socket; the "remote" is the real
``tokendeck`` command in another process with its own ``HOME``, ``TOKENDECK_HOME`` and
runtime directory, no vault at all, and ``TOKENDECK_AGENT_SOCK`` naming the forward (what
``tokendeck ssh`` sets up over OpenSSH; the sshd test is the next step)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.test_agent import PASSPHRASE, Running, start_agent, wait_until
from vault.agent import wire
from vault.core.clock import FrozenClock

TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
A_TOKEN = "ghp_forwardedA123"  # noqa: S105 - test values
B_TOKEN = "ghp_notForwardedB456"  # noqa: S105


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(1_800_000_000.0)


@pytest.fixture
def agent(home: Path, passphrase_env: str, clock: FrozenClock) -> Iterator[Running]:
    with vault.init_vault(mode="passphrase") as v:
        v.records.add_static("a", provider="github-pat", token=A_TOKEN)
        v.records.add_static("b", provider="github-pat", token=B_TOKEN)
        v.records.links.map_git_host("github.com", "b", None)
    with start_agent(clock=clock) as running:
        yield running


def open_forward(host: str, *names: str, ttl: str = "") -> str:
    answer = wire.call("forward-open", host, ttl, "", "-", *names, opt_out=False)
    assert answer is not None and answer[0] == "0", answer
    return answer[2]


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Path]:
    """An empty machine: a home with no vault, a runtime directory of its own."""
    place = tmp_path / "remote"
    (place / "run").mkdir(parents=True, mode=0o700)
    yield place


def on_remote(remote: Path, sock: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(remote),
        "TOKENDECK_HOME": str(remote / "tokendeck"),
        "XDG_RUNTIME_DIR": str(remote / "run"),
        "TOKENDECK_AGENT_SOCK": sock,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return subprocess.run([TOKENDECK, *argv], env=env, input=stdin, capture_output=True, text=True, timeout=60)


def audit(home: Path) -> list[tuple[str | None, str, str, str | None]]:
    with vault.open_vault(home, PASSPHRASE) as v:
        return [(e.credential, e.action, e.outcome, e.detail) for e in v.records.audit_log() if e.action == "forward"]


def test_the_remote_reads_only_what_is_forwarded_and_every_request_is_audited(
    agent: Running, remote: Path, home: Path
) -> None:
    sock = open_forward("devbox", "a")
    r = on_remote(remote, sock, "token", "a")
    assert (r.returncode, r.stdout, r.stderr) == (0, A_TOKEN + "\n", "")
    r = on_remote(remote, sock, "token", "b")
    assert r.returncode == 5 and r.stdout == ""
    assert r.stderr == "tokendeck: b is not forwarded to devbox (tokendeck ssh --only NAME,... names what is)\n"
    r = on_remote(remote, sock, "exec", "-e", "T=a", "--", "sh", "-c", 'test "$T" = ' + A_TOKEN + " && echo ok")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    r = on_remote(remote, sock, "exec", "-e", "T=a", "-e", "U=b", "--", "true")
    assert r.returncode == 5 and "b is not forwarded" in r.stderr
    listed = on_remote(remote, sock, "list", "--json")
    assert [c["name"] for c in json.loads(listed.stdout)] == ["a"]
    git = on_remote(remote, sock, "git-credential", "get", stdin="protocol=https\nhost=github.com\n\n")
    assert git.returncode == 5 and B_TOKEN not in git.stdout  # github.com maps to b, which is not forwarded
    assert not (remote / "tokendeck").exists()  # the remote never got a vault
    agent.agent.write_reads()  # what housekeeping does within the second
    events = audit(home)
    # a served read names its reader: here the process on the forward's socket (through ssh, the local ssh)
    served = [d for name, _, outcome, d in events if name == "a" and outcome == "served"]
    assert any(
        re.fullmatch(r"host=devbox op=token reader=python\S* tokendeck token a \(pid \d+\)", d or "") for d in served
    )
    refused = {(n, (d or "").split(" reader=")[0]) for n, _, o, d in events if o == "refused"}
    assert refused == {("b", "host=devbox op=token"), ("b", "host=devbox op=tokens"), ("b", "host=devbox op=git")}
    assert all(" reader=" in (d or "") for _, _, o, d in events if o == "refused")  # refused reads name theirs too
    assert any(
        n is None and o == "served" and (d or "").startswith("host=devbox op=list reader=") for n, _, o, d in events
    )
    assert all(A_TOKEN not in str(e) and B_TOKEN not in str(e) for e in events)


@pytest.mark.parametrize(
    "fields",
    [
        ["lock"], ["stop"], ["unlock", "x"], ["show", "a", "json", "iso"], ["audit", "", "", "json", "iso"],
        ["refresh", "a"], ["refresh-now", "", ""], ["git-map", "h", "a", ""], ["names"],
        ["forward-open", "evil", "", "", "-", "b"], ["forwards"], ["ping"], ["join", "tui"],
    ],
)  # fmt: skip
def test_nothing_that_manages_the_vault_passes_through_a_forward(
    agent: Running, remote: Path, home: Path, fields: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = open_forward("devbox", "a")
    monkeypatch.setenv("TOKENDECK_AGENT_SOCK", sock)
    answer = wire.call(*fields)
    assert answer is not None and answer[0] == "5" and answer[2] == "NotForwarded", answer
    assert not agent.agent.locked and agent.thread.is_alive()  # lock and stop did nothing
    monkeypatch.delenv("TOKENDECK_AGENT_SOCK")
    listed = wire.call("forwards", opt_out=False)
    assert listed is not None and len(listed) == 2  # still one forward, and no new one


def test_the_forward_ends_at_its_ttl_and_when_closed_and_the_remote_says_so(
    agent: Running, remote: Path, clock: FrozenClock
) -> None:
    sock = open_forward("devbox", "a", ttl="60")
    assert on_remote(remote, sock, "token", "a").returncode == 0
    clock.advance(61)
    wait_until(lambda: not os.path.exists(sock), "the forward's socket to go")
    r = on_remote(remote, sock, "token", "a")
    assert r.returncode == 3 and r.stderr.count("\n") == 1
    assert f"the tokendeck agent at {sock} ($TOKENDECK_AGENT_SOCK) is not answering: its session ended" in r.stderr
    other = open_forward("laptop", "a")
    listed = wire.call("forwards", opt_out=False)
    assert listed is not None and listed[0] == "0"
    (shown,) = [json.loads(row) for row in listed[1:]]
    assert (shown["host"], shown["names"], shown["served"], shown["ends_at"]) == ("laptop", ["a"], 0, None)
    assert wire.call("forward-close", shown["id"], opt_out=False) == ["0"]
    wait_until(lambda: not os.path.exists(other), "the closed forward's socket to go")
    assert on_remote(remote, other, "token", "a").returncode == 3


def test_a_forward_names_stored_credentials_and_needs_an_unlocked_agent(agent: Running) -> None:
    answer = wire.call("forward-open", "devbox", "", "", "-", "nope", opt_out=False)
    assert answer is not None and answer[0] == "2" and "no credential named 'nope'" in answer[1]
    agent.agent.lock("test")
    answer = wire.call("forward-open", "devbox", "", "", "-", "a", opt_out=False)
    assert answer is not None and answer[0] == "3" and "the agent is locked" in answer[1]


def test_a_forward_ends_when_the_tokendeck_ssh_that_opened_it_is_gone(agent: Running, remote: Path) -> None:
    """A killed ``tokendeck ssh`` cannot close its forward: the agent notices its owner is gone."""
    owner = subprocess.Popen(["sleep", "60"])
    answer = wire.call("forward-open", "devbox", "", str(owner.pid), "-", "a", opt_out=False)
    assert answer is not None and answer[0] == "0"
    sock = answer[2]
    assert on_remote(remote, sock, "token", "a").returncode == 0
    owner.kill()
    owner.wait()
    wait_until(lambda: not os.path.exists(sock), "the forward of a dead owner to go")
    assert on_remote(remote, sock, "token", "a").returncode == 3


def ask_and_answer(remote: Path, sock: str, verdict: str | None) -> subprocess.CompletedProcess[str]:
    """The remote asks for ``a`` through a --confirm forward; a script answers as the user would
    (``verdict`` allow or deny; None: nobody answers)."""
    import threading

    done: list[subprocess.CompletedProcess[str]] = []
    asking = threading.Thread(target=lambda: done.append(on_remote(remote, sock, "token", "a")))
    asking.start()
    if verdict is not None:
        questions: list[str] = []

        def asked() -> bool:
            questions[:] = (wire.call("questions", opt_out=False) or ["-"])[1:]
            return bool(questions)

        wait_until(asked, "the question")
        question = json.loads(questions[0])
        assert (question["host"], question["credential"], question["op"]) == ("devbox", "a", "token")
        assert wire.call("answer", question["id"], verdict, opt_out=False) == ["0", "answered"]
    asking.join(60)
    return done[0]


@pytest.mark.parametrize(("verdict", "code"), [("allow", 0), ("deny", 5), (None, 5)], ids=["allow", "deny", "timeout"])
def test_confirm_asks_before_each_use_and_only_a_yes_serves(
    agent: Running, remote: Path, home: Path, verdict: str | None, code: int
) -> None:
    agent.agent.confirmations.timeout = 0.5 if verdict is None else 30
    answer = wire.call("forward-open", "devbox", "", "", "confirm", "a", opt_out=False)
    assert answer is not None and answer[0] == "0"
    r = ask_and_answer(remote, answer[2], verdict)
    assert r.returncode == code, r.stderr
    if code:
        why, outcome = ("denied", "denied") if verdict else ("no answer in time", "unanswered")
        assert r.stdout == "" and r.stderr == (
            f"tokendeck: the use of a by devbox was not allowed on the machine with the vault ({why})\n"
        )
        agent.agent.write_reads()
        rows = audit(home)
        assert [(c, a, o) for c, a, o, d in rows if c and (d or "").startswith("host=devbox op=token")] == [
            ("a", "forward", outcome)
        ], rows
    else:
        assert r.stdout == A_TOKEN + "\n"
    assert wire.call("questions", opt_out=False) == ["0"]  # nothing left waiting


def test_the_git_helper_and_the_python_api_read_through_the_forward(agent: Running, remote: Path) -> None:
    sock = open_forward("devbox", "b")  # github.com maps to b
    git = on_remote(remote, sock, "git-credential", "get", stdin="protocol=https\nhost=github.com\n\n")
    assert git.returncode == 0 and f"password={B_TOKEN}" in git.stdout.splitlines()
    program = "from vault.integrations.api import get_token; print(get_token('b'))"
    env_python = os.path.join(os.path.dirname(TOKENDECK), "python")
    api = subprocess.run(
        [env_python, "-c", program], input="", capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(remote), "TOKENDECK_HOME": str(remote / "tokendeck"),
             "XDG_RUNTIME_DIR": str(remote / "run"), "TOKENDECK_AGENT_SOCK": sock},
    )  # fmt: skip
    assert (api.returncode, api.stdout) == (0, B_TOKEN + "\n"), api.stderr
    assert not (remote / "tokendeck").exists()


def test_ending_a_proxy_runs_session_stops_the_proxys_own_reads(agent: Running) -> None:
    """A ``proxy run`` session's root is the proxy, which reads the run's tokens as any process
    outside would; once the session is ended (``tokendeck sessions --end``, the TUI's x) its token
    reads are refused too, so ending a run's session stops the tokens it puts in.  Here this test
    process stands in for the proxy: the session is rooted at it."""
    from vault.core.peers import peer

    me = peer(os.getpid())
    assert me is not None
    session_id, _ = agent.agent.open_session("proxy", "claude", [], None, (me.pid, me.start))
    answer = wire.call("token", "a", opt_out=False)
    assert answer == ["0", A_TOKEN]  # the proxy reads its tokens
    listed = wire.call("forwards", opt_out=False)
    assert listed is not None and listed[0] == "0"
    (forward_id,) = [str(json.loads(row)["id"]) for row in listed[1:]]
    assert wire.call("forward-close", forward_id, opt_out=False) == ["0"]  # what sessions --end sends
    refused = wire.call("token", "a", opt_out=False)
    assert refused is not None and refused[0] == "5" and f"session {session_id} (claude) has ended" in refused[1]
    assert wire.call("list", "json", "iso", opt_out=False) is not None  # not a token: the proxy goes on
