"""Importing tokens from where they live today: a plan to show, then all of it or nothing.

A reader (:mod:`vault.services.import_sources`) turns a source into :class:`Incoming`
records; :func:`plan` checks each one (its token is one the vault accepts, its name is
free or may be replaced) and says what will happen to it, without a secret in any line;
:func:`apply` stores the plan in one transaction.  The plaintext source is never changed,
unless the user then asks for :func:`shred`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from dataclasses import replace as replace_fields
from pathlib import Path
from typing import Any

from vault.core.model import check_label, check_name, check_token
from vault.core.secret import Secret
from vault.errors import InvalidInput, NotFound, VaultError, printable
from vault.services.tokens import Vault


@dataclass(frozen=True)
class Incoming:
    """One credential a source holds (its token is a :class:`Secret`: never in a ``repr``)."""

    name: str
    provider: str
    token: Secret
    account: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""
    """Where in the source it is (``github.com user alice``, ``line 4``): for the plan's lines."""
    in_source: bool = True
    """Whether the source file itself holds the token (gh's may be in the OS keyring instead)."""
    token_checked: bool = False
    """Whether the reader has checked the token by its source's own rules, so the plan does not
    apply the vault's (a TokenStorage row is stored as :mod:`vault.compat` stores it)."""


@dataclass(frozen=True)
class Skipped:
    """Something in the source that will not be imported, and why (never its value)."""

    origin: str
    why: str


@dataclass(frozen=True)
class Plan:
    """What an import will do."""

    source: str
    create: list[Incoming]
    replace: list[Incoming]
    keep: list[Incoming]
    """Names already in the vault, left alone (``--replace`` overwrites them)."""
    skipped: list[Skipped]

    @property
    def writes(self) -> list[Incoming]:
        return self.create + self.replace

    @property
    def plaintext(self) -> bool:
        """Whether the source file holds, in plaintext, a token that is now in the vault."""
        return any(c.in_source for c in self.writes + self.keep)

    def lines(self) -> list[str]:
        """The plan, a line per credential: names, providers, accounts, never a secret; what
        the source says (a host, a user, a variable) with its control characters escaped."""
        rows = [("create", c) for c in self.create] + [("replace", c) for c in self.replace]
        rows += [("keep", c) for c in self.keep]
        out = [f"  {verb:<8} {c.name:<24} {c.provider:<12} {c.account or '-':<20} {c.origin}" for verb, c in rows]
        out += [f"  {'skip':<8} {s.origin}: {s.why}" for s in self.skipped]
        return [printable(line) for line in out]


def plan(vault: Vault, source: str, found: Iterable[Incoming | Skipped], *, replace: bool = False) -> Plan:
    """Sort what a reader found into what will be created, replaced, kept or skipped.

    Two records of the source that would take one name keep it apart with a number
    (``github-2``)."""
    create: list[Incoming] = []
    replacing: list[Incoming] = []
    keep: list[Incoming] = []
    skipped: list[Skipped] = []
    taken: set[str] = set()
    for item in found:
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        try:
            if not item.token_checked:
                check_token(item.token.reveal())  # its reasons never quote the token
            check_name(item.provider, "provider")
            check_name(item.name)
            check_label(item.account, "account")
        except InvalidInput as exc:
            skipped.append(Skipped(item.origin, exc.message))
            continue
        name = _free_name(item.name, taken)
        taken.add(name)
        item = replace_fields(item, name=name)
        if not vault.records.exists(name):
            create.append(item)
        elif replace:
            replacing.append(item)
        else:
            keep.append(item)
    return Plan(source, create, replacing, keep, skipped)


def apply(vault: Vault, plan: Plan) -> int:
    """Store every write of ``plan`` in one transaction: all of them, or (on any failure)
    none; how many were stored.

    Raises:
        VaultError: one could not be stored; nothing was imported.
    """
    try:
        with vault.records.all_or_nothing():
            for item in plan.writes:
                vault.records.add_static(
                    item.name,
                    provider=item.provider,
                    token=item.token.reveal(),
                    account=item.account,
                    extras=item.extras,
                    replace=item in plan.replace,
                )
            vault.records.record("import", "ok", detail=f"{plan.source}: {len(plan.writes)} stored")
    except VaultError as exc:
        raise type(exc)(f"{exc.message}; nothing was imported") from None
    return len(plan.writes)


def shred(path: Path) -> None:
    """Overwrite ``path`` with random bytes, flush them to disk, and delete it.

    On a copy-on-write or journaling file system, or an SSD, old blocks may survive: this is
    the most a program can do, not a guarantee.
    """
    try:
        size = path.stat().st_size
        with path.open("r+b", buffering=0) as f:
            f.write(os.urandom(size))
            os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        raise NotFound(f"{path} is gone already") from None
    except OSError as exc:
        raise VaultError(f"could not shred {path}: {exc.strerror}") from None


def name_for(text: str) -> str:
    """A credential name made from a variable, host or user name: ``GITHUB_TOKEN`` ->
    ``github-token``, ``api.example.com`` -> ``api-example-com``."""
    out = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text.lower()).strip("-")
    while "--" in out:
        out = out.replace("--", "-")
    return out[:64] or "imported"


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}-{number}" in taken:
        number += 1
    return f"{name}-{number}"
