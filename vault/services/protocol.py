"""What a command request is, as both sides of it see it: the request names, which of them only
read, and the :class:`Report` every one answers with.

Kept apart from :mod:`vault.services.commands` (which runs the requests) and
:mod:`vault.services.reports` (what they print) so the command side (:mod:`vault.cli.route`)
can ask the agent without importing the vault: ``tokendeck scan`` pays for no more than it uses.
"""

from __future__ import annotations

from typing import NamedTuple

COMMAND_NAMES = (
    "ready", "add-check", "add", "describe", "rm", "rename", "revoke-plan", "revoke", "provider-add", "provider-rm",
    "git-map-host", "git-unmap", "git-list", "export", "export-shell", "export-list", "unexport", "backup",
    "import-plan", "import", "sign-in-registration", "mcp-registration", "sign-in-store", "registrations",
    "verify", "scan-material", "scan-done", "confirm", "leak-facts", "scan-fix", "leak-rotate", "leak-revoke",
    "leak-refresh",
)  # fmt: skip
"""Every request :func:`vault.services.commands.run` takes (a test keeps it equal to the table)."""
READS = (
    "ready", "add-check", "describe", "revoke-plan", "git-list", "export-list", "import-plan",
    "sign-in-registration", "mcp-registration", "registrations", "scan-material", "leak-facts",
)  # fmt: skip
"""Those that change nothing (asked before a question, or to list)."""


class Report(NamedTuple):
    """A command's output: ``out`` for stdout (data), ``err`` for stderr (messages), its exit
    code, and ``data``: what a command that asks the user something needs to know to go on
    (JSON; never printed).  A named tuple, not a dataclass: ``dataclasses`` costs every command
    that asks the agent about 10 ms of imports (``inspect``, ``ast``)."""

    out: str = ""
    err: str = ""
    code: int = 0
    data: str = ""

    def fields(self) -> list[str]:
        """As the agent sends it."""
        return [self.out, self.err, str(self.code), self.data]

    @classmethod
    def from_fields(cls, fields: list[str]) -> Report:
        out, err, code, data = (fields + ["", "", "1", ""])[:4]
        return cls(out, err, int(code) if code.isdigit() else 1, data)
