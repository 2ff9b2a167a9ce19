"""How an MCP entry names ``tokendeck``: decided in one place."""

from __future__ import annotations

import os
import sys


def tokendeck_command() -> str:
    """The ``tokendeck`` an MCP client should start: an absolute path, because desktop apps
    (Claude Desktop, Cursor, Zed) do not inherit a shell's ``PATH``.  The one installed beside
    this interpreter (the install that is running), else the one on ``PATH``, else the bare name."""
    import shutil

    beside = os.path.join(os.path.dirname(sys.executable), "tokendeck")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("tokendeck") or "tokendeck"
