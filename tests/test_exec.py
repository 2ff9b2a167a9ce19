"""``tokendeck exec``: tokens reach the child's environment and nowhere else, with
``--no-mask`` the child *is* the process (exit codes and signals are its own), and a
bad binding runs nothing.  Masking its output: tests/test_exec_mask.py.

Real processes on a passphrase vault at SQLCipher's default KDF cost, built once
per module and copied into each test's home; the checks that need no process
run in-process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import CliRunner
from vault.cli import exec as commands_exec
from vault.cli.exec import dotenv_line, parse_bindings
from vault.errors import InvalidInput

PASS = "exec test passphrase"
TOKEN = "ghp_" + "e" * 36  # a fake GitHub PAT
QUOTED = "it's\\a'tok"  # a fake token with both characters dotenv's single quotes escape
TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"

SEED = """
import sys, time, vault
from vault.core.clock import FrozenClock
with vault.open_vault() as v:
    v.records.add_static("gh", provider="github-pat", token=sys.argv[1])
    v.records.add_static("q", provider="api-key", token=sys.argv[2])
with vault.open_vault(clock=FrozenClock(time.time() - 7200)) as v:  # stored two hours ago, expired an hour ago
    v.records.add_static("old", provider="api-key", token="old-token", expires_at=time.time() - 3600)
"""

CHILD_REPORT = """
import json, os
with open("/proc/self/cmdline", "rb") as f:
    cmdline = f.read().decode()
print(json.dumps({"T": os.environ.get("T"), "U": os.environ.get("U"), "pid": os.getpid(), "cmdline": cmdline,
                  "passphrase": "TOKENDECK_PASSPHRASE" in os.environ}))
"""

SIGNAL_CHILD = """
import os, signal, sys, time
from pathlib import Path
out = Path(sys.argv[1])
def caught(signum, frame):
    (out / "caught").write_text(signal.Signals(signum).name)
    os._exit(42)
signal.signal(signal.SIGTERM, caught)
signal.signal(signal.SIGINT, caught)
(out / "ready").write_text(str(os.getpid()))
time.sleep(30)
os._exit(1)
"""


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("T", "U")}
    env.update(
        TOKENDECK_HOME=str(home),
        TOKENDECK_PASSPHRASE=PASS,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real vault (passphrase, default KDF): ``gh``, ``q`` (quotes) and ``old`` (expired)."""
    home = tmp_path_factory.mktemp("exec-template") / "home"
    env = base_env(home)
    init = subprocess.run([TOKENDECK, "init", "--passphrase"], env=env, capture_output=True, timeout=60, check=False)
    assert init.returncode == 0, init.stderr
    seed_argv = [sys.executable, "-c", SEED, TOKEN, QUOTED]
    seed = subprocess.run(seed_argv, env=env, capture_output=True, timeout=60, check=False)
    assert seed.returncode == 0, seed.stderr
    return home


@pytest.fixture
def env(template: Path, home: Path) -> dict[str, str]:
    shutil.copytree(template, home)
    return base_env(home)


def tokendeck(env: dict[str, str], *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOKENDECK, *argv], env=env, capture_output=True, text=True, timeout=60, check=False, cwd=cwd)


def snapshot(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir())}


# ------------------------------------------------------------------ the child gets the tokens, only it


def test_the_child_sees_the_tokens_and_argv_never_does(env: dict[str, str]) -> None:
    done = tokendeck(env, "exec", "--no-mask", "-e", "T=gh", "-e", "U=q", "--", sys.executable, "-c", CHILD_REPORT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    seen = json.loads(done.stdout)  # the child's own output: tokendeck printed nothing
    assert seen["T"] == TOKEN and seen["U"] == QUOTED
    assert TOKEN not in seen["cmdline"] and QUOTED not in seen["cmdline"]
    assert seen["cmdline"].split("\0")[:2] == [sys.executable, "-c"]
    assert seen["passphrase"] is False  # the vault's own secret is not handed on


def test_the_calling_shell_environment_is_untouched(env: dict[str, str]) -> None:
    script = f'"{TOKENDECK}" exec -e T=gh -- sh -c \'test "$T" = "{TOKEN}"\'; echo "exit=$? T=${{T-unset}}"'
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout == "exit=0 T=unset\n", done.stderr
    assert TOKEN not in done.stderr


def test_in_process_nothing_leaks_into_os_environ_or_argv(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, passphrase_env: str
) -> None:
    assert cli("init", "--passphrase").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin=TOKEN).code == 0
    monkeypatch.delenv("T", raising=False)
    calls: list[tuple[str, list[str], dict[str, str]]] = []

    class Replaced(Exception):
        pass

    def fake_exec(file: str, argv: list[str], env: dict[str, str]) -> None:
        calls.append((file, argv, env))
        raise Replaced

    monkeypatch.setattr(os, "execvpe", fake_exec)  # the one os module vault.cli.exec calls
    with pytest.raises(Replaced):
        cli("exec", "--no-mask", "-e", "T=gh", "--", "sh", "-c", "echo hi", "--", "x")
    [(file, argv, child_env)] = calls
    assert (file, argv) == ("sh", ["sh", "-c", "echo hi", "--", "x"])
    assert child_env["T"] == TOKEN
    assert "TOKENDECK_PASSPHRASE" not in child_env
    assert child_env["PATH"] == os.environ["PATH"]
    assert "T" not in os.environ
    assert os.environ["TOKENDECK_PASSPHRASE"] == passphrase_env


# ------------------------------------------------------------------ the child is the process


def test_the_exit_code_is_the_commands(env: dict[str, str]) -> None:
    done = tokendeck(env, "exec", "-e", "T=gh", "--", "sh", "-c", "exit 7")
    assert (done.returncode, done.stdout, done.stderr) == (7, "", "")


def test_sigpipe_is_not_left_ignored_for_the_child(env: dict[str, str]) -> None:
    done = tokendeck(env, "exec", "-e", "T=gh", "--", "grep", "SigIgn", "/proc/self/status")
    assert done.returncode == 0, done.stderr
    ignored = int(done.stdout.split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))  # Python ignores it; exec must not hand that on


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signals_sent_to_tokendeck_reach_the_command(env: dict[str, str], tmp_path: Path, signum: int) -> None:
    proc = subprocess.Popen(
        [TOKENDECK, "exec", "--no-mask", "-e", "T=gh", "--", sys.executable, "-c", SIGNAL_CHILD, str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.02)
        assert (tmp_path / "ready").read_text() == str(proc.pid)  # exec: same process, no wrapper in between
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 42, err
    assert (tmp_path / "caught").read_text() == signal.Signals(signum).name


# ------------------------------------------------------------------ bad input runs nothing


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["-e", "T=gh", "-e", "U=nope"], 5, "tokendeck: no credential named 'nope' (see tokendeck list)"),
        (["-e", "T=old"], 4, "tokendeck: old has expired"),
        (["-e", "1T=gh"], 2, "tokendeck: -e '1T=gh': '1T' is not a valid environment variable name"),
        (["-e", "MY-VAR=gh"], 2, "tokendeck: -e 'MY-VAR=gh': 'MY-VAR' is not a valid environment variable name"),
        (["-e", "T"], 2, "tokendeck: -e 'T': expected VAR=NAME"),
        (["-e", "T=gh", "-e", "T=q"], 2, "tokendeck: -e 'T=q': T is given more than once"),
        ([], 2, "tokendeck: exec needs at least one -e VAR=NAME"),
    ],
    ids=["unknown-name", "expired", "digit-first", "dash", "no-equals", "twice", "no-binding"],
)
def test_a_bad_binding_is_one_line_and_nothing_runs(
    env: dict[str, str], home: Path, tmp_path: Path, argv: list[str], code: int, message: str
) -> None:
    before = snapshot(home)
    marker = tmp_path / "ran"
    done = tokendeck(env, "exec", *argv, "--", "touch", str(marker))
    assert done.returncode == code
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(message), done.stderr
    assert done.stdout == ""
    assert not marker.exists()
    assert snapshot(home) == before


def test_missing_double_dash_or_command_is_a_usage_error(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    before = snapshot(home)
    marker = tmp_path / "ran"
    no_dash = tokendeck(env, "exec", "-e", "T=gh", "touch", str(marker))
    assert no_dash.returncode == 2
    assert no_dash.stderr.startswith("tokendeck: put -- before the command ('touch')")
    no_cmd = tokendeck(env, "exec", "-e", "T=gh", "--")
    assert no_cmd.returncode == 2
    assert no_cmd.stderr.startswith("tokendeck: no command to run")
    nothing = tokendeck(env, "exec", "-e", "T=gh")
    assert nothing.returncode == 2
    for done in (no_dash, no_cmd, nothing):
        assert len(done.stderr.splitlines()) == 1 and done.stdout == ""
    assert not marker.exists()
    assert snapshot(home) == before


def test_command_not_found_is_127_and_not_executable_is_126(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    before = snapshot(home)
    missing = tokendeck(env, "exec", "-e", "T=gh", "--", "tokendeck-no-such-command")
    assert (missing.returncode, missing.stderr) == (127, "tokendeck: command not found: tokendeck-no-such-command\n")
    script = tmp_path / "script.sh"
    script.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\n")
    script.chmod(0o644)
    denied = tokendeck(env, "exec", "-e", "T=gh", "--", str(script))
    assert (denied.returncode, denied.stderr) == (126, f"tokendeck: permission denied: {script}\n")
    assert not (tmp_path / "ran").exists()
    assert TOKEN not in missing.stdout + missing.stderr + denied.stdout + denied.stderr
    assert snapshot(home) == before  # checked before the vault was even opened


# ------------------------------------------------------------------ --env-file

DOTENV_SINGLE = re.compile(r"(?P<var>[A-Za-z_][A-Za-z0-9_]*)='(?P<value>(?:\\'|[^'])*)'")
"""python-dotenv's single-quoted value: ``'((?:\\\\'|[^'])*)'``, then ``\\\\`` and ``\\'`` decoded."""


def dotenv_value(raw: str) -> str:
    return re.sub(r"\\([\\'])", r"\1", raw)


def test_env_file_prints_dotenv_lines_with_quotes_escaped(env: dict[str, str]) -> None:
    done = tokendeck(env, "exec", "--env-file", "-e", "GITHUB_TOKEN=gh", "-e", "Q=q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"GITHUB_TOKEN='{TOKEN}'\nQ='it\\'s\\\\a\\'tok'\n"
    parsed = {}
    for line in done.stdout.splitlines():
        match = DOTENV_SINGLE.fullmatch(line)
        assert match is not None, line
        parsed[match["var"]] = dotenv_value(match["value"])
    assert parsed == {"GITHUB_TOKEN": TOKEN, "Q": QUOTED}


def test_env_file_refuses_a_command(env: dict[str, str], tmp_path: Path) -> None:
    done = tokendeck(env, "exec", "--env-file", "-e", "T=gh", "--", "touch", str(tmp_path / "ran"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("tokendeck: --env-file prints the variables and runs nothing")
    assert not (tmp_path / "ran").exists()


def test_env_file_refuses_a_token_with_a_line_break_and_prints_nothing(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The vault refuses such tokens on the way in; a provider could still hand one out.
    monkeypatch.setattr(commands_exec, "_fetch", lambda bindings: {"A": "fine", "B": "two\nlines"})
    result = cli("exec", "--env-file", "-e", "A=a", "-e", "B=b")
    assert result.code == 2
    assert result.out == ""  # not even the good line: all or nothing
    assert result.err == "tokendeck: B: the token contains a line break and cannot be written as an env file line\n"


def test_dotenv_line_rules() -> None:
    assert dotenv_line("A", "plain") == "A='plain'"
    assert dotenv_line("A", "a'b") == "A='a\\'b'"
    assert dotenv_line("A", "a\\b") == "A='a\\\\b'"
    assert dotenv_line("A", 'a"$b${c}') == "A='a\"$b${c}'"  # single quotes: no interpolation to escape
    for bad in ("a\nb", "a\rb"):
        with pytest.raises(InvalidInput):
            dotenv_line("A", bad)


def test_parse_bindings_keeps_order_and_splits_on_the_first_equals() -> None:
    assert parse_bindings(["_A1=gh", "b=x=y"]) == [("_A1", "gh"), ("b", "x=y")]
    for bad in (["=gh"], ["A="], ["A B=gh"], ["É=gh"]):
        with pytest.raises(InvalidInput):
            parse_bindings(bad)


def test_an_exec_that_fails_gives_python_its_signal_handling_back(tmp_path: Path) -> None:
    """The default handlers are set for the program just before ``execvpe``; when it fails,
    this process goes on (to say why), and a write to a closed pipe must raise, not kill it."""
    from vault.errors import CommandNotFound

    before = signal.getsignal(signal.SIGPIPE), signal.getsignal(signal.SIGXFSZ)
    with pytest.raises(CommandNotFound):
        commands_exec.run([str(tmp_path / "gone")], {})
    assert (signal.getsignal(signal.SIGPIPE), signal.getsignal(signal.SIGXFSZ)) == before
