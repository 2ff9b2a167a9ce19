"""Issue 19: ``tokendeck ssh`` through a real sshd on loopback and the real ssh client.

Here is the machine with the vault and its agent; the "remote" is the same machine reached
through sshd, running ``tokendeck`` in an environment of its own (``HOME``,
``TOKENDECK_HOME`` and ``XDG_RUNTIME_DIR`` elsewhere, no vault), which finds the forward
through ``TOKENDECK_AGENT_SOCK`` as sshd passes it on."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from tests.support.sshd import Sshd, running_sshd

TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
PASS = "correct horse battery staple"
A_TOKEN = "ghp_sshForwardedA1"  # noqa: S105 - test values
B_TOKEN = "ghp_sshNotForwardedB2"  # noqa: S105


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    with running_sshd(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def local(home: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """This machine: a vault with a and b, and its agent running; the environment to run in."""
    env = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    env.pop("TOKENDECK_NO_AGENT", None)
    run = lambda *argv, stdin="": subprocess.run(  # noqa: E731
        [TOKENDECK, *argv], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )
    assert run("init", "--passphrase").returncode == 0
    assert run("add", "a", "--provider", "github-pat", stdin=A_TOKEN + "\n").returncode == 0
    assert run("add", "b", "--provider", "github-pat", stdin=B_TOKEN + "\n").returncode == 0
    assert run("agent", "start").returncode == 0
    try:
        yield env
    finally:
        run("agent", "stop")


@pytest.fixture
def remote(runtime: Path) -> Path:
    """The remote machine's home, under the short runtime directory: its agent socket's path
    must fit a Unix socket address (about 100 bytes) wherever pytest puts ``tmp_path``."""
    place = runtime / "remote"
    (place / "run").mkdir(parents=True, mode=0o700)
    return place


def remotely(remote: Path, *argv: str) -> str:
    """A shell command line that runs ``tokendeck ARGV`` in the remote's own environment."""
    env = f"HOME={remote} TOKENDECK_HOME={remote / 'tokendeck'} XDG_RUNTIME_DIR={remote / 'run'}"
    return f"env {env} {shlex.quote(TOKENDECK)} " + " ".join(shlex.quote(a) for a in argv)


def ssh(
    local: dict[str, str], sshd: Sshd, remote: Path, *tokendeck_args: str, command: str
) -> subprocess.CompletedProcess[str]:
    argv = [
        TOKENDECK, "ssh", *tokendeck_args, "--", *sshd.options(),
        "-o", f"SetEnv=XDG_RUNTIME_DIR={remote / 'run'}", sshd.destination, command,
    ]  # fmt: skip
    env = {k: v for k, v in local.items() if k != "TOKENDECK_PASSPHRASE"}  # the agent holds the key
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def test_the_remote_reads_the_allowed_token_and_nothing_else(
    local: dict[str, str], sshd: Sshd, remote: Path, home: Path
) -> None:
    script = "; ".join(
        [
            remotely(remote, "token", "a") + "; echo rc=$?",
            remotely(remote, "token", "b") + " 2>&1; echo rc=$?",
            remotely(remote, "exec", "-e", "T=a", "--", "sh", "-c", 'test "$T" = ' + A_TOKEN + " && echo exec-ok"),
            remotely(remote, "add", "c", "--provider", "github-pat") + " </dev/null 2>&1; echo rc=$?",
        ]
    )
    r = ssh(local, sshd, remote, "--only", "a", command=script)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == [A_TOKEN, "rc=0"]
    assert lines[2].startswith("tokendeck: b is not forwarded to ") and lines[3] == "rc=5"
    assert lines[4] == "exec-ok"
    assert lines[5:] == [
        "tokendeck: tokendeck add is not available here: TOKENDECK_AGENT_SOCK points at a forward (tokendeck ssh) "
        "or a session (exec --session, proxy run), which serves token, exec, list and git-credential; run it outside",
        "rc=5",
    ]
    assert "forwarding a to " in r.stderr
    with vault.open_vault(home, PASS) as v:
        assert sorted(c.name for c in v.credentials()) == ["a", "b"]
    for _ in range(50):  # through the agent, which writes the reads it holds first (a busy vault: the next second)
        shown = subprocess.run(
            [TOKENDECK, "audit", "--json"], env=local, capture_output=True, text=True, timeout=60, check=True
        )
        forwarded = [e for e in json.loads(shown.stdout) if e["action"] == "forward"]
        served = [(e["credential"], e["outcome"]) for e in forwarded]
        if ("a", "served") in served:
            break
        time.sleep(0.1)
    assert ("a", "served") in served and ("b", "refused") in served
    readers = {e["detail"].split(" reader=", 1)[-1] for e in forwarded if e["outcome"] == "served"}
    (reader,) = readers  # the read came through the local ssh that carries the forward: it is named, by pid
    assert re.fullmatch(r"ssh .* \(pid \d+\)", reader), reader
    assert not (remote / "tokendeck").exists()
    # sshd leaves the socket file behind; after the session nothing answers on it, and the
    # remote says so in one line (a new session's socket has a new name).
    (left,) = (remote / "run").iterdir()
    after = subprocess.run(
        [TOKENDECK, "token", "a"], env={**os.environ, "TOKENDECK_AGENT_SOCK": str(left)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert after.returncode == 3 and after.stdout == "" and "is not answering" in after.stderr


def test_without_a_running_agent_nothing_is_forwarded(local: dict[str, str], sshd: Sshd, remote: Path) -> None:
    subprocess.run([TOKENDECK, "agent", "stop"], env=local, capture_output=True, timeout=60)
    r = ssh(local, sshd, remote, "--only", "a", command="true")
    assert r.returncode == 3 and r.stderr == ("tokendeck: no agent runs: tokendeck agent start (the remote asks it)\n")


def test_a_locked_agent_forwards_nothing(local: dict[str, str], sshd: Sshd, remote: Path, home: Path) -> None:
    assert subprocess.run([TOKENDECK, "lock"], env=local, capture_output=True, timeout=60).returncode == 0
    r = ssh(local, sshd, remote, "--only", "a", command="echo ran-remotely")
    assert r.returncode == 3 and r.stdout == ""
    assert r.stderr == "tokendeck: the agent is locked: tokendeck unlock (the remote asks it)\n"
    from vault.agent.forwarding import active_forwards

    assert active_forwards(str(home)) == []


def test_no_only_is_a_usage_error(local: dict[str, str], sshd: Sshd, remote: Path) -> None:
    r = ssh(local, sshd, remote, command="true")
    assert r.returncode == 2 and "tokendeck ssh --only NAME" in r.stderr and r.stderr.count("\n") == 1


def test_the_forward_ends_at_its_ttl_in_the_middle_of_the_session(
    local: dict[str, str], sshd: Sshd, remote: Path
) -> None:
    """Real time, as --ttl is: the first read works, one after the ttl is one ForwardGone line."""
    script = "; ".join(
        [
            remotely(remote, "token", "a") + "; echo rc=$?",
            "sleep 4",
            remotely(remote, "token", "a") + " 2>&1; echo rc=$?",
        ]
    )
    r = ssh(local, sshd, remote, "--only", "a", "--ttl", "2s", command=script)
    lines = r.stdout.splitlines()
    assert lines[:2] == [A_TOKEN, "rc=0"], r.stderr
    assert "is not answering" in lines[2] and lines[3] == "rc=3"


def test_the_local_agent_refreshes_an_allowed_oauth_credential_the_remote_reads(
    local: dict[str, str], sshd: Sshd, remote: Path, home: Path, auth_server: AuthServer
) -> None:
    """The remote asks for a token that is due: the agent here refreshes it (once), the remote
    gets the new one, and the rotated refresh token is stored here; the remote has no vault."""
    with vault.open_vault(home, PASS) as v:
        old = seed(v, auth_server, "work", expires_in=-5)  # expired: the read refreshes it first
    assert old.access_token is not None and old.refresh_token is not None
    before = auth_server.token_request_count("refresh_token")
    script = "; ".join([remotely(remote, "token", "work"), remotely(remote, "token", "work")])
    r = ssh(local, sshd, remote, "--only", "work", command=script)
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.splitlines()
    # booleans, not the tokens, so a failure prints no secret
    assert (first != old.access_token.reveal(), second == first) == (True, True)  # refreshed once, then read
    assert auth_server.token_request_count("refresh_token") == before + 1
    with vault.open_vault(home, PASS) as v:
        stored = v.get("work")
    assert stored.access_token is not None and stored.refresh_token is not None
    assert (stored.access_token.reveal() == first, stored.refresh_token.reveal() != old.refresh_token.reveal()) == (
        True,
        True,
    )  # the new pair is kept here: the refresh token rotated on this machine
    assert auth_server.token_state(first) == "active"
    assert not (remote / "tokendeck").exists()


def in_a_terminal(argv: list[str], env: dict[str, str], answer: str, prompt: str = "Allow? [y/N]") -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its controlling terminal, as a person at a terminal
    does; type ``answer`` once ``prompt`` shows.  Returns the exit code and everything shown."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.execve(argv[0], argv, env)  # noqa: S606 - the test's own tokendeck, no shell
    shown, typed = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed its terminal: done
            break
        if not chunk:
            break
        shown += chunk
        if not typed and prompt.encode() in shown:
            os.write(fd, answer.encode() + b"\r")
            typed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


@pytest.mark.parametrize(("typed", "said", "code"), [("n", "not allowed", "rc=5"), ("y", A_TOKEN, "rc=0")])
def test_confirm_asks_on_the_terminal_of_tokendeck_ssh(
    local: dict[str, str], sshd: Sshd, remote: Path, home: Path, typed: str, said: str, code: str
) -> None:
    """A person at the terminal is asked before the remote's read, and the answer decides it
    (``ssh -n``: the session does not read the terminal, so only the question does)."""
    argv = [
        TOKENDECK, "ssh", "--only", "a", "--confirm", "--", "-n", *sshd.options(),
        "-o", f"SetEnv=XDG_RUNTIME_DIR={remote / 'run'}", sshd.destination,
        remotely(remote, "token", "a") + " 2>&1; echo rc=$?",
    ]  # fmt: skip
    env = {k: v for k, v in local.items() if k != "TOKENDECK_PASSPHRASE"}
    status, shown = in_a_terminal(argv, env, typed)
    assert status == 0
    assert "wants a for a token read. Allow? [y/N] (no answer in 60 s is no)" in shown
    assert said in shown and code in shown
    expected = ["denied", "ended"] if typed == "n" else ["served", "ended"]  # ended: tokendeck ssh closed it
    for _ in range(100):  # a served read reaches the audit log with the agent's next write (within a second)
        with vault.open_vault(home, PASS) as v:
            outcomes = [e.outcome for e in v.records.audit_log() if e.action == "forward"]
        if outcomes == expected:
            break
        time.sleep(0.05)
    assert outcomes == expected


def test_a_server_without_stream_local_forwarding_ends_the_session_with_one_clear_line(
    local: dict[str, str], remote: Path, tmp_path: Path, home: Path
) -> None:
    """As an OpenSSH before 6.7, or one configured without it: ssh refuses the forward
    (ExitOnForwardFailure), nothing runs remotely, the forward is closed, the vault unchanged."""
    with running_sshd(tmp_path / "old-sshd", stream_local=False) as old:
        r = ssh(local, old, remote, "--only", "a", command="echo ran-remotely")
    assert r.returncode == 255 and "ran-remotely" not in r.stdout
    assert "tokendeck: ssh failed; if it said remote port forwarding failed" in r.stderr
    from vault.agent.forwarding import active_forwards

    assert active_forwards(str(home)) == []  # closed again
    with vault.open_vault(home, PASS) as v:
        assert sorted(c.name for c in v.credentials()) == ["a", "b"]


def test_the_connection_dropping_mid_request_closes_the_forward_and_changes_nothing(
    local: dict[str, str], remote: Path, tmp_path: Path, home: Path
) -> None:
    """The remote's read waits on a --confirm question when sshd dies: tokendeck ssh ends
    with ssh's failure, its forward goes, the question is never served, the vault is as it was."""
    import time

    from vault.agent.consent import pending_questions
    from vault.agent.forwarding import active_forwards

    with vault.open_vault(home, PASS) as v:
        before = [(c.name, c.updated_at) for c in v.credentials()]
    with running_sshd(tmp_path / "dropping-sshd") as server:
        env = {k: v for k, v in local.items() if k != "TOKENDECK_PASSPHRASE"}
        argv = [
            TOKENDECK, "ssh", "--only", "a", "--confirm", "--", *server.options(),
            "-o", f"SetEnv=XDG_RUNTIME_DIR={remote / 'run'}", server.destination, remotely(remote, "token", "a"),
        ]  # fmt: skip
        session = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not pending_questions(str(home)):
            assert time.monotonic() < deadline and session.poll() is None, "the remote's read never arrived"
            time.sleep(0.05)
        subprocess.run(["pkill", "-KILL", "-P", str(server.pid)], check=False)  # the session's sshd: dropped
        out, err = session.communicate(timeout=60)
    assert session.returncode == 255 and "ghp_" not in out
    while active_forwards(str(home)):
        assert time.monotonic() < deadline + 30, "the forward stayed open"
        time.sleep(0.05)
    for _ in range(100):  # the forward's end reaches the audit log with the agent's next write (within a second)
        with vault.open_vault(home, PASS) as v:
            assert [(c.name, c.updated_at) for c in v.credentials()] == before
            outcomes = [e.outcome for e in v.records.audit_log() if e.action == "forward"]
        if len(outcomes) > 1:
            break
        time.sleep(0.05)
    assert outcomes == ["denied", "ended"]  # denied as it closed, then the forward's end


@pytest.mark.parametrize("server_unlinks", [True, False], ids=["StreamLocalBindUnlink-yes", "StreamLocalBindUnlink-no"])
def test_a_remote_socket_path_that_already_exists(
    home: Path, passphrase_env: str, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    server_unlinks: bool,
) -> None:  # fmt: skip
    """The remote path this session's socket takes is already held by a socket an earlier
    session left.  Names are random, so the test fixes this forward's id (the agent runs in
    this process) to make them meet.  With ``StreamLocalBindUnlink yes`` (what docs/remote.md
    asks for) sshd replaces the stale socket and the remote reads its token; without it, ssh
    refuses the forward: one line that names the setting, nothing runs remotely, the forward
    is closed, and the vault and the stale file are as they were."""
    import socket

    from tests.test_agent import start_agent
    from vault.agent import forwarding

    with vault.init_vault(mode="passphrase") as v:
        v.records.add_static("a", provider="github-pat", token=A_TOKEN)
    monkeypatch.setattr(forwarding, "new_forward_id", lambda: "0123456789abcdef")
    stale = remote / "run" / "tokendeck-0123456789abcdef.sock"
    with socket.socket(socket.AF_UNIX) as left_behind:
        left_behind.bind(str(stale))  # closed without unlinking, as sshd leaves its sockets
    with start_agent(), running_sshd(tmp_path / "sshd", unlink_stale=server_unlinks) as server:
        r = ssh(dict(os.environ), server, remote, "--only", "a", command=remotely(remote, "token", "a"))
        from vault.agent.forwarding import active_forwards

        assert active_forwards(str(home)) == []
    if server_unlinks:
        assert r.returncode == 0 and r.stdout == A_TOKEN + "\n", r.stderr
    else:
        assert r.returncode == 255 and r.stdout == ""
        said = [line for line in r.stderr.splitlines() if line.startswith("tokendeck: ssh failed")]
        assert len(said) == 1 and "StreamLocalBindUnlink yes" in said[0]
        assert stale.is_socket()
    with vault.open_vault(home, passphrase_env) as v:
        assert [c.name for c in v.credentials()] == ["a"]
        served = [e.outcome for e in v.records.audit_log() if e.action == "forward"]
    assert served == (["served", "ended"] if server_unlinks else ["ended"])  # the forward opened, then ended


@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize("in_the_way", ["nothing", "a file", "a symlink", "a directory"])
def test_the_probe_picks_a_private_directory_or_says_what_is_in_the_way(
    tmp_path: Path, shell: str, in_the_way: str
) -> None:
    """Without ``$XDG_RUNTIME_DIR`` the socket goes in ``~/.tokendeck-run``, made 0700; a file
    or a symlink in its place is refused with one line and left as it was (the probe is the
    fixed text ``tokendeck ssh`` runs on the remote first, here run by a local shell)."""
    import stat

    from vault.bridges.ssh_forward import PROBE

    private = tmp_path / ".tokendeck-run"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    if in_the_way == "a file":
        private.write_text("notes\n")
    elif in_the_way == "a symlink":
        private.symlink_to(elsewhere)
    elif in_the_way == "a directory":
        private.mkdir(mode=0o755)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    r = subprocess.run([shell, "-c", PROBE], env=env, capture_output=True, text=True, timeout=30)
    if in_the_way in ("a file", "a symlink"):
        assert r.returncode == 1 and r.stdout == ""
        said = "is in the way (a file or a symlink, not a directory): move it away, or set XDG_RUNTIME_DIR"
        assert r.stderr == f"{private} {said}\n"
        assert private.is_symlink() == (in_the_way == "a symlink")
        assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755  # not chmod-ed through the link
    else:
        assert (r.returncode, r.stdout, r.stderr) == (0, f"{private}\n", "")
        assert private.is_dir() and stat.S_IMODE(private.stat().st_mode) == 0o700
    with_runtime = subprocess.run(
        [shell, "-c", PROBE], env={**env, "XDG_RUNTIME_DIR": str(elsewhere)}, capture_output=True, text=True, timeout=30
    )
    assert with_runtime.stdout == f"{elsewhere}\n"
