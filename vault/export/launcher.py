"""How an MCP entry names ``tokendeck``: decided in one place, by the scope of the file.

A user's own file (``~/.cursor/mcp.json``, Claude Desktop's config) is read by desktop apps
that do not inherit a shell's ``PATH``, so it names an absolute path.  A project's file
(``.mcp.json``, a project's ``.vscode/mcp.json``) is committed and read on other machines,
where one user's virtualenv path means nothing, so it names ``tokendeck`` as found on ``PATH``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Launcher:
    """How an MCP entry names ``tokendeck``, and what to tell the user about it."""

    command: str
    notice: str | None = None
    """Why a project's file names an absolute path (no ``tokendeck`` on ``PATH``, or another one)."""


PROJECT_FOLDERS = (".vscode", ".cursor", ".gemini", ".codex", ".zed", ".claude")
"""Folders that hold a project's own tool config, committed with it (the same folder in the
home directory is the user's: ``~/.cursor``, ``~/.codex``)."""


def project_scoped(path: Path) -> bool:
    """Whether ``path`` is a project's file, which a team commits and other machines read:
    Claude Code's ``.mcp.json``, or a file in a project's ``.vscode``, ``.cursor``, ... folder."""
    if path.name == ".mcp.json":
        return True
    home = Path(os.path.abspath(os.path.expanduser("~")))
    return path.parent.name in PROJECT_FOLDERS and path.parent.parent != home


def tokendeck_command(*, project: bool = False) -> Launcher:
    """The ``tokendeck`` an MCP client should start; the one place that decides it.

    A user's own file gets an absolute path, because desktop apps (Claude Desktop, Cursor, Zed)
    do not inherit a shell's ``PATH``: the ``tokendeck`` installed beside this interpreter (the
    install that is running), else the one on ``PATH``, else the bare name.  A project's file
    (``project``: committed, read on other machines) gets the bare name ``tokendeck`` when the
    one on ``PATH`` is this same program; else the absolute path, and a notice saying why.
    """
    import shutil

    beside = os.path.join(os.path.dirname(sys.executable), "tokendeck")
    this = beside if os.path.isfile(beside) and os.access(beside, os.X_OK) else None
    on_path = shutil.which("tokendeck")
    if not project:
        return Launcher(this or on_path or "tokendeck")
    if on_path is not None and (this is None or os.path.realpath(on_path) == os.path.realpath(this)):
        return Launcher("tokendeck")
    if this is None:
        return Launcher("tokendeck", "tokendeck is not on PATH here; the project's file names it as tokendeck anyway")
    why = "no tokendeck is on PATH" if on_path is None else f"the tokendeck on PATH ({on_path}) is another install"
    return Launcher(
        this,
        f"{why}, so the project's file names {this}, which other machines do not have: put this "
        "tokendeck on PATH and export again to name it as tokendeck",
    )
