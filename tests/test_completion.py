"""``tokendeck completion bash|zsh|fish``: scripts generated from the parser, loaded into the
real shells, completing commands, options, targets, providers, files, and credential names
from a running agent, without ever unlocking or prompting when there is none."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.system import unavailable
from vault.cli.completion import kind_of, walk
from vault.cli.parser import build_parser

PASS = "completion test passphrase"
BIN = os.path.dirname(sys.executable)
TOKENDECK = shutil.which("tokendeck", path=BIN) or "tokendeck"


def tokendeck(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TOKENDECK, *argv], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.fixture
def env(home: Path) -> Iterator[dict[str, str]]:
    """A passphrase vault holding ``gh-work`` and ``jira-dc-pat``; tokendeck on PATH; no agent yet."""
    environment = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    assert tokendeck(environment, "init", "--passphrase").returncode == 0
    for name in ("gh-work", "jira-dc-pat"):
        assert tokendeck(environment, "add", name, "--provider", "api-key", stdin="tok-x").returncode == 0
    yield environment
    tokendeck(environment, "agent", "stop")


def without_passphrase(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}


def shell(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        unavailable(f"{program} is not installed")
    return found


BASH_COMPLETE = """
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
COMPREPLY=(); _shtab_tokendeck; printf '%s\\n' "${COMPREPLY[@]}"
"""


def bash_complete(env: dict[str, str], script: Path, *words: str) -> list[str]:
    """What bash offers for the last of ``words``, as it would at a TAB."""
    done = subprocess.run(
        [shell("bash"), "-c", BASH_COMPLETE, "bash", str(script), *words],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if line]


def fish_complete(env: dict[str, str], script: Path, line: str) -> list[str]:
    done = subprocess.run(
        [shell("fish"), "--no-config", "-c", f"source {script}; complete -C '{line}'"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )
    return [row.split("\t", 1)[0] for row in done.stdout.splitlines() if row]


@pytest.fixture
def scripts(env: dict[str, str], tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name in ("bash", "zsh", "fish"):
        made = tokendeck(env, "completion", name)
        assert made.returncode == 0, made.stderr
        out[name] = tmp_path / f"tokendeck.{name}"
        out[name].write_text(made.stdout)
    return out


def test_bash_completes_commands_options_targets_providers_and_files(
    env: dict[str, str], scripts: dict[str, Path], tmp_path: Path
) -> None:
    script = scripts["bash"]
    assert bash_complete(env, script, "tokendeck", "re") == ["rename", "refresh", "revoke", "restore"]
    assert "claude-code" in bash_complete(env, script, "tokendeck", "export", "")
    assert bash_complete(env, script, "tokendeck", "git-credential", "m") == ["map"]
    assert bash_complete(env, script, "tokendeck", "login", "gitl") == ["gitlab"]
    assert bash_complete(env, script, "tokendeck", "import", "dotenv", "--on") == ["--only"]
    (tmp_path / "backup-2026.zip").write_text("x")
    assert str(tmp_path / "backup-2026.zip") in bash_complete(env, script, "tokendeck", "restore", f"{tmp_path}/back")


def test_credential_names_come_from_the_agent_and_never_from_an_unlock(
    env: dict[str, str], scripts: dict[str, Path]
) -> None:
    locked = without_passphrase(env)
    before = (Path(env["TOKENDECK_HOME"]) / "vault.db").read_bytes()
    names = tokendeck(locked, "completion", "names")  # no agent: nothing, and no prompt
    assert (names.returncode, names.stdout, names.stderr) == (0, "", "")
    assert bash_complete(locked, scripts["bash"], "tokendeck", "token", "") == []
    assert (Path(env["TOKENDECK_HOME"]) / "vault.db").read_bytes() == before

    assert tokendeck(env, "agent", "start").returncode == 0
    assert tokendeck(locked, "completion", "names").stdout.split() == ["gh-work", "jira-dc-pat"]
    assert bash_complete(locked, scripts["bash"], "tokendeck", "token", "gh") == ["gh-work"]
    assert bash_complete(locked, scripts["bash"], "tokendeck", "rename", "j") == ["jira-dc-pat"]
    assert fish_complete(locked, scripts["fish"], "tokendeck show j") == ["jira-dc-pat"]
    assert "jira-dc-pat" in fish_complete(locked, scripts["fish"], "tokendeck export --name ")


def test_fish_and_zsh_load_the_script(env: dict[str, str], scripts: dict[str, Path]) -> None:
    assert "restore" in fish_complete(env, scripts["fish"], "tokendeck res")
    assert "github" in fish_complete(env, scripts["fish"], "tokendeck login git")
    fpath = scripts["zsh"].parent / "zsh-functions"
    fpath.mkdir()
    shutil.copy(scripts["zsh"], fpath / "_tokendeck")  # where docs/cli.md puts it: a file in $fpath
    loaded = subprocess.run(
        [
            shell("zsh"),
            "-f",
            "-c",
            f"fpath=({fpath} $fpath); autoload -Uz compinit && compinit -u -D && print -r -- ${{_comps[tokendeck]}}",
        ],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert loaded.returncode == 0 and loaded.stdout.strip() == "_tokendeck", loaded.stderr
    syntax = subprocess.run([shell("zsh"), "-n", str(scripts["zsh"])], capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr


NEW_NAMES = {("add", "name"), ("login", "name"), ("rename", "new")}
"""Arguments that take a name the vault does not have yet: nothing to complete them from."""


def test_every_credential_provider_and_file_argument_has_a_completer() -> None:
    """When a command gains a credential, provider or file argument, completion covers it."""
    missing = []
    for command, action in walk(build_parser()):
        if isinstance(action, argparse._HelpAction) or action.choices:
            continue
        dest = action.dest
        named = dest in ("name", "old", "provider", "file") and (command.split()[0], dest) not in NEW_NAMES
        if named and kind_of(command, action) is None:
            missing.append(f"{command} {dest}")
    assert missing == []
    parser = build_parser()
    kinds = {(c, a.dest): kind_of(c, a) for c, a in walk(parser)}
    assert kinds[("token", "name")] == "credential" and kinds[("provider show", "name")] == "provider"
    assert kinds[("add", "provider")] == "provider" and kinds[("backup", "file")] == "file"
    assert kinds[("add", "name")] is None
