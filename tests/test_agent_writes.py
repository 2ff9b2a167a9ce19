"""Issue 31: the running agent serves writes.  Real processes at SQLCipher's default KDF cost,
real sockets: each command that changes the vault runs in a pseudo-terminal against a
passphrase vault whose agent is unlocked, with no passphrase in the environment, and asks for
nothing; its exit code and output, and the vault it leaves (credentials with their secrets,
registrations, bindings, git hosts, the audit log without its times), equal those of the
same command run without the agent on a twin vault.  Then what goes wrong: a forward cannot
write, a locked agent leaves the command to open the vault (asking as before), a malformed
or huge request gets one error answer, and an agent that stops or dies mid-write."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import vault
from tests import test_mcp_login
from vault.agent import wire

mcp_server = test_mcp_login.mcp_server  # a fixture: an MCP server whose authorization server registers clients
PASS = "agent writes passphrase"
TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
"""When something was done differs by a second between the twins; what was done may not."""
PASSPHRASE_PROMPT = "Vault passphrase: "
"""What the prompt for the vault's passphrase shows: through the agent, it never appears."""


def tokendeck(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TOKENDECK, *argv], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def in_pty(
    argv: list[str],
    env: dict[str, str],
    *,
    stdin: str | None = None,
    cwd: Path | None = None,
    answers: dict[bytes, str] | None = None,
    timeout: float = 60,
) -> tuple[int, str]:
    """Run ``tokendeck ARGV`` with a pseudo-terminal as its controlling terminal, stdout and
    stderr (and stdin, unless ``stdin`` is piped in, as ``echo tok | tokendeck add`` does);
    type each answer once its prompt shows.  Returns the exit code and everything shown."""
    piped = os.pipe() if stdin is not None else None
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        try:
            if cwd is not None:
                os.chdir(cwd)
            if piped is not None:
                os.dup2(piped[0], 0)
                os.close(piped[0])
                os.close(piped[1])
            os.execve(TOKENDECK, [TOKENDECK, *argv], env)  # noqa: S606 - the test's own tokendeck, no shell
        finally:
            os._exit(127)
    if piped is not None:
        os.close(piped[0])
        os.write(piped[1], (stdin or "").encode())
        os.close(piped[1])
    shown, waiting = b"", dict(answers or {})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed its terminal: done
            break
        if not chunk:
            break
        shown += chunk
        for prompt, answer in list(waiting.items()):
            if prompt in shown:
                os.write(fd, answer.encode() + b"\r")
                del waiting[prompt]
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
        pytest.fail(f"tokendeck {' '.join(argv)} did not finish (waiting for an answer?): {shown!r}")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace").replace("\r\n", "\n")


def digest(secret: Any) -> str | None:
    return None if secret is None else hashlib.sha256(secret.reveal().encode()).hexdigest()[:16]


def timeless(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if k != "at" and (not k.endswith("_at") or "expires" in k)}


def state(home: Path) -> dict[str, Any]:
    """Everything the vault holds (secrets as digests), without the times of day things were done."""
    with vault.open_vault(home, PASS) as v:
        now = v.clock.now()
        credentials = {
            c.name: {
                **timeless(c.public(now)),
                "access_token": digest(c.access_token),
                "refresh_token": digest(c.refresh_token),
            }
            for c in v.credentials()
        }
        clients = {r.provider: {**timeless(r.public()), "secret": digest(r.client_secret)} for r in v.records.clients()}
        bindings = sorted((b.credential, b.target, b.path, b.key) for b in v.records.links.export_bindings(None))
        audit = [timeless(e.public()) for e in v.records.audit_log()]
        hosts = sorted(v.records.links.git_hosts())
    text = json.dumps(
        {"credentials": credentials, "clients": clients, "bindings": bindings, "audit": audit, "hosts": hosts}
    )
    twin: dict[str, Any] = json.loads(text.replace(str(home.parent), "TWIN"))
    return twin


@pytest.fixture
def twins(tmp_path: Path, runtime: Path) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """Two vaults holding the same: ``gh`` (a PAT) and ``later`` (an API key that expires).
    The first's agent runs unlocked, and its environment holds no passphrase; the second is
    used without an agent, its passphrase in the environment."""
    envs = []
    for twin in ("agent", "local"):  # names of one length: tables align alike
        root = tmp_path / twin
        (root / "project").mkdir(parents=True)
        env = {
            **os.environ,
            "TOKENDECK_HOME": str(root / "home"),
            "TOKENDECK_PASSPHRASE": PASS,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "TOKENDECK_RUNTIME_DIR": str(runtime / "tokendeck"),
            "HOME": str(root),
            "COLUMNS": "200",
        }
        env.pop("TOKENDECK_NO_AGENT", None)
        assert tokendeck(env, "init", "--passphrase").returncode == 0
        assert tokendeck(env, "add", "gh", "--provider", "github-pat", stdin="ghp_twin123").returncode == 0
        added = tokendeck(env, "add", "later", "--provider", "api-key", "--expires", "2030-01-01", stdin="x1")
        assert added.returncode == 0
        (root / "project" / ".env").write_text("KEEP=1\n")
        (root / "project" / "import.env").write_text("OPENAI_API_KEY=sk-twin-1\nOTHER_TOKEN=tok_twin_2\n")
        envs.append(env)
    agent_env, direct_env = envs
    assert tokendeck(agent_env, "agent", "start").returncode == 0
    yield {k: v for k, v in agent_env.items() if k != "TOKENDECK_PASSPHRASE"}, {**direct_env, "TOKENDECK_NO_AGENT": "1"}
    tokendeck(agent_env, "agent", "stop")


WRITES: list[tuple[list[str], str | None, dict[bytes, str]]] = [
    (["add", "new", "--provider", "api-key", "--expires", "2031-02-03"], "tok_new_1\n", {}),
    (["add", "gh", "--provider", "github-pat", "--replace"], "ghp_replaced_2\n", {}),
    (["add", "gh", "--provider", "github-pat"], "ghp_unused\n", {}),  # taken: 1, nothing read
    (["add", "odd", "--provider", "no-such-kind"], "tok_odd_3\n", {}),  # kept as an API key, with a notice
    (["add", "typed", "--provider", "api-key"], None, {b"Token for typed": "tok_typed_4"}),
    (["rename", "new", "renamed"], None, {}),
    (["rename", "nope", "other"], None, {}),
    (["rm", "renamed"], None, {b"[y/N]": "y"}),
    (["rm", "odd"], None, {b"[y/N]": "n"}),
    (["rm", "nope", "--yes"], None, {}),
    (["rm", "odd", "--yes"], None, {}),
    (["provider", "add", "github", "--client-id", "Iv1.twin", "--with-secret"], "client-secret-5\n", {}),
    (["provider", "add", "gitlab", "--client-id", "gl-twin"], None, {}),
    (["provider", "list"], None, {}),
    (["provider", "show", "github", "--json"], None, {}),
    (["provider", "rm", "gitlab"], None, {}),
    (["provider", "rm", "gitlab"], None, {}),
    (["git-credential", "map", "github.com", "gh"], None, {}),
    (["git-credential", "map", "git.example.org", "later", "--username", "me"], None, {}),
    (["git-credential", "list"], None, {}),
    (["git-credential", "unmap", "git.example.org"], None, {}),
    (["git-credential", "unmap", "git.example.org"], None, {}),
    (["export", "shell", "--name", "gh", "--var", "GH_TOKEN"], None, {}),
    (["export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--dry-run"], None, {}),
    (["export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext"], None, {}),
    (["export", "claude-code", "--name", "gh", "--var", "GH_TOKEN", "--server", "gh", "--command", "gh-mcp"], None, {}),
    (["export", "--list"], None, {}),
    (["export", "--list", "--json"], None, {}),
    (["unexport", "dotenv", "--name", "gh"], None, {}),
    (["unexport", "dotenv", "--name", "gh"], None, {}),
    (["import", "dotenv", "import.env", "--dry-run"], None, {}),
    (["import", "dotenv", "import.env"], None, {b"[y/N]": "y", b"Shred it now?": "n"}),
    (["import", "dotenv", "import.env", "--yes"], None, {}),  # every name taken now
    (["backup", "../backup.tdb"], None, {}),
    (["backup", "../backup.tdb"], None, {}),  # exists: refused
    (["backup", "../travels.tdb", "--passphrase"], "a new backup passphrase\n", {}),
    (["revoke", "later", "--yes"], None, {}),
    (["revoke", "later", "--local", "--yes"], None, {}),
    (["refresh", "--due"], None, {}),
    (["verify", "later", "--json"], None, {}),  # revoked above, its tokens erased: nothing is sent
    (["verify", "nope"], None, {}),
]
"""Every command that changes the vault (and the reads they share requests with): argv, what
is piped in (None: stdin is the terminal), and what to type at which prompt."""


def test_each_write_through_the_agent_asks_nothing_and_equals_the_direct_path(
    twins: tuple[dict[str, str], dict[str, str]],
) -> None:
    through_agent, direct = twins
    homes = [Path(through_agent["TOKENDECK_HOME"]), Path(direct["TOKENDECK_HOME"])]
    assert state(homes[0]) == state(homes[1])
    for argv, stdin, answers in WRITES:
        results = []
        for env, home in zip((through_agent, direct), homes, strict=True):
            code, shown = in_pty(argv, env, stdin=stdin, cwd=home.parent / "project", answers=answers)
            results.append((code, re.sub(ISO_TIME, "TIME", shown.replace(str(home.parent), "TWIN"))))
        assert results[0] == results[1], argv
        assert PASSPHRASE_PROMPT not in results[0][1], argv
        assert state(homes[0]) == state(homes[1]), argv
    # The files written where the user was (relative paths: the command's own directory).
    for home in homes:
        assert "GH_TOKEN='ghp_replaced_2'" in (home.parent / "project" / ".env").read_text()
        assert (home.parent / "backup.tdb").exists() and (home.parent / "travels.tdb").exists()
    # The secrets went over the socket only: not into the agent's log, nor its command line.
    agent_log = Path(wire.socket_path(str(homes[0]))[:-5] + ".log").read_text()
    pid = agent_pid(str(homes[0]))
    seen = agent_log + Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    for secret in ("tok_new_1", "ghp_replaced_2", "tok_typed_4", "client-secret-5", "a new backup passphrase"):
        assert secret not in seen
    # And the agent did it: it never asked, and it is still unlocked.
    assert wire.call("ping", home=homes[0])[2] == "unlocked"  # type: ignore[index]


def test_every_request_is_in_the_table_and_no_forward_serves_a_change() -> None:
    from vault.agent.forwarding import SERVED_OPS
    from vault.agent.ops import CHANGES, OPS
    from vault.services.commands import _table
    from vault.services.protocol import COMMAND_NAMES, READS

    assert set(_table()) == set(COMMAND_NAMES) and set(READS) < set(COMMAND_NAMES)
    assert set(COMMAND_NAMES) <= set(OPS)
    assert not CHANGES & set(SERVED_OPS)


def agent_pid(home: str) -> int:
    answer = wire.call("ping", home=home)
    assert answer is not None and answer[0] == "0"
    return int(answer[1])


def sockets_of(pid: int) -> int:
    """The sockets process ``pid`` holds (its listener, and a connection per client)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed meanwhile
            count += os.readlink(fd).startswith("socket:")
    return count


def waiting_for(condition: Any, held: float = 0.3) -> None:
    """Until ``condition()`` has held for ``held`` seconds (a connection that stays, not the
    name check that comes and goes first)."""
    deadline, since = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        if not condition():
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since >= held:
            return
        time.sleep(0.02)
    pytest.fail("the write never reached the agent")


def names_in(home: str) -> list[str]:
    with vault.open_vault(home, PASS) as v:
        return sorted(c.name for c in v.credentials())


def test_a_forward_cannot_write(twins: tuple[dict[str, str], dict[str, str]]) -> None:
    """Only the agent's own socket takes changes: through a tokendeck ssh forward, a change is
    refused whether the request is made by hand or by the command, and nothing changes."""
    env, _ = twins
    home = env["TOKENDECK_HOME"]
    opened = wire.call("forward-open", "remote.example", "", str(os.getpid()), "-", "gh", home=home)
    assert opened is not None and opened[0] == "0"
    path = opened[2]
    remote = {**env, "TOKENDECK_AGENT_SOCK": path}
    for op, request in [("rm", {"name": "gh"}), ("add", {"name": "x", "provider": "api-key", "token": "t", "now": 0})]:
        frame = wire.encode([wire.VERSION, home, op, json.dumps(request)], request=True)
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(path)
            sock.sendall(frame)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        answer = wire.decode(data)
        assert answer[0] == "5" and "does not pass" in answer[1], answer
    for argv in (["rm", "gh", "--yes"], ["git-credential", "map", "example.org", "gh"]):
        refused = tokendeck(remote, *argv)
        assert refused.returncode != 0 and refused.stderr.count("\n") == 1, (argv, refused.stderr)
    assert tokendeck(remote, "token", "gh").stdout == "ghp_twin123\n"  # what a forward is for still works
    wire.call("forward-close", opened[1], home=home)
    assert names_in(home) == ["gh", "later"]


def test_a_locked_agent_leaves_the_write_to_the_command(twins: tuple[dict[str, str], dict[str, str]]) -> None:
    """Locked, the agent answers "do it yourself": the command opens the vault and asks for the
    passphrase on the terminal as it always did; without a terminal, one line, exit 3, nothing
    changed."""
    env, _ = twins
    home = env["TOKENDECK_HOME"]
    assert tokendeck(env, "lock").returncode == 0
    code, shown = in_pty(
        ["add", "typed", "--provider", "api-key"], env, answers={b"Vault passphrase": PASS, b"Token for typed": "tok_t"}
    )
    assert code == 0 and PASSPHRASE_PROMPT in shown and "stored typed" in shown, shown
    alone = subprocess.run(
        [TOKENDECK, "add", "piped", "--provider", "api-key"], input="tok_p", capture_output=True, text=True,
        env=env, timeout=60, check=False, start_new_session=True,  # no controlling terminal
    )  # fmt: skip
    assert alone.returncode == 3 and alone.stderr.count("\n") == 1, alone.stderr
    assert names_in(home) == ["gh", "later", "typed"]


def test_a_malformed_or_huge_write_gets_one_error_and_the_agent_serves_on(
    twins: tuple[dict[str, str], dict[str, str]],
) -> None:
    import socket

    env, _ = twins
    home = env["TOKENDECK_HOME"]
    deep = "[" * 100_000 + "]" * 100_000
    bad: list[tuple[str, list[str]]] = [
        ("add", ["not json"]),
        ("add", ["[]"]),
        ("rm", [json.dumps({"name": 5})]),
        ("rm", [json.dumps({"name": "gh", "also": "later"})]),
        ("rm", [json.dumps({})]),
        ("rm", []),
        ("rm", ["{}", "{}"]),
        ("rename", [deep[:30_000] + deep[-30_000:]]),
        (
            "provider-add",
            [json.dumps({"name": "x", "base": "github", "client_id": "i", "params": [], "overrides": {}})],
        ),
        ("sign-in-store", [json.dumps({"signed": {"provider": "github"}})]),
        ("import", [json.dumps({"source": "s", "found": [{"name": "x"}]})]),
    ]
    for op, fields in bad:
        answer = wire.call(op, *fields, home=home)
        assert answer is not None and answer[0] == "2" and "malformed" in answer[1], (op, answer)
    frame = wire.encode([wire.VERSION, home, "add", "x" * (wire.MAX_REQUEST + 10)], request=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(wire.socket_path(home))
        with contextlib.suppress(OSError):  # the agent stops reading, answers, and closes
            sock.sendall(frame)
        data = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                data += chunk
    answer = wire.decode(data)
    assert answer[0] == "2" and "longer than the agent takes" in answer[1], answer
    # Our own client never sends one: it does the work itself instead.
    assert wire.call("add", "x" * (wire.MAX_REQUEST + 10), home=home, change=True) is None
    assert tokendeck(env, "token", "gh").stdout == "ghp_twin123\n"  # served on
    assert names_in(home) == ["gh", "later"]


@pytest.mark.parametrize("ending", [["agent", "stop"], ["lock"]])
def test_an_agent_stopped_or_locked_mid_write_finishes_it_first(
    twins: tuple[dict[str, str], dict[str, str]], ending: list[str]
) -> None:
    """``tokendeck agent stop`` or ``tokendeck lock`` while a write waits for the vault's write
    lock (another writer holds it): the write completes, its command says so, and only then
    does the agent stop or lock."""
    import threading

    env, _ = twins
    home = env["TOKENDECK_HOME"]
    holding, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with vault.open_vault(home, PASS) as v, v.records.all_or_nothing():
            v.records.record("test-hold", "ok")
            holding.set()
            release.wait(20)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert holding.wait(30)
    pid = agent_pid(home)
    before = sockets_of(pid)
    with (
        subprocess.Popen(
            [TOKENDECK, "add", "during", "--provider", "api-key"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        ) as adding,
    ):  # fmt: skip
        assert adding.stdin is not None and adding.stderr is not None
        adding.stdin.write("tok_during")
        adding.stdin.close()
        waiting_for(lambda: sockets_of(pid) > before)  # the write reached the agent, which waits for the lock
        with subprocess.Popen([TOKENDECK, *ending], env=env, stderr=subprocess.DEVNULL) as stopping:
            time.sleep(1.0)
            assert adding.poll() is None and Path(f"/proc/{pid}").exists()  # both wait
            release.set()
            holder.join()
            err = adding.stderr.read()
            assert adding.wait(60) == 0 and err == "tokendeck: stored during\n", err
            assert stopping.wait(60) == 0
    assert tokendeck(env, "agent", "status").returncode == (5 if ending == ["agent", "stop"] else 3)
    assert names_in(home) == ["during", "gh", "later"]


def test_writers_racing_the_agent_lose_no_update(twins: tuple[dict[str, str], dict[str, str]]) -> None:
    """Six writes through the agent and six direct ones, all at once, on one vault: every one
    is stored and audited (the vault's own transactions and busy wait order them)."""
    env, direct = twins
    home = env["TOKENDECK_HOME"]
    here = {**direct, "TOKENDECK_HOME": home}
    procs = []
    for n in range(6):
        for who, environment in (("agent", env), ("direct", here)):
            procs.append(
                subprocess.Popen(
                    [TOKENDECK, "add", f"{who}-{n}", "--provider", "api-key"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=environment,
                )  # fmt: skip
            )
    for n, proc in enumerate(procs):
        _, err = proc.communicate(f"tok_race_{n}", timeout=120)
        assert proc.returncode == 0, err
    names = [f"{who}-{n}" for n in range(6) for who in ("agent", "direct")]
    assert names_in(home) == sorted([*names, "gh", "later"])
    with vault.open_vault(home, PASS) as v:
        added = [e.credential for e in v.records.audit_log() if e.action == "add"]
    assert sorted({a for a in added if a is not None} & set(names)) == sorted(names)


def test_an_agent_killed_mid_write_says_the_outcome_is_unknown(
    twins: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    """An agent killed after the write committed and before it answered (a kill point): the
    command cannot know, and says so in one line naming how to check; the vault is whole."""
    env, direct = twins
    home = env["TOKENDECK_HOME"]
    assert tokendeck({**direct, "TOKENDECK_HOME": home}, "agent", "stop").returncode == 0
    started = tokendeck(
        {**direct, "TOKENDECK_HOME": home, "TOKENDECK_NO_AGENT": "", "TOKENDECK_FAULT": "committed:2"}, "agent", "start"
    )
    assert started.returncode == 0, started.stderr  # its start commits once; the write is the second
    assert tokendeck(env, "agent", "status").returncode == 0
    done = tokendeck(env, "add", "killed", "--provider", "api-key", stdin="tok_k")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "whether the change was made is not known" in done.stderr and "tokendeck list" in done.stderr
    assert names_in(home) == ["gh", "killed", "later"]  # committed before the kill: whole


BOB = "FAKE_BROWSER_USER=bob"
"""A step's first word that makes the fake browser sign in as bob."""


@pytest.mark.parametrize("server", ["provider", "mcp"])
def test_login_signs_in_here_and_the_agent_stores_it(
    twins: tuple[dict[str, str], dict[str, str]],
    auth_server: Any,
    browser_log: Path,
    request: pytest.FixtureRequest,
    server: str,
) -> None:
    """``provider add`` (discovery here) and ``login`` (the browser, the device code, and an MCP
    server's discovery and dynamic registration, here) through the agent store what the direct
    path stores: the same credential (its tokens are the server's new ones each time),
    registration and audit entries, with no prompt."""
    import threading

    auth_server.register_client("twins-client")
    browser = {k: v for k, v in os.environ.items() if k == "BROWSER" or k.startswith("FAKE_BROWSER")}
    envs = [{**twins[0], **browser}, {**twins[1], **browser}]
    homes = [Path(env["TOKENDECK_HOME"]) for env in envs]
    steps = [
        ["provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", "twins-client"],
        ["login", "acme"],
        ["login", "acme", "--name", "second"],
        ["login", "acme", "--device", "--name", "device"],
        ["login", "nope"],
        [BOB, "login", "acme", "--name", "acme"],  # another account: refused by the agent (issue 33)
        [BOB, "login", "acme", "--replace-account", "--name", "second"],
        ["revoke", "second"],  # at the provider, by the agent, after the question here
    ]
    expected = {
        "provider add acme --issuer": 0, "login acme": 0, "login acme --name second": 0,
        "login acme --device --name": 0, "login nope": 5, f"{BOB} login acme --name": 1,
        f"{BOB} login acme --replace-account": 0, "revoke second": 0,
    }  # fmt: skip
    accounts: dict[str, str | None] = {"acme": "alice@example.test", "second": "bob@example.test"}
    accounts["device"] = "alice@example.test"
    if server == "mcp":  # its server checks every token request's resource: a test of its own
        url = request.getfixturevalue("mcp_server")
        steps = [["login", "--mcp", url, "--name", "tools"]] * 2  # again: the registration that worked, kept
        expected, accounts = {f"login --mcp {url} --name": 0}, {"tools": None}

    def shown_alike(text: str, home: Path) -> str:
        text = re.sub(r"Enter the code\s+\S+", "Enter the code CODE", text.replace(str(home.parent), "TWIN"))
        text = re.sub(r"client id [^)\s]+", "client id ID", text)
        text = re.sub(r"(user_code|code|state|code_challenge|redirect_uri|client_id)=[^\s&]+", r"\1=X", text)
        return re.sub(r"expires in \S+", "expires in T", re.sub(ISO_TIME, "TIME", text))

    def alike(facts: dict[str, Any]) -> dict[str, Any]:
        for credential in facts["credentials"].values():
            if credential["kind"] == "oauth":  # new tokens at each sign-in
                for key in ("access_token", "refresh_token", "expires_at", "refresh_expires_at", "extras"):
                    credential.pop(key, None)
        for client in facts["clients"].values():
            if client["provider"].startswith("mcp-"):  # registered anew at each server
                client.pop("client_id")
        for event in facts["audit"]:
            event["detail"] = re.sub(r"client_id=\S+", "client_id=ID", event["detail"] or "")
        return facts

    codes: dict[str, tuple[int, str]] = {}
    for argv in steps:
        results = []
        for env, home in zip(envs, homes, strict=True):
            approver = None
            if "--device" in argv:

                def user() -> None:
                    auth_server.approve_device(auth_server.wait_for_device_authorization(timeout=20))

                approver = threading.Thread(target=user)
                approver.start()
            as_bob = {"FAKE_BROWSER_USER": "bob"} if argv[0] == BOB else {}
            command = argv[1:] if as_bob else argv
            code, shown = in_pty(command, {**env, **as_bob}, cwd=home.parent / "project", answers={b"[y/N]": "y"})
            if approver is not None:
                approver.join(timeout=20)
            results.append((code, shown_alike(shown, home)))
        assert results[0] == results[1], argv
        assert PASSPHRASE_PROMPT not in results[0][1], argv
        assert alike(state(homes[0])) == alike(state(homes[1])), argv
        codes[" ".join(argv[:4])] = results[0]
    assert {argv: code for argv, (code, _) in codes.items()} == expected, codes
    if server == "provider":
        assert "tokendeck: revoked second at acme; its tokens are erased from the vault" in codes["revoke second"][1]
        refused = codes[f"{BOB} login acme --name"][1]
        assert (
            "tokendeck: acme holds alice@example.test, but this sign-in is bob@example.test: nothing was stored"
            in refused
        )
    with vault.open_vault(homes[0], PASS) as v:
        assert {c.name: c.account for c in v.credentials() if c.kind == "oauth"} == accounts
