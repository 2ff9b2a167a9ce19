"""``tokendeck agent`` as real processes at SQLCipher's default KDF cost: start, status,
a second start, stop and SIGTERM; every fast-path command gives the same output and
exit code through the agent as without it; git asks through the credential helper."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.agent import wire
from vault.settings import NO_AGENT_ENV

PASS = "agent test passphrase"
TOKEN = "ghp_agentCLI123"  # noqa: S105 - a test value
TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"


def tokendeck(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TOKENDECK, *argv], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.fixture
def env(home: Path) -> Iterator[dict[str, str]]:
    """A passphrase vault holding ``gh`` (a PAT) and ``later`` (a token that expires), no agent yet."""
    environment = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    assert tokendeck(environment, "init", "--passphrase").returncode == 0
    assert tokendeck(environment, "add", "gh", "--provider", "github-pat", stdin=TOKEN).returncode == 0
    assert (
        tokendeck(environment, "add", "later", "--provider", "api-key", "--expires", "2030-01-01", stdin="x").returncode
        == 0
    )
    yield environment
    tokendeck(environment, "agent", "stop")


def pid_of_agent(env: dict[str, str]) -> int:
    answer = wire.call("ping", home=env["TOKENDECK_HOME"])
    assert answer is not None and answer[0] == "0"
    return int(answer[1])


def test_start_status_a_second_start_and_stop(env: dict[str, str]) -> None:
    assert tokendeck(env, "agent", "status").returncode == 5
    started = tokendeck(env, "agent", "start")
    assert started.returncode == 0, started.stderr
    status = tokendeck(env, "agent", "status")
    assert status.returncode == 0 and "unlocked" in status.stdout
    second = tokendeck(env, "agent", "start")
    assert second.returncode == 1
    assert second.stderr.strip() == (
        f"tokendeck: an agent is already running for this vault (pid {pid_of_agent(env)}); see tokendeck agent status"
    )
    assert tokendeck(env, "lock").returncode == 0
    assert tokendeck(env, "agent", "status").returncode == 3  # running, locked
    assert tokendeck(env, "token", "gh").stdout == TOKEN + "\n"  # locked agent: the client opens the vault
    assert tokendeck(env, "agent", "start").returncode == 0  # unlocks it
    assert tokendeck(env, "agent", "status").returncode == 0
    assert tokendeck(env, "agent", "stop").returncode == 0
    assert tokendeck(env, "agent", "status").returncode == 5
    assert not os.path.exists(wire.socket_path(env["TOKENDECK_HOME"]))


def test_a_wrong_passphrase_starts_nothing(env: dict[str, str]) -> None:
    bad = tokendeck({**env, "TOKENDECK_PASSPHRASE": "wrong"}, "agent", "start")
    assert bad.returncode == 3 and bad.stderr.count("\n") == 1
    assert tokendeck(env, "agent", "status").returncode == 5


FAST_COMMANDS: list[tuple[list[str], str]] = [
    (["token", "gh"], ""),
    (["token", "nope"], ""),
    (["list"], ""),
    (["list", "--json"], ""),
    (["exec", "-e", "T=gh", "--", "sh", "-c", 'printf "%s" "$T"; exit 7'], ""),
    (["exec", "-eT=gh", "-e", "U=later", "--", "sh", "-c", 'printf "%s %s" "$T" "$U"'], ""),
    (["exec", "--env-file", "-e", "T=gh"], ""),
    (["exec", "-e", "T=nope", "--", "true"], ""),
    (["exec", "-e", "T=gh", "--", "no-such-command-here"], ""),
    (["exec", "-e", "1T=gh", "--", "true"], ""),
    (["git-credential", "get"], "protocol=https\nhost=github.com\npath=me/repo.git\n\n"),
    (["git-credential", "get"], "protocol=https\nhost=gitlab.com\n\n"),
    (["git-credential", "get"], "protocol=http\nhost=github.com\n\n"),  # plain http elsewhere: nothing
    (["git-credential", "get"], "protocol=http\nhost=127.0.0.1:8080\n\n"),  # on this machine: answered
    (["git-credential", "get"], "protocol=http\nhost=[::1]:8080\n\n"),
]
AGENT_COMMANDS: list[tuple[list[str], str]] = [
    (["show", "gh"], ""),
    (["show", "later", "--json"], ""),
    (["show", "nope"], ""),
    (["audit", "--limit", "3"], ""),
    (["audit", "--json", "--name", "gh"], ""),
    (["audit", "--name", "nope"], ""),
    (["refresh", "--due"], ""),
    (["refresh", "--due", "--within", "400d"], ""),
    (["refresh", "nope"], ""),
]
"""Commands that need only the vault the agent holds: answered by it (after argparse) with no passphrase."""


def test_fast_path_and_fallback_give_the_same_output_and_exit_codes(env: dict[str, str]) -> None:
    mapped = tokendeck(env, "git-credential", "map", "github.com", "gh")
    assert (mapped.returncode, mapped.stderr.splitlines()) == (0, [
        "tokendeck: git's requests for github.com now get gh's token; tell git once with:",
        "  git config --global credential.https://github.com.helper '!tokendeck git-credential'",
    ])  # fmt: skip
    assert tokendeck(env, "git-credential", "map", "http://127.0.0.1:8080", "gh").returncode == 0
    assert tokendeck(env, "git-credential", "map", "[::1]:8080", "gh").returncode == 0
    assert tokendeck(env, "agent", "start").returncode == 0
    without_key = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}
    for argv, stdin in FAST_COMMANDS + AGENT_COMMANDS:
        local = tokendeck({**env, NO_AGENT_ENV: "1"}, *argv, stdin=stdin)
        # No passphrase anywhere: only the agent can answer these.
        through_agent = tokendeck(without_key, *argv, stdin=stdin)
        assert (through_agent.returncode, through_agent.stdout, through_agent.stderr) == (
            local.returncode,
            local.stdout,
            local.stderr,
        ), argv
    assert tokendeck(without_key, "token", "gh").stdout == TOKEN + "\n"
    assert tokendeck({**without_key, NO_AGENT_ENV: "1"}, "token", "gh").returncode == 3
    mapped = tokendeck(without_key, "git-credential", "map", "git.example.org", "later")  # through the agent
    assert mapped.returncode == 0 and "credential.https://git.example.org.helper" in mapped.stderr
    listed = tokendeck({**env, NO_AGENT_ENV: "1"}, "git-credential", "list").stdout
    assert "git.example.org\tlater\t(default)" in listed


def test_git_credential_answers_plain_http_only_for_this_machine(env: dict[str, str]) -> None:
    env = {**env, NO_AGENT_ENV: "1"}
    mapped = tokendeck(env, "git-credential", "map", "http://127.0.0.1:3000", "gh")
    assert mapped.returncode == 0 and "credential.http://127.0.0.1:3000.helper" in mapped.stderr
    answer = tokendeck(env, "git-credential", "get", stdin="protocol=http\nhost=127.0.0.1:3000\n\n")
    assert answer.stdout.endswith(f"password={TOKEN}\n")
    warned = tokendeck(env, "git-credential", "map", "http://git.example.test", "gh")
    assert warned.returncode == 0 and "warning: git.example.test over plain http gets no token" in warned.stderr
    assert "credential.https://git.example.test.helper" in warned.stderr
    nothing = tokendeck(env, "git-credential", "get", stdin="protocol=http\nhost=git.example.test\n\n")
    assert (nothing.returncode, nothing.stdout) == (0, "")
    served = tokendeck(env, "git-credential", "get", stdin="protocol=https\nhost=git.example.test\n\n")
    assert served.stdout.endswith(f"password={TOKEN}\n")


def test_the_agent_sees_changes_made_by_other_processes(env: dict[str, str]) -> None:
    assert tokendeck(env, "agent", "start").returncode == 0
    without_key = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}
    assert tokendeck(env, "add", "fresh", "--provider", "api-key", stdin="tok_fresh").returncode == 0
    assert tokendeck(without_key, "token", "fresh").stdout == "tok_fresh\n"
    assert tokendeck(env, "rm", "fresh", "--yes").returncode == 0
    assert tokendeck(without_key, "token", "fresh").returncode == 5


def test_sigterm_shuts_down_cleanly(env: dict[str, str]) -> None:
    assert tokendeck(env, "agent", "start").returncode == 0
    pid = pid_of_agent(env)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists()
    assert not os.path.exists(wire.socket_path(env["TOKENDECK_HOME"]))
    assert tokendeck(env, "agent", "status").returncode == 5
    assert tokendeck(env, "token", "gh").stdout == TOKEN + "\n"  # the vault is whole: opened directly


def test_git_asks_the_vault_through_the_helper(env: dict[str, str], tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.fail("git is needed for this test (apt-get install git)")
    assert tokendeck(env, "git-credential", "map", "github.com", "gh").returncode == 0
    git_env = {**env, "GIT_TERMINAL_PROMPT": "0", "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    helper = f"!{TOKENDECK} git-credential"
    for agent_running in (False, True):
        if agent_running:
            assert tokendeck(env, "agent", "start").returncode == 0
        filled = subprocess.run(
            [git, "-c", f"credential.https://github.com.helper={helper}", "credential", "fill"],
            input="protocol=https\nhost=github.com\npath=me/repo.git\n\n",
            capture_output=True,
            text=True,
            env=git_env,
            timeout=60,
            check=False,
        )
        assert filled.returncode == 0, filled.stderr
        assert f"username=x-access-token\npassword={TOKEN}\n" in filled.stdout
    listed = tokendeck(env, "git-credential", "list")
    assert listed.stdout == "github.com\tgh\t(default)\n"
    assert tokendeck(env, "git-credential", "unmap", "github.com").returncode == 0
    assert tokendeck(env, "git-credential", "unmap", "github.com").returncode == 5
    bad = tokendeck(env, "git-credential", "map", "git hub.com", "gh")
    assert bad.returncode == 2 and tokendeck(env, "git-credential", "list").stdout == ""


PROBE = """
import contextlib, io, json, sys
before = set(sys.modules)
from vault.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "out": out.getvalue(), "new": sorted(set(sys.modules) - before)}))
"""


def test_the_fast_path_client_loads_only_the_standard_library(env: dict[str, str]) -> None:
    assert tokendeck(env, "agent", "start").returncode == 0
    for argv in (["token", "gh"], ["list"]):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, timeout=60, check=True
        )
        import json

        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["code"] == 0 and (TOKEN in result["out"] or "gh" in result["out"])
        ours = {m for m in result["new"] if m.split(".")[0] == "vault"}
        assert ours == {"vault", "vault.settings", "vault.cli", "vault.agent", "vault.cli.fast", "vault.agent.wire"}
        assert len(ours) <= 6  # no more than before the layering: errors load only when something fails
        # (json, io and contextlib are the probe's own.)
        foreign = {m for m in result["new"] if m.split(".")[0] not in sys.stdlib_module_names} - ours
        assert not foreign, foreign
