"""Who read what (issue 36): every token the agent hands out is in the audit log with the program
that read it, whichever way it asked: ``tokendeck token``, ``exec``, git's credential helper,
the Python library, and a session.  Real processes, a real agent, a passphrase vault."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_agent_cli import TOKENDECK, tokendeck

PASS = "readers test passphrase"
TOKEN = "ghp_readersTest000001"  # noqa: S105 - a test value


@pytest.fixture
def env(home: Path) -> Iterator[dict[str, str]]:
    environment = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    assert tokendeck(environment, "init", "--passphrase").returncode == 0
    assert tokendeck(environment, "add", "gh", "--provider", "github-pat", stdin=TOKEN).returncode == 0
    assert tokendeck(environment, "git-credential", "map", "github.com", "gh").returncode == 0
    assert tokendeck(environment, "agent", "start").returncode == 0
    without_key = {k: v for k, v in environment.items() if k != "TOKENDECK_PASSPHRASE"}  # only the agent answers
    yield without_key
    tokendeck(environment, "agent", "stop")


def reads(env: dict[str, str]) -> list[str]:
    """The details of gh's ``read`` rows, oldest first (``tokendeck audit`` writes the last second's first)."""
    shown = tokendeck(env, "audit", "gh", "--json")  # issue 36: tokendeck audit NAME lists its last readers
    assert shown.returncode == 0, shown.stderr
    return [e["detail"] for e in json.loads(shown.stdout) if e["action"] == "read" and e["outcome"] == "served"]


def test_each_way_of_reading_a_token_is_audited_with_its_reader(env: dict[str, str]) -> None:
    assert tokendeck(env, "token", "gh").stdout == TOKEN + "\n"
    assert tokendeck(env, "exec", "-e", "T=gh", "--", "true").returncode == 0
    git = tokendeck(env, "git-credential", "get", stdin="protocol=https\nhost=github.com\n\n")
    assert f"password={TOKEN}" in git.stdout
    library = subprocess.run(
        [sys.executable, "-c", "import vault; assert vault.get_token('gh')"], env=env, capture_output=True, check=False
    )
    assert library.returncode == 0, library.stderr

    found = reads(env)
    assert len(found) == 4, found
    token, exec_, git_, library_ = found
    assert re.fullmatch(r"op=token reader=python\S* tokendeck token gh \(pid \d+\)", token), token
    assert re.fullmatch(r"op=tokens reader=python\S* tokendeck exec -e T=gh -- true \(pid \d+\)", exec_), exec_
    assert re.fullmatch(r"op=git reader=python\S* tokendeck git-credential get \(pid \d+\)", git_), git_
    assert re.fullmatch(r"op=token reader=python\S* -c import vault; .* \(pid \d+\)", library_), library_
    assert not any(TOKEN in detail for detail in found)


def test_a_reader_whose_command_line_holds_a_secret_is_named_without_it(env: dict[str, str]) -> None:
    other = "ghp_" + "Qz7" * 12  # a token-shaped word in the reader's own argv
    script = "import vault;vault.get_token('gh')"
    ran = subprocess.run([sys.executable, "-c", script, other], env=env, capture_output=True, check=False)
    assert ran.returncode == 0, ran.stderr
    (detail,) = reads(env)
    assert other not in detail
    assert detail.endswith("<a GitHub token, not repeated> (pid " + detail.rsplit("(pid ", 1)[1])


def test_a_session_read_names_the_session_and_its_reader(env: dict[str, str], home: Path) -> None:
    ran = tokendeck(env, "exec", "--session", "-e", "T=gh", "--", "sh", "-c", f"{TOKENDECK} token gh >/dev/null")
    assert ran.returncode == 0, ran.stderr
    shown = json.loads(tokendeck(env, "audit", "--json", "--name", "gh").stdout)
    served = [e["detail"] for e in shown if e["action"] == "session" and e["outcome"] == "served"]
    assert any(re.search(r"op=token reader=python\S* tokendeck token gh \(pid \d+\)$", d) for d in served), served


def test_audit_takes_the_name_once_either_way(env: dict[str, str]) -> None:
    assert tokendeck(env, "token", "gh").returncode == 0
    assert tokendeck(env, "audit", "gh", "--json").stdout == tokendeck(env, "audit", "--name", "gh", "--json").stdout
    both = tokendeck(env, "audit", "gh", "--name", "other")
    assert (both.returncode, both.stdout) == (2, "") and both.stderr.count("\n") == 1, both.stderr
