"""What ``tokendeck list`` prints.  The agent answers ``list`` with this same text, so
the output is identical with and without it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from vault.core.timefmt import expiry
from vault.errors import printable

if TYPE_CHECKING:
    from collections.abc import Collection

    from vault.core.model import Credential
    from vault.core.repository import Repository

LIST_COLUMNS = ["NAME", "PROVIDER", "ACCOUNT", "STATUS", "EXPIRES"]
NO_CREDENTIALS = "tokendeck: no credentials yet (add one with: tokendeck add NAME --provider P)\n"
_NONE_GIVEN = (
    "tokendeck: nothing is read directly here (a proxy run's session, or a forward given no credential); "
    "requests get their tokens through the proxy\n"
)
_NONE_LEFT = "tokendeck: none of the credentials given here is in the vault any more\n"


def table(rows: list[list[str]]) -> str:
    """Rows as left-aligned columns two spaces apart, trailing spaces trimmed; every cell
    :func:`~vault.errors.printable` (an account or an audit line may hold what a server sent)."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n" for row in rows
    )


def _json_row(credential: Credential, now: float) -> str:
    """One element of ``list --json``'s array, exactly as ``json.dumps(rows, indent=2)`` writes
    it; kept on the record per status, so an unchanged vault is listed without encoding."""
    status = credential.status_at(now)
    key = ("json-row", status)
    row = credential.renderings.get(key)
    if row is None:
        text = json.dumps(credential.public(now), indent=2, ensure_ascii=False)
        row = credential.renderings[key] = "  " + text.replace("\n", "\n  ")  # JSON strings hold no raw newline
    return row


def list_output(
    vault: Repository, *, as_json: bool, human: bool, only: Collection[str] | None = None
) -> tuple[str, str]:
    """``tokendeck list``'s stdout and stderr: JSON, or a table with human or ISO 8601 times
    (of the credentials named in ``only``, when given: what a forward shows)."""
    credentials = vault.credentials()
    if only is not None:
        credentials = [c for c in credentials if c.name in only]
    now = vault.clock.now()
    if as_json:
        if not credentials:
            return "[]\n", ""
        return "[\n" + ",\n".join(_json_row(c, now) for c in credentials) + "\n]\n", ""
    if not credentials:
        return "", NO_CREDENTIALS if only is None else _NONE_GIVEN if not only else _NONE_LEFT
    rows = [LIST_COLUMNS]
    rows += [
        [c.name, c.provider, c.account or "-", c.status_at(now), expiry(c.expires_at, now, human=human)]
        for c in credentials
    ]
    return table(rows), ""
