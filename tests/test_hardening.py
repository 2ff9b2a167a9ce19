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
from vault.core.providers import CALLBACK_PATH, LOOPBACK_HOST
from vault.core.timefmt import LATEST, iso, relative
from vault.oauth.loopback import Expectation, LoopbackListener

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
                v.records.add_static("d", provider="api-key", token="t", expires_at=bad)
        assert v.credentials() == []


def test_list_and_show_never_crash_on_a_stored_time(ready: CliRunner, home: Path) -> None:
    """A time past what a date can name, written by an older tokendeck or by hand, is shown as
    the latest date there is."""
    assert ready("add", "far", "--provider", "api-key", stdin="tok").code == 0
    with vault.open_vault(home) as v:
        v.records._store.transaction().__enter__().execute("UPDATE credentials SET expires_at = 1e300")  # noqa: SLF001
    for argv in (("list",), ("list", "--json"), ("show", "far"), ("show", "far", "--json")):
        r = ready(*argv)
        assert r.code == 0 and "Traceback" not in r.err, (argv, r.err)
    assert "9999-12-31T23:59:59Z" in ready("show", "far", "--json").out
    assert iso(float("inf")) == iso(LATEST) and relative(float("nan"), 0).startswith("in ")


# --------------------------------------------- 6. rename X X


def test_renaming_to_the_same_name_is_an_immediate_clear_no(ready: CliRunner) -> None:
    r = ready("rename", "gh", "gh")  # it used to wait 131 s for its own lock, then say "busy"
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
        conn = http.client.HTTPConnection(LOOPBACK_HOST, listener.port, timeout=5)
        conn.request("GET", f"{CALLBACK_PATH}?code=stolen&state={'s' * 20}", headers={"Host": "evil.example"})
        assert conn.getresponse().status == 421
        conn.close()
        got: list[str] = []
        waiter = threading.Thread(target=lambda: got.append(listener.wait(5)))
        waiter.start()
        conn = http.client.HTTPConnection(LOOPBACK_HOST, listener.port, timeout=5)
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


# ------------------- 7. what went wrong, said; 8. a failed open changes no file

OPEN_PASS = "correct horse battery staple"
"""The ``passphrase_env`` fixture's passphrase, which ``ready`` made its vault with."""


def files_of(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.is_file()}


def crash_copy(home: Path, to: Path) -> Path:
    """``home``'s files as a crash leaves them: copied while another connection had committed
    to the WAL and not checkpointed (``vault.db``, ``-wal``, ``-shm`` and ``vault.json``)."""
    with vault.open_vault(home, OPEN_PASS) as v:
        v.records.add_static("late", provider="api-key", token="sk_onlyInTheWal")
        to.mkdir(mode=0o700)
        for name in ("vault.db", "vault.db-wal", "vault.db-shm", "vault.json"):
            (to / name).write_bytes((home / name).read_bytes())
            (to / name).chmod(0o600)
    assert (to / "vault.db-wal").stat().st_size > 32
    return to


def test_a_wrong_passphrase_with_a_leftover_wal_changes_no_file(ready: CliRunner, home: Path, tmp_path: Path) -> None:
    copy = crash_copy(home, tmp_path / "crashed")
    before = files_of(copy)
    for wrong in ("not it", OPEN_PASS + " "):
        with pytest.raises(vault.WrongPassphrase, match="^wrong passphrase$"):
            vault.open_vault(copy, wrong)
        assert files_of(copy) == before  # vault.db, its WAL and its WAL index, byte for byte
    with vault.open_vault(copy, OPEN_PASS) as v:  # and the right one still finds what was only in the WAL
        assert v.token("late") == "sk_onlyInTheWal"


@pytest.mark.parametrize("offset", [200, 4096 + 200], ids=["page-1", "page-2"])
def test_a_damaged_file_is_called_damaged_and_a_wrong_key_wrong(ready: CliRunner, home: Path, offset: int) -> None:
    """The key-check value tells the two apart: the right passphrase on a damaged file is
    "damaged" (exit 1), a wrong one is "wrong passphrase" (exit 3), whichever page is hit;
    neither changes a file."""
    db = home / "vault.db"
    data = bytearray(db.read_bytes())
    data[offset] ^= 0xFF
    db.write_bytes(bytes(data))
    before = files_of(home)
    damaged = ready("token", "gh")
    assert damaged.code == 1 and "is damaged" in damaged.err and "tokendeck restore FILE" in damaged.err
    assert damaged.err.count("\n") == 1
    ready.monkeypatch.setenv("TOKENDECK_PASSPHRASE", "not it")
    wrong = ready("token", "gh")
    assert (wrong.code, wrong.err) == (3, "tokendeck: wrong passphrase\n")
    assert files_of(home) == before


def test_a_damaged_page_no_read_touches_is_found_by_the_next_write_and_by_agent_start(ready: CliRunner) -> None:
    """Issue 15, item 7's trade-off: opening for a read checks no page but the ones it reads
    (SQLCipher checks each), so ``token``'s cost does not grow with the vault; the first write,
    and ``agent start``, check every page and refuse a damaged file before writing."""
    for i in range(12):
        assert ready("add", f"big{i}", "--provider", "api-key", stdin="k" * 3000 + f"{i}\n").code == 0
    db = Path(os.environ["TOKENDECK_HOME"]) / "vault.db"
    data = bytearray(db.read_bytes())
    data[-4096 + 100] ^= 0xFF  # the last page: an overflow page of the last token added
    db.write_bytes(bytes(data))
    token = ready("token", "gh")
    assert (token.code, token.out) == (0, TOKEN + "\n")
    for argv in (("add", "more", "--provider", "api-key"), ("agent", "start")):
        refused = ready(*argv, stdin="sk_more\n")
        assert refused.code == 1 and "is damaged" in refused.err and "tokendeck restore FILE" in refused.err, argv
    assert ready("token", "more").code == 5  # nothing was written
    assert ready("list").code == 1  # a read that meets the damaged page says so too


def in_namespace(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``script`` in a mount namespace of its own (as root, or through a user namespace)."""
    done = subprocess.run(["unshare", "-rm", "sh", "-c", "true"], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"no mount namespace here: {done.stderr.decode().strip()}")
    return subprocess.run(
        ["unshare", "-rm", "sh", "-ec", script], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def cli_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": OPEN_PASS,
        "TOKENDECK_NO_AGENT": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def test_a_read_only_home_reads_and_says_read_only_for_writes(ready: CliRunner, home: Path) -> None:
    from tests.test_agent_cli import TOKENDECK

    before = files_of(home)
    script = f"""
        mount --bind {home} {home} && mount -o remount,ro,bind {home} {home}
        {TOKENDECK} token gh; echo "token=$?"
        {TOKENDECK} exec -e T=gh -- sh -c 'echo "exec got $T"'
        echo sk_new | {TOKENDECK} add new --provider api-key || echo "add=$?"
    """
    done = in_namespace(script, cli_env(home))
    exec_got = "exec got <concealed by tokendeck>"  # the child had the token; exec masks it in its output
    assert done.stdout.splitlines() == [TOKEN, "token=0", exec_got, "add=1"], done.stderr
    assert done.stderr == f"tokendeck: {home} is on a read-only file system; nothing was changed\n"
    assert files_of(home) == before


def test_a_full_disk_still_gives_tokens_and_says_no_space_for_writes(
    ready: CliRunner, home: Path, tmp_path: Path
) -> None:
    """Reading a token and running ``exec`` work on a full disk (bookkeeping is skipped);
    a write says "no space left", and the vault is as it was."""
    from tests.test_agent_cli import TOKENDECK

    disk = tmp_path / "disk"
    disk.mkdir()
    full_home = disk / "home"
    script = f"""
        mount -t tmpfs -o size=512k tmpfs {disk}
        cp -a {home} {full_home}
        dd if=/dev/zero of={disk}/filler bs=4k 2>/dev/null || true
        {TOKENDECK} token gh; echo "token=$?"
        {TOKENDECK} exec -e T=gh -- sh -c 'echo "exec got $T"'
        echo sk_new | {TOKENDECK} add new --provider api-key || echo "add=$?"
        {TOKENDECK} rm gh --yes || echo "rm=$?"
        rm {disk}/filler
        {TOKENDECK} list --json
    """
    done = in_namespace(script, cli_env(full_home))
    lines = done.stdout.splitlines()
    exec_got = "exec got <concealed by tokendeck>"  # the child had the token; exec masks it in its output
    assert lines[:5] == [TOKEN, "token=0", exec_got, "add=1", "rm=1"], done.stderr
    assert [row["name"] for row in json.loads("\n".join(lines[5:]))] == ["gh"]  # nothing was changed
    said = f"tokendeck: no space left on the disk that holds {full_home}; nothing was changed\n"
    assert done.stderr == said * 2


def test_permission_denied_is_said(ready: CliRunner, home: Path) -> None:
    """Another user (``nobody``) who can reach the vault's folder is told it is not theirs, and
    nothing is read or written."""
    import shutil

    from tests.test_agent_cli import TOKENDECK

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another user")
    for folder in (home, *home.parents):
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o011)  # searchable, as a shared machine's might be
    before = files_of(home)
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", TOKENDECK, "token", "gh"],
        capture_output=True, text=True, env=cli_env(home), timeout=60, check=False,
    )  # fmt: skip
    said = f"tokendeck: {home} belongs to another user and others can open it; "
    assert done.returncode == 1 and done.stderr.startswith(said) and done.stderr.count("\n") == 1, done.stderr
    assert files_of(home) == before


# ------------------------------------------ 11. no old copy left in the WAL


def raw_key(home: Path) -> bytes:
    from vault.core import keys

    salt = (home / "vault.db").read_bytes()[:16]
    return bytes.fromhex(keys.Key.passphrase(OPEN_PASS).database_key(salt, keys.KDF_ITER).secret.reveal())


def test_a_deleted_token_leaves_no_copy_in_any_page_while_another_process_has_the_vault_open(
    ready: CliRunner, home: Path
) -> None:
    """With an agent-like second connection open (so no close cleans the WAL up), ``rm`` and
    ``revoke``'s erase and a replaced token leave no decryptable copy anywhere; a reader that
    holds the checkpoint back only delays it, until the next background tick."""
    from tests.support.pages import where_found
    from vault.services.refresher import BackgroundRefresher

    key = raw_key(home)
    with vault.open_vault(home, OPEN_PASS) as agent, vault.open_vault(home, OPEN_PASS) as cli:
        assert where_found(home / "vault.db", key, TOKEN), "the decryption must find a token that is there"
        cli.records.add_static("doomed", provider="api-key", token="sk_DOOMED_0123456789")
        cli.records.add_static("replaced", provider="api-key", token="sk_REPLACED_0123456789")
        assert where_found(home / "vault.db", key, "sk_DOOMED_0123456789")
        cli.remove("doomed")
        cli.records.add_static("replaced", provider="api-key", token="sk_NEWER_0123456789", replace=True)
        cli.records.erase_secrets("gh")
        for gone in ("sk_DOOMED_0123456789", "sk_REPLACED_0123456789", TOKEN):
            assert where_found(home / "vault.db", key, gone) == [], gone

        agent.records._store._conn.execute("BEGIN")  # a reader in the middle of a read: it holds the WAL
        agent.records._store._conn.execute("SELECT count(*) FROM credentials").fetchall()
        cli.records.add_static("second", provider="api-key", token="sk_SECOND_0123456789")
        cli.remove("second")
        assert where_found(home / "vault.db", key, "sk_SECOND_0123456789"), "held back: still in a frame"
        agent.records._store._conn.execute("COMMIT")
        BackgroundRefresher(cli).run_once()  # the next tick pays what the delete owed
        assert where_found(home / "vault.db", key, "sk_SECOND_0123456789") == []
        assert cli.token("replaced") == "sk_NEWER_0123456789"

        import dataclasses

        now = cli.clock.now()
        oauth = vault.Credential(name="rot", provider="github", kind="oauth", created_at=now, updated_at=now,
                                 access_token=vault.Secret("at_OLD_0123456789"),
                                 refresh_token=vault.Secret("rt_OLD_0123456789"))  # fmt: skip
        cli.records.save(oauth)
        rotated = dataclasses.replace(
            oauth, access_token=vault.Secret("at_NEW_0123456789"), refresh_token=vault.Secret("rt_NEW_0123456789")
        )
        cli.records.save_refreshed(rotated, sent_refresh_token="rt_OLD_0123456789", detail="rotated")
        cli.records.settle()  # after a batch of refreshes (the refresher's tick), or on close
        for gone in ("rt_OLD_0123456789", "at_OLD_0123456789"):
            assert where_found(home / "vault.db", key, gone) == [], gone


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


def test_a_vault_from_before_check_values_opens_and_gets_one(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``vault.json`` that names only the mode (every vault made before key-check values):
    the shipped KDF cost is assumed, the passphrase proven on the file, and the check value
    recorded, after which a wrong passphrase is refused without touching the database."""
    from vault.core import keys

    monkeypatch.setattr(keys, "KDF_ITER", keys.SQLCIPHER_KDF_ITER)
    with vault.init_vault(home, mode="passphrase", passphrase=OPEN_PASS) as v:
        v.records.add_static("gh", provider="api-key", token=TOKEN)
    described = json.loads((home / "vault.json").read_text())
    (home / "vault.json").write_text(json.dumps({k: described[k] for k in ("format", "vault_id", "mode")}))
    with pytest.raises(vault.WrongPassphrase, match="or not a tokendeck vault"):  # no check value to tell
        vault.open_vault(home, "not it")
    with vault.open_vault(home, OPEN_PASS) as v:
        assert v.token("gh") == TOKEN
    assert json.loads((home / "vault.json").read_text()) == described
