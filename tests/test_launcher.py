"""The ``tokendeck`` command is ``bin/tokendeck``, a plain script, not a generated wrapper.

A ``[project.scripts]`` entry point makes the installer write a wrapper, and what that wrapper
imports depends on the installer's version: the pip a fresh Python 3.11 virtualenv comes with
writes one that imports ``re`` (about 18 ms, most of what ``tokendeck token`` through the agent
costs beyond the bare interpreter).  These checks are quick; ``tests/test_packaging.py`` builds
the wheel, installs it into a fresh virtualenv and times nothing but checks what it imports.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

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
