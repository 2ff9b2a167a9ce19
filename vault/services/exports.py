"""Plaintext exports that follow their credential: re-written after every refresh.

``tokendeck export --plaintext`` records an export binding (credential -> file,
target, key); :func:`reexport` writes the new token into each of them after a
refresh (:func:`vault.services.tokens.refresh` calls it).  A file that is gone or
changed shape is left alone and the failure audited; a refresh never fails
because of an export.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from vault.core.repository import Repository
from vault.errors import InvalidInput
from vault.export import Spec, plan


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
