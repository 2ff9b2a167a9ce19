"""Other tools' config files: how a credential is written into each, merged and previewed.

Reference mode (the default where the format allows it) writes no secret: a
stdio MCP server runs under ``tokendeck exec``, a remote one's header names a
variable in the tool's own syntax (``${VAR}``, VS Code's ``${input:...}``), or a
shell line calls ``tokendeck token``.  Plaintext mode writes the token (in an env
var or a header); the use case that records the binding and re-writes it after
every refresh is :mod:`vault.services.exports`.

- :mod:`vault.export.spec`: the targets, each MCP client's file layout, and :class:`Spec`;
- :mod:`vault.export.targets` and :mod:`vault.export.mcp`: merging into each format;
- :mod:`vault.export.writer`: reading, checking and atomically replacing a file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from vault.export.launcher import project_scoped, tokendeck_command
from vault.export.spec import Spec, consumer_folders
from vault.export.targets import render
from vault.export.writer import make_folders, preview, read_target, remove_stale_temp_files, replace_atomic

__all__ = ["Plan", "Spec", "plan"]


@dataclass(frozen=True)
class Plan:
    """A computed change to one file, not yet written."""

    path: Path
    old: str | None
    new: str
    mode: int | None
    diff: str
    spec: Spec
    """The spec as resolved against the file: ``url`` is set when the MCP server is remote
    (given with ``--url`` or found in the entry), so ``key`` and ``options()`` are right."""
    narrowed: bool = False
    """The file was readable by others and is made owner-only, because it holds a token now."""
    notices: tuple[str, ...] = ()
    """What to tell the user about the change (why a project's file names an absolute path)."""
    folders: tuple[Path, ...] = ()
    """Missing folders of the tool's own that the write creates (outermost first): 0700 when
    the file holds a token, else the usual mode (0777 less the umask)."""
    freshness: str | None = None
    """How long the exported token stays good where the tool reads it (see
    :mod:`vault.export.freshness`); None for a token that does not run out."""

    def write(self) -> None:
        """Write the change; with none to make, only clear what a killed write left beside the file."""
        if self.new == self.old:
            remove_stale_temp_files(self.path)
            return
        make_folders(list(self.folders), 0o700 if self.spec.plaintext else 0o777)
        replace_atomic(self.path, self.new, expected=self.old, mode=self.mode)


def plan(spec: Spec, path: Path, token: str | None, *, refresh: bool = False) -> Plan:
    """Read ``path``, merge ``spec`` into it, and make the masked diff.

    Args:
        refresh: re-writing a plaintext binding after a refresh: only the secret changes
            (see :func:`vault.export.targets.render`).

    Raises:
        InvalidInput, TargetUnwritable: see :mod:`vault.export.writer` and the targets.
    """
    folders = consumer_folders(spec.target, path.parent)
    old, mode = read_target(path, creatable=folders)
    launcher = tokendeck_command(project=project_scoped(path))
    spec = replace(spec, launcher=launcher.command)
    rendered = render(spec, old, token, str(path), refresh=refresh)
    notices = (launcher.notice,) if launcher.notice and rendered.launched else ()
    narrowed = bool(token) and mode is not None and bool(mode & 0o077)
    if narrowed and mode is not None:
        mode &= 0o700  # a plaintext token is for its owner only (and tools refuse a .netrc others can read)
    secrets = [*rendered.replaced, *([token] if token else [])]
    diff = preview(path, old, rendered.text, secrets)
    resolved = replace(spec, url=rendered.url)
    return Plan(path, old, rendered.text, mode, diff, resolved, narrowed, notices, tuple(folders))
