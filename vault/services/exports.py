"""Exporting a credential into a tool's file, and plaintext exports that follow it.

:func:`plan_export` and :func:`write_export` are the export itself, as ``tokendeck
export`` and the TUI's export screen both run it: plan (the token read, the file
merged, the masked diff, the git check), show the diff, then write and record.

``--plaintext`` records an export binding (credential -> file, target, key);
:func:`reexport` writes the new token into each of them after a refresh
(:func:`vault.services.refreshing.refresh` calls it).  A file that is gone or changed
shape is left alone and the failure audited; a refresh never fails because of an
export.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vault.core.model import MCP_URL_EXTRA, Credential
from vault.core.paths import VaultPaths
from vault.core.repository import Repository
from vault.errors import InvalidInput
from vault.export import Plan, Spec, plan
from vault.export.freshness import freshness
from vault.export.spec import (
    DEFAULT_FILES,
    FILE_TARGETS,
    MCP_TARGETS,
    PLAINTEXT_ONLY,
    TARGETS,
    consumer_folders,
    target_path,
)
from vault.export.targets import check_spec, render_shell
from vault.export.writer import git_refusal, mask, read_target

__all__ = [
    "DEFAULT_FILES", "FILE_TARGETS", "MCP_TARGETS", "PLAINTEXT_ONLY", "TARGETS", "Plan", "ShellLine", "Spec",
    "check_spec", "plan_export", "reexport", "reference_line", "shell_line", "target_path", "write_export",
]  # fmt: skip
"""What front ends use to export (the TUI's export screen imports nothing from :mod:`vault.export`)."""


class ExportingVault(Protocol):
    """What an export needs of the vault (:class:`vault.services.tokens.Vault` is one)."""

    @property
    def paths(self) -> VaultPaths: ...

    def token(self, name: str) -> str: ...

    def get(self, name: str) -> Credential: ...

    @property
    def records(self) -> Repository: ...


@dataclass(frozen=True)
class ShellLine:
    """The ``shell`` target's ``export`` line: ``text`` holds the token when ``secret``;
    ``shown`` is the same line with the token masked."""

    text: str
    shown: str
    secret: bool
    freshness: str | None = None
    """How long the token the line gets stays good (:mod:`vault.export.freshness`)."""


def shell_line(vault: ExportingVault, spec: Spec) -> ShellLine:
    """The ``shell`` target's line for ``spec``: ``export VAR="$(tokendeck token NAME)"`` in
    reference mode, the token itself with ``plaintext``.  The credential must give a token now
    (refreshed if due), in either mode, as ``tokendeck export shell`` checks.

    Raises:
        NotFound, NeedsSignIn: no such credential, or no usable token.
    """
    token = vault.token(spec.name)
    line = render_shell(spec, token if spec.plaintext else None).rstrip("\n")
    return ShellLine(line, mask(line, [token]), spec.plaintext, freshness(vault.get(spec.name), spec))


def reference_line(name: str, var: str) -> str:
    """``export VAR="$(tokendeck token NAME)"``: a line that gets ``name``'s token when run and holds none."""
    return render_shell(Spec("shell", name, var=var), None).rstrip("\n")


def plan_export(vault: ExportingVault, spec: Spec, path: Path, *, force: bool = False) -> Plan:
    """The change exporting ``spec`` makes to ``path``, not yet written (its diff masks every secret).

    The credential must give a token now (refreshed if due), in either mode.  A plaintext
    export into a file git tracks, or does not ignore, is refused unless ``force``.  A bridge
    entry names this vault's home (:attr:`Spec.home`).  :attr:`Plan.freshness` says how long
    the token stays good where the tool reads it (it never stops the export).

    Raises:
        NotFound, NeedsSignIn: no such credential, or no usable token.
        InvalidInput, TargetUnwritable: the file cannot take it (see :mod:`vault.export`).
    """
    # a file that cannot take it is refused before the token is read (or refreshed)
    read_target(path, creatable=consumer_folders(spec.target, path.parent))
    token = vault.token(spec.name)
    if spec.bridge:
        if not vault.get(spec.name).extras.get(MCP_URL_EXTRA):
            raise InvalidInput(
                f"{spec.name} is not an MCP server's credential: --bridge needs one (tokendeck login --mcp URL)"
            )
        spec = dataclasses.replace(spec, home=os.path.abspath(vault.paths.home))
    change = plan(spec, path, token if spec.plaintext else None)
    change = dataclasses.replace(change, freshness=freshness(vault.get(spec.name), change.spec))
    if spec.plaintext and not force:
        refusal = git_refusal(path)
        if refusal:
            raise InvalidInput(refusal)
    return change


def write_export(vault: ExportingVault, change: Plan) -> list[str]:
    """Write a planned export and record it (a binding, or an audit event for a reference).

    Returns:
        What to tell the user, in order.

    Raises:
        TargetUnwritable: the file changed since it was planned, or cannot be written.
    """
    change.write()  # with nothing to change, it clears a killed write's leftovers only
    notices: list[str] = []
    path = change.path
    if change.folders and change.new != change.old:
        how = "yours only (0700)" if change.spec.plaintext else "as the tool would"
        notices.append(f"created {change.folders[0]}, {change.spec.target}'s own folder, {how}")
    notices += change.notices
    if change.narrowed:
        notices.append(f"made {path} readable by you only (0600-style): it holds a token now")
    spec = change.spec  # resolved: remote if the entry has a URL
    if spec.plaintext:
        vault.records.links.add_export_binding(
            spec.name, target=spec.target, path=str(path), key=spec.key, options=spec.options()
        )
        notices.append(f"wrote {spec.name}'s token to {path}; every refresh re-writes it (tokendeck unexport to stop)")
    else:
        vault.records.record("export", "ok", credential=spec.name, detail=f"target={spec.target} path={path} reference")
        notices.append(f"wrote a reference to {spec.name} in {path} (no secret in the file)")
        if spec.url is not None:
            from vault.export.mcp import reference_note

            notices.append(reference_note(spec))
    if change.freshness:
        notices.append(change.freshness)
    return notices


def reexport(vault: Repository, name: str, token: str) -> list[str]:
    """Write ``token`` into every plaintext binding of ``name``; returns the problems (never raises).

    Each outcome is audited (without the token); one failure does not stop the others.
    """
    problems: list[str] = []
    try:
        bindings = vault.links.export_bindings(name)
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
