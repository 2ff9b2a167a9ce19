"""``tokendeck export``: hand a credential to a tool through its own config file.

Reference mode (the default where the format allows it) writes no secret: the
server runs under ``tokendeck exec``, or a shell line calls ``tokendeck token``.
Plaintext mode writes the token, records an export binding, and every later
refresh re-writes it (:func:`reexport`, called from :func:`vault.lifecycle.refresh`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vault.errors import InvalidInput
from vault.export.targets import Spec, render
from vault.export.writer import preview, read_target, replace_atomic

if TYPE_CHECKING:
    from vault.core import Vault

__all__ = ["Plan", "Spec", "plan", "reexport"]


@dataclass(frozen=True)
class Plan:
    """A computed change to one file, not yet written."""

    path: Path
    old: str | None
    new: str
    mode: int | None
    diff: str

    def write(self) -> None:
        replace_atomic(self.path, self.new, expected=self.old, mode=self.mode)


def plan(spec: Spec, path: Path, token: str | None) -> Plan:
    """Read ``path``, merge ``spec`` into it, and make the masked diff.

    Raises:
        InvalidInput, TargetUnwritable: see :mod:`vault.export.writer` and the targets.
    """
    old, mode = read_target(path)
    rendered = render(spec, old, token, str(path))
    if spec.target == "netrc" and mode is not None and mode & 0o077:
        mode &= 0o700  # tools refuse a .netrc with a password that others can read
    secrets = [*rendered.replaced, *([token] if token else [])]
    return Plan(path, old, rendered.text, mode, preview(path, old, rendered.text, secrets))


def reexport(vault: Vault, name: str, token: str) -> list[str]:
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
        spec = Spec(binding.target, name, o.get("var"), o.get("server"), o.get("host"), o.get("login"), plaintext=True)
        try:
            path = Path(binding.path)
            if not path.exists():
                raise InvalidInput(f"{binding.path} no longer exists; not re-created")
            plan(spec, path, token).write()
            outcome, detail = "rewritten", f"target={binding.target} path={binding.path}"
        except Exception as exc:  # noqa: BLE001 - best effort, as above
            detail = getattr(exc, "message", None) or f"{type(exc).__name__}: {binding.path}"
            outcome = "rewrite_failed"
            problems.append(detail)
        with contextlib.suppress(Exception):
            vault.record("export", outcome, credential=name, detail=detail)
    return problems
