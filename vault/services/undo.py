"""Undoing a delete, a rename or a token replace, for a short while after it: the one rule
"is it still what I left", for every front end.

Each change here returns an :class:`Undo`: what the credential was before (its tokens as
:class:`~vault.core.secret.Secret`, in memory only: never written anywhere else) and what
the change left behind.  :func:`undo` puts the credential back only if the vault still
holds exactly what the change left (compared inside the one write transaction that puts
it back): a credential that another process changed, refreshed, deleted or re-created
meanwhile, or a name that was taken back, is refused with :class:`UndoRefused` and
nothing is written.  ``last_used_at`` is not compared: a read stamps it, and a read
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vault.core.links import ExportBinding
from vault.core.model import Credential
from vault.core.repository import Repository
from vault.core.rows import credential_row
from vault.errors import NotFound, UndoRefused

Kind = Literal["delete", "rename", "replace"]


@dataclass(frozen=True)
class Undo:
    """What one change can be undone to.

    Attributes:
        kind: ``delete``, ``rename`` or ``replace``.
        name: the credential's name before the change.
        before: the credential before the change, tokens and all.
        left: what the change left in the vault (None after a delete).
        bindings: its plaintext export bindings before a delete (the delete drops them).
        git_hosts: ``(host, username)`` of the git hosts it answered for before a delete.
    """

    kind: Kind
    name: str
    before: Credential
    left: Credential | None
    bindings: tuple[ExportBinding, ...] = ()
    git_hosts: tuple[tuple[str, str | None], ...] = field(default=())


def _same(a: Credential, b: Credential) -> bool:
    """Whether two readings of a credential are the same stored state (a read's stamp aside)."""
    first, second = credential_row(a), credential_row(b)
    first.pop("last_used_at")
    second.pop("last_used_at")
    return first == second


def delete(records: Repository, name: str) -> Undo:
    """Delete ``name`` (as ``tokendeck rm``), keeping what :func:`undo` needs to put it back.

    Raises:
        NotFound: there is no such credential.
    """
    before = records.get(name)
    bindings = tuple(records.links.export_bindings(name))
    hosts = tuple((host, user) for host, owner, user in records.links.git_hosts() if owner == name)
    records.remove(name)
    return Undo("delete", name, before, None, bindings, hosts)


def rename(records: Repository, old: str, new: str) -> Undo:
    """Rename ``old`` to ``new`` (as ``tokendeck rename``), keeping what :func:`undo` needs.

    Raises:
        NotFound, AlreadyExists, InvalidInput: as :meth:`Repository.rename`.
    """
    before = records.get(old)
    records.rename(old, new)
    return Undo("rename", old, before, records.get(new))


def replaced(records: Repository, before: Credential) -> Undo:
    """The undo of a token replace that turned ``before`` into what the vault holds now."""
    return Undo("replace", before.name, before, records.get(before.name))


def undo(records: Repository, change: Undo) -> str:
    """Put the credential back as it was before ``change``; returns what was done, in words.

    Raises:
        UndoRefused: the vault no longer holds what the change left (nothing is written).
    """
    from vault.services.exports import reexport

    with records.all_or_nothing():  # the check and the write: one transaction
        if change.kind == "delete":
            if records.exists(change.name):
                raise UndoRefused(f"{change.name} was not restored: a credential of that name exists again")
            records.save(change.before, replace=False, action="undo", detail="the delete undone")
            for b in change.bindings:
                records.links.add_export_binding(change.name, target=b.target, path=b.path, key=b.key,
                                                 options=b.options)  # fmt: skip
            for host, user in change.git_hosts:
                if not records.links.git_hosts(host):  # mapped to another meanwhile: that one stays
                    records.links.map_git_host(host, change.name, user)
            return f"{change.name} is back."
        left = change.left or change.before  # a rename and a replace always leave one
        try:
            now = records.get(left.name)
        except NotFound:
            raise UndoRefused(f"{left.name} is no longer in the vault; nothing was undone") from None
        if not _same(now, left):
            raise UndoRefused(f"{left.name} changed since; nothing was undone")
        if change.kind == "rename":
            if records.exists(change.name):
                raise UndoRefused(f"{change.name} is taken again; {left.name} keeps its name")
            records.rename(left.name, change.name)
            return f"{left.name} is {change.name} again."
        records.save(change.before, replace=True, action="undo", detail="the token replace undone")
    records.forget_old_copies()  # the token it replaced: its checkpoint waited for the transaction's end
    token = change.before.access_token
    if token is not None:
        reexport(records, change.name, token.reveal())  # a plaintext export gets the old token back
    return f"{change.name} holds its previous token again."
