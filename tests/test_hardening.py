"""Faults and bad input an outside attack found (issue 13), each kept fixed: one clear line,
a documented exit code, and the vault exactly as it was."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.export import TOKEN
from vault.core.timefmt import LATEST, iso, relative
from vault.oauth.loopback import CALLBACK_PATH, HOST, Expectation, LoopbackListener

REMOTE_MCP_EXPORT = ("export", "claude-code", "--name", "gh", "--var", "GH_TOKEN", "--server", "gh",
                     "--url", "https://mcp.example.com/")  # fmt: skip
"""A reference-mode export of ``gh`` to a remote MCP server in ``.mcp.json``: no secret in the file."""

# ------------------------------------------------- 1. a far-future expiry


@pytest.mark.parametrize("when", ["99999999999999999999d", "1000000w", "10000-01-01", "9999-12-31T23:59:59.5+00:00"])
def test_an_expiry_past_9999_is_refused_and_nothing_is_stored(ready: CliRunner, when: str) -> None:
    before = ready("list", "--json").out
    r = ready("add", "d", "--provider", "api-key", "--expires", when, stdin="tok")
    assert r.code == 2 and r.err.count("\n") == 1 and "Traceback" not in r.err, r.err
    assert ready("list", "--json").out == before  # nothing stored


def test_the_library_refuses_one_too(home: Path) -> None:
    with vault.init_vault(home, mode="keyring") as v:
        for bad in (1e300, float("inf"), float("nan")):
            with pytest.raises(vault.InvalidInput):
                v.add_static("d", provider="api-key", token="t", expires_at=bad)
        assert v.credentials() == []


def test_list_and_show_never_crash_on_a_stored_time(ready: CliRunner, home: Path) -> None:
    """A time past what a date can name, written by an older tokendeck or by hand, is shown as
    the latest date there is."""
    assert ready("add", "far", "--provider", "api-key", stdin="tok").code == 0
    with vault.open_vault(home) as v:
        v._store.transaction().__enter__().execute("UPDATE credentials SET expires_at = 1e300")  # noqa: SLF001
    for argv in (("list",), ("list", "--json"), ("show", "far"), ("show", "far", "--json")):
        r = ready(*argv)
        assert r.code == 0 and "Traceback" not in r.err, (argv, r.err)
    assert "9999-12-31T23:59:59Z" in ready("show", "far", "--json").out
    assert iso(float("inf")) == iso(LATEST) and relative(float("nan"), 0).startswith("in ")


# --------------------------------------------- 6. rename X X


def test_renaming_to_the_same_name_is_an_immediate_clear_no(ready: CliRunner) -> None:
    started = time.monotonic()
    r = ready("rename", "gh", "gh")
    assert time.monotonic() - started < 30  # it used to wait 131 s for its own lock, then say "busy"
    assert r.code == 2 and "already has that name" in r.err and "refreshed" not in r.err
    assert [c["name"] for c in json.loads(ready("list", "--json").out)] == ["gh"]


# ------------------------------------ 10. exec hands nothing that unlocks the vault


def test_exec_children_get_no_variable_that_unlocks_the_vault(live_env: dict[str, str], tmp_path: Path) -> None:
    """A real ``tokendeck exec`` (shipped KDF): the program sees its token, and no variable
    that unlocks the vault (a passphrase, a file or a command that gives one, a new one)."""
    from tests.support.live import PASS
    from tests.test_agent_cli import TOKENDECK

    secret_file = tmp_path / "pass"
    secret_file.write_text(PASS)
    env = {
        **live_env,
        "TOKENDECK_PASSPHRASE_FILE": str(secret_file),
        "TOKENDECK_PASSPHRASE_COMMAND": "cat " + str(secret_file),
        "TOKENDECK_NEW_PASSPHRASE": "new one",
        "TOKENDECK_NO_AGENT": "1",
    }
    argv = [TOKENDECK, "exec", "-e", "T=gh", "--", "env"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    names = {line.partition("=")[0] for line in done.stdout.splitlines()}
    assert "T" in names
    assert not {n for n in names if "PASSPHRASE" in n}, names


# ------------------------------------ 15. the loopback listener checks Host


def test_the_loopback_listener_answers_only_its_own_host() -> None:
    """DNS rebinding: a request that reaches 127.0.0.1 under another name is refused, and the
    sign-in is not decided by it; the real callback still works afterwards."""
    expected = Expectation(provider="acme", state="s" * 20)
    with LoopbackListener(expected) as listener:
        conn = http.client.HTTPConnection(HOST, listener.port, timeout=5)
        conn.request("GET", f"{CALLBACK_PATH}?code=stolen&state={'s' * 20}", headers={"Host": "evil.example"})
        assert conn.getresponse().status == 421
        conn.close()
        got: list[str] = []
        waiter = threading.Thread(target=lambda: got.append(listener.wait(5)))
        waiter.start()
        conn = http.client.HTTPConnection(HOST, listener.port, timeout=5)
        conn.request("GET", f"{CALLBACK_PATH}?code=real&state={'s' * 20}")  # Host: 127.0.0.1:PORT
        assert conn.getresponse().status == 200
        conn.close()
        waiter.join(5)
    assert got == ["real"]


# ----------------------------- 3. plaintext exports when git cannot answer


@pytest.mark.parametrize("how", ["no-git-on-path", "git-dir-nowhere"])
def test_a_plaintext_export_is_refused_when_git_cannot_answer(
    ready: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    if how == "no-git-on-path":
        monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    else:
        monkeypatch.setenv("GIT_DIR", str(tmp_path / "nowhere"))
    target = work / ".env"
    args = ("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--file", str(target), "--plaintext")
    r = ready(*args)
    assert r.code == 2 and "git could not say" in r.err, r.err
    assert not target.exists()
    forced = ready(*args, "--force")
    assert forced.code == 0, forced.err
    assert TOKEN in target.read_text()


# ------------------------- 9, 12. plaintext files and temp files are owner-only


def test_a_plaintext_export_into_a_world_readable_file_makes_it_owner_only(ready: CliRunner) -> None:
    env = Path(".env")
    env.write_text("OTHER=1\n")
    os.chmod(env, 0o644)
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--plaintext")
    assert r.code == 0 and "readable by you only" in r.err
    assert env.stat().st_mode & 0o777 == 0o600 and TOKEN in env.read_text()
    mcp = Path(".mcp.json")
    mcp.write_text("{}\n")
    os.chmod(mcp, 0o644)
    assert ready(*REMOTE_MCP_EXPORT).code == 0
    assert mcp.stat().st_mode & 0o777 == 0o644 and TOKEN not in mcp.read_text()  # no secret: its mode kept


KILLED_WRITE = """
import os, signal, sys
from pathlib import Path
from vault.export import writer
writer.os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)  # killed between fsync and rename
writer.replace_atomic(Path(sys.argv[1]), "GH_TOKEN=leftover-secret\\n", expected=None, mode=0o644)
"""


def test_a_write_killed_before_its_rename_leaves_an_owner_only_temp_that_the_next_write_removes(
    tmp_path: Path,
) -> None:
    import signal
    import sys

    from vault.export.writer import replace_atomic

    target = tmp_path / "app.env"
    done = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(target)], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    [leftover] = list(tmp_path.glob(".app.env.*.tokendeck.tmp"))
    assert leftover.stat().st_mode & 0o777 == 0o600  # never the target's 0644
    assert not target.exists()
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))  # a leftover, not a write in progress
    replace_atomic(target, "GH_TOKEN=new\n", expected=None, mode=None)
    assert list(tmp_path.glob("*.tokendeck.tmp")) == [] and target.read_text() == "GH_TOKEN=new\n"


# ------------------------------------------------ 5. no secrets in core dumps

DUMPABILITY = """
import ctypes, resource
from vault.cli import terminal
terminal.open_vault().close()
print(resource.getrlimit(resource.RLIMIT_CORE)[0], ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE
"""


def test_processes_that_hold_the_key_leave_no_core_dump(live_env: dict[str, str]) -> None:
    """The CLI once it unlocks, and the agent: no core file, not dumpable.  A program that
    ``tokendeck exec`` becomes gets its core-file limit back (and is dumpable again)."""
    import sys

    from tests.test_agent_cli import TOKENDECK, tokendeck

    done = subprocess.run([sys.executable, "-c", DUMPABILITY], capture_output=True, text=True, env=live_env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "0"]
    assert tokendeck(live_env, "agent", "start").returncode == 0
    try:
        pid = json.loads(tokendeck(live_env, "agent", "status", "--json").stdout)["pid"]
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert any(line.startswith("Max core file size") and line.split()[4] == "0" for line in limits.splitlines())
    finally:
        tokendeck(live_env, "agent", "stop")
    env = {**live_env, "TOKENDECK_NO_AGENT": "1"}
    # Started with a core-file limit of 1024 blocks: tokendeck lowers it to 0 once it has
    # unlocked, and the program it becomes gets the 1024 back.
    script = f'ulimit -c 1024 && exec {TOKENDECK} exec -e T=gh -- sh -c "ulimit -c"'
    child = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert child.returncode == 0 and child.stdout == "1024\n", child.stderr


# ------------------------------------- 4. the agent's environment unlocks nothing


def test_the_agent_process_environment_holds_nothing_that_unlocks_the_vault(
    live_env: dict[str, str], tmp_path: Path
) -> None:
    """Started with every way to unlock in its environment, the agent's kernel copy of its
    environment (``/proc/PID/environ``, which popping ``os.environ`` never clears) has none of
    them; it got the key on a pipe, and it still serves tokens."""
    from tests.test_agent_cli import tokendeck

    secret_file = tmp_path / "passphrase"
    secret_file.write_text(live_env["TOKENDECK_PASSPHRASE"] + "\n")
    env = {
        **live_env,
        "TOKENDECK_PASSPHRASE_FILE": str(secret_file),
        "TOKENDECK_NEW_PASSPHRASE": "next one",
        "TOKENDECK_OTHER_PASSPHRASE": "odd one",
    }
    assert tokendeck(env, "agent", "start").returncode == 0
    try:
        pid = json.loads(tokendeck(env, "agent", "status", "--json").stdout)["pid"]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        names = {entry.partition(b"=")[0].decode() for entry in environ if entry}
        assert "TOKENDECK_HOME" in names and not {n for n in names if "PASSPHRASE" in n}
        blob = b"\0".join(environ)
        assert live_env["TOKENDECK_PASSPHRASE"].encode() not in blob and b"next one" not in blob
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert live_env["TOKENDECK_PASSPHRASE"].encode() not in cmdline
        token = tokendeck({**env, "TOKENDECK_PASSPHRASE": "wrong"}, "token", "gh")
        assert (token.returncode, token.stdout) == (0, "ghp_live\n")  # from the agent: no unlock needed
    finally:
        tokendeck(env, "agent", "stop")


# --------------------------------------- 13. JSON an agent config cannot hold


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('{"mcpServers": {}, "n": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"mcpServers": {}, "n": 1e999999}', "too large to keep"),
        ('{"mcpServers": {}, "n": NaN}', "not JSON"),
        ('{"mcpServers": {}, "n": ' + "9" * 5000 + "}", "too long to read"),
        ('{"mcpServers": {}, "a": 1, "a": 2}', "the key 'a' twice"),
    ],
    ids=["deep", "huge-float", "nan", "huge-int", "duplicate-key"],
)
def test_json_an_mcp_config_cannot_hold_is_refused_and_left_alone(ready: CliRunner, body: str, said: str) -> None:
    config = Path(".mcp.json")
    config.write_text(body)
    before = config.read_bytes()
    r = ready(*REMOTE_MCP_EXPORT)
    assert r.code == 2 and said in r.err and "Traceback" not in r.err, r.err
    assert config.read_bytes() == before


def test_numbers_in_an_mcp_config_come_back_as_they_were(ready: CliRunner) -> None:
    config = Path(".mcp.json")
    config.write_text('{"mcpServers": {}, "big": 12345678901234567890, "f": 0.1, "e": 1e-7}\n')
    r = ready(*REMOTE_MCP_EXPORT)
    assert r.code == 0, r.err
    data = json.loads(config.read_text())
    assert (data["big"], data["f"], data["e"]) == (12345678901234567890, 0.1, 1e-7)


# ------------------------------------------------------------ 14. rubbish


def test_an_unknown_provider_is_stored_as_a_plain_api_key_and_said_so(ready: CliRunner) -> None:
    r = ready("add", "x", "--provider", "nope", stdin="tok")
    assert r.code == 0 and "nope is not a provider tokendeck knows" in r.err and "github-pat" in r.err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--base", "microsoft", "--scopes", "User.Read\x07"], "each scope must be printable"),
        (["--base", "microsoft", "--authorize-url", "https://u:p@login.example.com/a"], "user name or password"),
        (["--issuer", "https://u:p@id.example.com"], "user name or password"),  # refused before any network
        (["--base", "microsoft", "--token-url", "https://login.example.com/t\tx"], "spaces or control characters"),
    ],
    ids=["scope-control-char", "authorize-userinfo", "issuer-userinfo", "url-tab"],
)
def test_rubbish_in_a_registration_is_refused_and_nothing_stored(ready: CliRunner, args: list[str], said: str) -> None:
    r = ready("provider", "add", "acme", "--client-id", "abc", *args)
    assert r.code == 2 and said in r.err, r.err
    assert "acme" not in ready("provider", "list").out


def test_a_jira_server_url_must_be_a_web_address(ready: CliRunner) -> None:
    r = ready("add", "j", "--provider", "jira-dc", "--server-url", "javascript:alert(1)", "--username", "a", stdin="t")
    assert r.code == 2 and "https" in r.err
    assert "j" not in [c["name"] for c in json.loads(ready("list", "--json").out)]


# ---------------------------------------------------- 16. the agent's log


def test_the_agent_log_is_rotated_by_size(tmp_path: Path) -> None:
    from vault.agent.launch import AgentLog

    path = tmp_path / "agent.log"
    log = AgentLog(str(path), limit=400)
    for i in range(100):
        log(f"refresh acme: refreshed (expires in {i}m)")
    rotated = tmp_path / "agent.log.1"
    assert path.stat().st_size <= 400 and rotated.stat().st_size <= 400  # bounded: two files at most
    assert (path.stat().st_mode & 0o777, rotated.stat().st_mode & 0o777) == (0o600, 0o600)
    assert path.read_text().splitlines()[-1].endswith("(expires in 99m)")  # the newest line is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.log", "agent.log.1"]
