"""Scrubbing a leaked token out of a shell's history file (issue 37, "from found to fixed").

``tokendeck scan`` names the lines of a history file that hold a copy of a vault secret; a
scrub removes the whole *entries* those lines belong to, in the file's own format:

- bash: one line per command, preceded by a ``#1700000000`` timestamp line when
  ``HISTTIMEFORMAT`` is set (the two go together);
- zsh's extended history: ``: 1700000000:0;command``, continued on the next line while a line
  ends in a backslash (a multi-line command is one entry);
- fish: a ``- cmd: ...`` line and its indented ``when:``/``paths:`` lines.

Nothing else in the file changes.  The plan reads the file once (:func:`plan_scrub`), and the
write (:meth:`Scrub.write`) replaces it only if it is still exactly what was read: a shell that
appended meanwhile makes the write refuse, the file untouched (``vault.export.writer``'s one
rule for replacing a file the user owns: a 0600 temp file beside it, the old mode, a rename).
No secret is ever read into a message: the plan counts entries, it never shows them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vault.errors import InvalidInput

_BASH_STAMP = re.compile(r"#\d{9,}\s*$")
_ZSH_START = re.compile(r": \d+:\d+;")


def history_format(path: Path, text: str) -> str:
    """``bash``, ``zsh`` or ``fish``: by the file's name, else by what its first entries look like."""
    name = path.name
    if name == "fish_history" or name.endswith("_history") and path.parent.name == "fish":
        return "fish"
    if "zsh" in name or name in (".histfile", ".zhistory"):
        return "zsh"
    head = text.splitlines()[:20]
    if any(_ZSH_START.match(line) for line in head):
        return "zsh"
    if any(line.startswith("- cmd: ") for line in head):
        return "fish"
    return "bash"


def entries(lines: list[str], fmt: str) -> list[range]:
    """The entries of a history file, as ranges of its (0-based) line indexes, in order; every
    line belongs to exactly one entry."""
    found: list[range] = []
    i = 0
    while i < len(lines):
        start = i
        if fmt == "bash":
            if _BASH_STAMP.match(lines[i]) and i + 1 < len(lines) and not _BASH_STAMP.match(lines[i + 1]):
                i += 1  # the timestamp and its command
            i += 1
        elif fmt == "zsh":
            while lines[i].endswith("\\") and i + 1 < len(lines):
                i += 1
            i += 1
        else:  # fish: "- cmd: ..." and the indented lines under it
            i += 1
            while i < len(lines) and lines[i].startswith(" "):
                i += 1
        found.append(range(start, i))
    return found


def without_entries(text: str, fmt: str, hit_lines: Iterable[int]) -> tuple[str, int]:
    """``text`` without each entry that holds one of ``hit_lines`` (1-based), and how many
    entries were removed."""
    lines = text.split("\n")
    ending = lines.pop() if lines and lines[-1] == "" else None  # the final newline
    hits = {n - 1 for n in hit_lines}
    kept: list[str] = []
    removed = 0
    for entry in entries(lines, fmt):
        if hits.intersection(entry):
            removed += 1
        else:
            kept.extend(lines[i] for i in entry)
    if ending is not None:
        kept.append(ending)
    return "\n".join(kept), removed


@dataclass(frozen=True)
class Scrub:
    """What a scrub of one history file will do: written only if the file is still ``old``."""

    path: Path
    fmt: str
    old: str
    new: str
    mode: int | None
    removed: int

    def write(self) -> None:
        """Replace the file with :attr:`new`.

        Raises:
            VaultError: the file changed since it was planned (a shell appended: scan and scrub
                again), or cannot be written; it is left as it was.
        """
        from vault.export.writer import replace_atomic

        replace_atomic(self.path, self.new, expected=self.old, mode=self.mode)


def plan_scrub(path: Path, hit_lines: Iterable[int]) -> Scrub:
    """The scrub of the entries of history file ``path`` that hold ``hit_lines`` (1-based, as the
    scan reported them).

    Raises:
        InvalidInput: the file is gone, not a regular file, a symlink, not UTF-8 text, or
            shorter than a line named (it changed since the scan).  TargetUnwritable: read-only.
    """
    from vault.export.writer import read_target

    old, mode = read_target(path)
    if old is None:
        raise InvalidInput(f"{path} is gone; nothing was scrubbed")
    wanted = sorted(set(hit_lines))
    if not wanted or wanted[0] < 1 or wanted[-1] > old.count("\n") + (0 if old.endswith("\n") else 1):
        raise InvalidInput(f"{path} changed since the scan (it has fewer lines); scan again; nothing was scrubbed")
    fmt = history_format(path, old)
    new, removed = without_entries(old, fmt, wanted)
    return Scrub(path, fmt, old, new, mode, removed)
