"""The ``tokendeck`` command is ``bin/tokendeck``, a plain script, not a generated wrapper.

A ``[project.scripts]`` entry point makes the installer write a wrapper, and what that wrapper
imports depends on the installer's version: the pip a fresh Python 3.11 virtualenv comes with
writes one that imports ``re`` (about 18 ms, most of what ``tokendeck token`` through the agent
costs beyond the bare interpreter).  These checks are quick; ``tests/test_packaging.py`` builds
the wheel, installs it into a fresh virtualenv and times nothing but checks what it imports.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "bin" / "tokendeck"

RUN_WITHOUT_MAIN = """
import sys
path = sys.argv[1]
before = set(sys.modules)
exec(compile(open(path).read(), path, "exec"), {"__name__": "not_main"})
print(" ".join(sorted(set(sys.modules) - before)))
"""
"""Runs the launcher's top level (its imports) without running the command, and lists what it loaded."""


def test_the_wheel_installs_the_launcher_and_no_entry_point() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "scripts" not in project["project"] and "gui-scripts" not in project["project"]
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["shared-scripts"] == {"bin/tokendeck": "tokendeck"}
    assert "bin" in project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]


def test_the_launcher_imports_only_sys_and_the_command() -> None:
    text = LAUNCHER.read_text()
    assert text.startswith("#!python\n")  # what pip and pipx replace with the virtualenv's interpreter
    assert LAUNCHER.stat().st_mode & 0o111, "bin/tokendeck is not executable"
    tree = ast.parse(text)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"sys", "vault.cli"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_MAIN, str(LAUNCHER)], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(done.stdout.split())
    assert "re" not in loaded and loaded <= {"vault", "vault.cli"}, loaded  # not even __future__


def test_this_virtualenvs_command_is_the_launcher() -> None:
    """The development install (editable) runs the same script, so tests run what users run."""
    command = Path(sys.executable).with_name("tokendeck")
    assert command.read_text().splitlines()[1:] == LAUNCHER.read_text().splitlines()[1:]


# ------------------------------------------------------------------ one command, one group's parser

ONE_COMMAND = """
import sys
from vault.cli import main
before = set(sys.modules)
code = main(sys.argv[1:])
sys.stderr.write("LOADED " + " ".join(sorted(set(sys.modules) - before)) + "\\n")
sys.exit(code)
"""
"""Runs ``tokendeck ARGV`` in this process and lists every module it loaded after ``vault.cli``."""


def test_every_command_is_built_by_the_group_that_adds_it() -> None:
    """:data:`GROUP_OF` is what each group adds: a command missing from it would still run (the
    whole parser), but one named for the wrong group would not."""
    import argparse
    import importlib

    from vault.cli.parser import GROUP_OF, GROUPS

    added: dict[str, str] = {}
    for group in GROUPS:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"vault.cli.{group}").add_parsers(sub)
        added |= dict.fromkeys(sub.choices, group)
    assert added == GROUP_OF


def test_one_commands_parser_says_what_the_whole_one_does(capsys: pytest.CaptureFixture[str]) -> None:
    """Help and usage errors are the same from the parser built for the command alone.  An option
    left over is said by the command it was given to, with its own options to suggest and its own
    help named: ``init --jsn`` was "tokendeck: ... did you mean --json?" (another command's)."""
    from vault.cli.parser import GROUP_OF, build_parser

    def said(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[object, str, str]:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(argv)
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    for command in GROUP_OF:
        for argv in ([command, "--help"], [command, "--no-such-option"]):
            assert said(build_parser(command), argv) == said(build_parser(), argv), argv
    assert "did you mean --json?" in said(build_parser("list"), ["list", "--jsn"])[2]
    for parser in (build_parser("init"), build_parser()):
        code, out, err = said(parser, ["init", "--jsn"])
        assert (code, out, err) == (2, "", "tokendeck init: unknown option --jsn\nhint: tokendeck init --help\n")


def test_scan_imports_no_other_command_and_not_the_vault_before_it_needs_it(tmp_path: Path) -> None:
    """``tokendeck scan`` starts without every command module, the credential model, and what
    only git repositories and previous values need (about 55 ms of its start: docs/launcher.md);
    a missing FILE_OR_DIR is refused before the vault is asked."""
    from vault.cli.parser import GROUPS

    done = subprocess.run(
        [sys.executable, "-c", ONE_COMMAND, "scan", str(tmp_path / "missing")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "no such file or folder" in done.stderr
    loaded = set(done.stderr.rsplit("LOADED ", 1)[1].split())
    assert "vault.cli.scan" in loaded
    assert not {f"vault.cli.{group}" for group in GROUPS if group != "scan"} & loaded
    assert not {"vault.core.model", "vault.services.tokens", "vault.core.store"} & loaded
    assert not {"dataclasses", "subprocess", "hmac"} & loaded  # about 15 ms: what needs them imports them


SCAN_WITH_WORKERS = """
import sys, threading
from pathlib import Path
from vault.services import scanning
from vault.services.scan_match import Matcher
scanning.BATCH_FILES = 2  # so five files make batches, and the workers start
names = set()
real = scanning.read_batch
def read_batch(*args):
    names.add(threading.current_thread().name.split("_")[0])
    return real(*args)
scanning.read_batch = read_batch
import vault.services.scan_files as files
files.read_batch = read_batch
matcher = Matcher([("gh", "static token", "ghp_" + "a1" * 18)], b"k" * 32, [])
outcome = scanning.Scan(matcher, jobs=2).run([Path(sys.argv[1])])
print(outcome.files, len(outcome.findings), sorted(names), "multiprocessing" in sys.modules)
"""


def test_a_scan_whose_files_are_read_in_c_runs_threads_and_imports_no_multiprocessing(tmp_path: Path) -> None:
    """Threads where the C side reads whole files (docs/scan.md): multiprocessing, about 15 ms of
    imports, is for the scans that fork."""
    from vault.core import literals

    if not literals.available():
        pytest.skip("the C side was not built (no compiler)")
    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text(f"line {i}\n" + ("token=ghp_" + "a1" * 18 if i == 3 else "") + "\n")
    done = subprocess.run(
        [sys.executable, "-c", SCAN_WITH_WORKERS, str(tmp_path)], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["5", "1", "['scan']", "False"], done.stdout + done.stderr
