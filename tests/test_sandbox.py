"""The README's bubblewrap setup, run as written (issue 36, "Say what the boundary is"): inside the
sandbox the session's socket is the one way in.

The README's command line is taken from README.md itself; only its last word (the coding agent,
``agent``) is replaced by a script that tries every way to a token: the one it was given, through
the session's socket; another one, through that socket, then through the agent's own socket, then
by opening the vault itself, with the passphrase in its environment, as a program that found it
would.  Real bwrap, a real agent, a passphrase vault; the test reads what the script wrote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_agent_cli import TOKENDECK, tokendeck
from tests.test_readme_examples import examples

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (tests/system-deps.sh)")

PASS = "sandbox test passphrase"
A_TOKEN = "ghp_sandboxGiven000001"  # noqa: S105 - test values
B_TOKEN = "ghp_sandboxOther000002"  # noqa: S105


def readme_command() -> str:
    (command,) = [e.command for e in examples() if e.page == "README.md" and " bwrap " in e.command]
    return command


def run_readme_sandbox(
    env: dict[str, str], out: Path, tries: dict[str, str], command: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The README's command line in ``out`` (its $PWD), its agent replaced by a script of ``tries``
    (each one's exit code, stdout and stderr written to NAME.code, NAME.out and NAME.err)."""
    script = "".join(f"{cmd} > {name}.out 2> {name}.err; echo $? > {name}.code\n" for name, cmd in tries.items())
    (out / "agent.sh").write_text(script)
    command = command or readme_command()
    assert command.endswith(" -- agent'")
    return subprocess.run(
        ["sh", "-c", command.removesuffix(" -- agent'") + " -- sh agent.sh'"],
        cwd=out,
        env={  # the user's shell: tokendeck on PATH, no passphrase
            **{k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"},
            "PATH": f"{os.path.dirname(TOKENDECK)}:{env['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(home: Path) -> Iterator[dict[str, str]]:
    environment = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    assert tokendeck(environment, "init", "--passphrase").returncode == 0
    assert tokendeck(environment, "add", "github", "--provider", "github-pat", stdin=A_TOKEN).returncode == 0
    assert tokendeck(environment, "add", "other", "--provider", "github-pat", stdin=B_TOKEN).returncode == 0
    assert tokendeck(environment, "agent", "start").returncode == 0
    yield environment
    tokendeck(environment, "agent", "stop")


def test_the_readme_sandbox_lets_in_the_session_socket_and_nothing_else(
    env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    out = home.parent  # the working directory, bound in as the README's $PWD, holds the vault's folder (as ~ does)
    agent_socket_dir = os.environ["TOKENDECK_RUNTIME_DIR"]
    tries = {
        "given": f"{TOKENDECK} token github",
        "other": f"{TOKENDECK} token other",
        "agent_socket": f"env -u TOKENDECK_AGENT_SOCK {TOKENDECK} token other",
        "own_vault": f"env -u TOKENDECK_AGENT_SOCK TOKENDECK_PASSPHRASE={PASS!r} {TOKENDECK} token other",
        "vault_files": f"ls -A {str(home)!r}",
        "agent_files": f"ls -A {agent_socket_dir!r}",
        "env_token": 'test "$GH_TOKEN" = ' + A_TOKEN,
    }
    ran = run_readme_sandbox(env, out, tries)
    assert ran.returncode == 0, ran.stderr
    got = {name: (int((out / f"{name}.code").read_text()), (out / f"{name}.out").read_text()) for name in tries}

    assert got["given"] == (0, A_TOKEN + "\n")  # what it was given, through the session's socket
    assert got["env_token"][0] == 0  # and in its environment, as exec -e put it
    assert got["other"][0] == 5 and "was not given to" in (out / "other.err").read_text()
    assert got["agent_socket"][0] != 0 and B_TOKEN not in got["agent_socket"][1]  # no agent socket in there
    assert got["own_vault"][0] != 0 and B_TOKEN not in got["own_vault"][1]  # no vault file in there either
    assert got["vault_files"] == (0, "")  # the vault's folder is an empty tmpfs inside
    session_socket = [f for f in got["agent_files"][1].split() if f]
    assert len(session_socket) == 1 and session_socket[0] != "agent.sock", got["agent_files"]  # only the session's
    assert B_TOKEN not in ran.stdout + ran.stderr
    for name in tries:
        assert B_TOKEN not in (out / f"{name}.out").read_text() + (out / f"{name}.err").read_text()


def test_a_sandbox_whose_socket_folder_others_may_enter_is_told_in_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Without ``--perms 0700`` bwrap's tmpfs is mode 755: tokendeck will not use a socket there,
    and says why (not "the session ended")."""
    command = readme_command().replace("--perms 0700 ", "")
    ran = run_readme_sandbox(env, tmp_path, {"given": f"{TOKENDECK} token github"}, command)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "given.code").read_text() == "3\n" and (tmp_path / "given.out").read_text() == ""
    (line,) = (tmp_path / "given.err").read_text().splitlines()
    assert line.startswith("tokendeck: $TOKENDECK_AGENT_SOCK is not used: ") and "must be 700" in line, line
