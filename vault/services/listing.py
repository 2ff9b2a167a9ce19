"""What ``tokendeck list`` prints.  The agent answers ``list`` with this same text, so
the output is identical with and without it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from vault.core.timefmt import expiry

if TYPE_CHECKING:
    from vault.core.repository import Repository

LIST_COLUMNS = ["NAME", "PROVIDER", "ACCOUNT", "STATUS", "EXPIRES"]
NO_CREDENTIALS = "tokendeck: no credentials yet (add one with: tokendeck add NAME --provider P)\n"


def table(rows: list[list[str]]) -> str:
    """Rows as left-aligned columns two spaces apart, trailing spaces trimmed."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n" for row in rows
    )


def list_output(vault: Repository, *, as_json: bool, human: bool) -> tuple[str, str]:
    """``tokendeck list``'s stdout and stderr: JSON, or a table with human or ISO 8601 times."""
    credentials = vault.credentials()
    now = vault.clock.now()
    if as_json:
        return json.dumps([c.public(now) for c in credentials], indent=2, ensure_ascii=False) + "\n", ""
    if not credentials:
        return "", NO_CREDENTIALS
    rows = [LIST_COLUMNS]
    rows += [
        [c.name, c.provider, c.account or "-", c.status_at(now), expiry(c.expires_at, now, human=human)]
        for c in credentials
    ]
    return table(rows), ""
