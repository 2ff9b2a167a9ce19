"""``tokendeck export``: hand a credential to a tool through its own config file.

Reference mode (the default where the format allows it) writes no secret: a
stdio MCP server runs under ``tokendeck exec``, a remote one's header names a
variable in the tool's own syntax (``${VAR}``, VS Code's ``${input:...}``), or a
shell line calls ``tokendeck token``.  Plaintext mode writes the token (in an env
var or a header), records an export binding, and every later refresh re-writes it
(:func:`reexport`, called from :func:`vault.services.tokens.refresh`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vault.errors import InvalidInput
from vault.export.targets import Spec, render
from vault.export.writer import preview, read_target, replace_atomic

if TYPE_CHECKING:
    from vault.core.repository import Repository

__all__ = ["Plan", "Spec", "plan", "reexport"]


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

    def write(self) -> None:
        replace_atomic(self.path, self.new, expected=self.old, mode=self.mode)


def plan(spec: Spec, path: Path, token: str | None, *, refresh: bool = False) -> Plan:
    """Read ``path``, merge ``spec`` into it, and make the masked diff.

    Args:
        refresh: re-writing a plaintext binding after a refresh: only the secret changes
            (see :func:`vault.export.targets.render`).

    Raises:
        InvalidInput, TargetUnwritable: see :mod:`vault.export.writer` and the targets.
    """
    old, mode = read_target(path)
    rendered = render(spec, old, token, str(path), refresh=refresh)
    if spec.target == "netrc" and mode is not None and mode & 0o077:
        mode &= 0o700  # tools refuse a .netrc with a password that others can read
    secrets = [*rendered.replaced, *([token] if token else [])]
    diff = preview(path, old, rendered.text, secrets)
    return Plan(path, old, rendered.text, mode, diff, replace(spec, url=rendered.url))


def reexport(vault: Repository, name: str, token: str) -> list[str]:
    """Write ``token`` into every plaintext binding of ``name``; returns the problems (never raises).

    Each outcome is audited (without the token); one failure does not stop the others.
    """
    problems: list[str] = []
    try:
        bindings = vault.export_bindings(name)
    except Exception as exc:  # noqa: BLE001 - a refresh never fails because of an export
        return [type(exc).__name__]
    for binding in bindings:
        o = binding.options
        spec = Spec(
            binding.target,
            name,
            var=o.get("var"),
            server=o.get("server"),
            host=o.get("host"),
            login=o.get("login"),
            plaintext=True,
            url=o.get("url"),  # set: a remote MCP server, the token in header o["header"]
            header=o.get("header"),
        )
        try:
            path = Path(binding.path)
            if not path.exists():
                raise InvalidInput(f"{binding.path} no longer exists; not re-created")
            plan(spec, path, token, refresh=True).write()
            outcome, detail = "rewritten", f"target={binding.target} path={binding.path}"
        except Exception as exc:  # noqa: BLE001 - best effort, as above
            detail = getattr(exc, "message", None) or f"{type(exc).__name__}: {binding.path}"
            outcome = "rewrite_failed"
            problems.append(detail)
        with contextlib.suppress(Exception):
            vault.record("export", outcome, credential=name, detail=detail)
    return problems
