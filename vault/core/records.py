"""The storage contract: what an open vault's records must do, whatever keeps them.

:class:`Records` is the small, documented contract (keyring's ``KeyringBackend`` is the
model) that :class:`~vault.core.repository.Repository`, the SQLCipher file, fulfils, and
that the tokens code (:mod:`vault.services.tokens`) and every front end rely on.
``tests/test_records_contract.py`` runs one set of behavioural checks against every
implementation.  What is particular to one file on disk (its key, its pages, its WAL) is
not part of it: see :class:`~vault.core.repository.Repository`.

The promises every implementation keeps:

- Every change and the audit event that records it happen together, or not at all.
- Nothing secret reaches the audit log or an error message (a token in a detail is masked).
- A refresh's result is stored only over the refresh token that was sent
  (:meth:`Records.save_refreshed`): a rename, a delete or a new sign-in meanwhile wins.
- Nothing is ever refreshed here: storage reads and writes; "a token valid now" is the
  vault's (:class:`vault.services.tokens.Vault`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from vault.core.clock import Clock
from vault.core.links import ExportBinding
from vault.core.model import AuditEvent, ClientRegistration, Credential
from vault.core.paths import VaultPaths


class Links(Protocol):
    """What points at a credential: the files its token is exported to in plaintext and the git
    hosts it answers for (:class:`~vault.core.links.CredentialLinks` on the SQLCipher file).
    A rename takes them along; a removal drops them."""

    def add_export_binding(self, name: str, *, target: str, path: str, key: str, options: Mapping[str, Any]) -> None:
        """Remember that ``name``'s token is written in plaintext at ``path``.  Raises NotFound."""

    def export_bindings(self, name: str | None = None) -> list[ExportBinding]:
        """Plaintext export bindings (of ``name``, or all), by credential, target and path."""
        ...

    def remove_export_bindings(self, name: str, *, target: str, path: str) -> int:
        """Forget ``name``'s bindings of ``target`` at ``path``; how many there were."""
        ...

    def map_git_host(self, host: str, name: str, username: str | None = None) -> None:
        """Answer git's requests for ``host`` with ``name``'s token.  Raises NotFound."""

    def git_hosts(self, host: str | None = None) -> list[tuple[str, str, str | None]]:
        """``(host, credential, username)`` for every mapped git host (or just ``host``)."""
        ...

    def unmap_git_host(self, host: str) -> bool:
        """Forget ``host``'s mapping; whether there was one."""
        ...


@runtime_checkable
class Records(Protocol):
    """An open vault's records: credentials, client registrations, the audit log, and what
    points at a credential (:attr:`links`).

    Attributes:
        paths: the home the records live in (the credential locks are taken there).
        clock: the time source every stamp is read from; tests freeze it.
    """

    paths: VaultPaths
    clock: Clock

    @property
    def links(self) -> Links:
        """Export bindings and git hosts."""
        ...

    def close(self) -> None:
        """Close; the records cannot be used afterwards."""

    # ------------------------------------------------------------- credentials

    def credentials(self) -> list[Credential]:
        """Every credential, by name."""
        ...

    def credentials_stored_in_order(self, prefix: str) -> list[Credential]:
        """The credentials whose names start with ``prefix``, in the order they were first stored."""
        ...

    def get(self, name: str) -> Credential:
        """The credential called ``name``.  Raises NotFound."""
        ...

    def exists(self, name: str) -> bool:
        """Whether a credential is called ``name``."""
        ...

    def touch(self, credential: Credential, now: float) -> None:
        """Stamp ``credential`` as used at ``now`` (best effort, never waiting to write)."""

    def add_static(
        self,
        name: str,
        *,
        provider: str,
        token: str,
        account: str | None = None,
        expires_at: float | None = None,
        extras: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> Credential:
        """Store a static token; the stored credential.  Raises InvalidInput, AlreadyExists."""
        ...

    def save(
        self, credential: Credential, *, replace: bool = True, action: str = "save", detail: str | None = None
    ) -> None:
        """Insert or update a whole credential, durably (its creation time is kept on a replace).
        Raises AlreadyExists when the name is taken and ``replace`` is false."""

    def save_refreshed(self, credential: Credential, *, sent_refresh_token: str, detail: str) -> None:
        """Store a refresh's result only over the refresh token that was sent.  Raises
        RefreshDiscarded (audited) when the credential changed meanwhile."""

    def remove(self, name: str) -> Credential:
        """Delete ``name`` and its secrets; the credential it was.  Raises NotFound."""
        ...

    def rename(self, old: str, new: str) -> None:
        """Give a credential a new name; its audit trail goes with it.  Raises NotFound,
        AlreadyExists, InvalidInput (``new`` is ``old``)."""

    def mark(self, name: str, status: str, *, last_error: str | None, action: str, outcome: str) -> None:
        """Set a credential's stored status and last error, keeping every token."""

    def note_error(
        self, name: str, last_error: str, *, action: str, outcome: str, retry_at: float | None = None
    ) -> None:
        """Record a failure without changing status or tokens; with ``retry_at``, one more
        failed refresh in a row, none tried before that time."""

    def erase_secrets(self, name: str, *, detail: str | None = None) -> None:
        """After a revocation: drop every token of ``name`` and mark it revoked.  Raises NotFound."""

    def writable(self) -> None:
        """Make sure the records can be written now.  Raises VaultUnusable or VaultBusy."""

    # ---------------------------------------------------- client registrations

    def set_client(self, registration: ClientRegistration) -> None:
        """Store (or replace) the user's OAuth app for a provider."""

    def get_client(self, provider: str) -> ClientRegistration:
        """The registration for ``provider``.  Raises NotFound."""
        ...

    def clients(self) -> list[ClientRegistration]:
        """Every registration, by provider."""
        ...

    def remove_client(self, provider: str) -> None:
        """Forget ``provider``'s registration.  Raises NotFound."""

    # ------------------------------------------------------------------ audit

    def all_or_nothing(self) -> AbstractContextManager[None]:
        """Every write inside the block commits together, or none does."""
        ...

    def record(self, action: str, outcome: str, *, credential: str | None = None, detail: str | None = None) -> None:
        """Append an audit event on its own."""

    def record_once(self, action: str, outcome: str, *, credential: str, detail: str) -> bool:
        """Append an audit event unless the same one is already there; whether it was appended."""
        ...

    def audit_log(
        self, *, credential: str | None = None, limit: int | None = None, actions: Sequence[str] = ()
    ) -> list[AuditEvent]:
        """Audit events, oldest first (the newest ``limit`` when given; of ``actions`` only, when given)."""
        ...

    def audit_since(self, after: int | None) -> tuple[int, list[AuditEvent]]:
        """Events after number ``after`` (None: none), oldest first, and the newest number."""
        ...

    def prune_audit(self, before: float) -> int:
        """Delete the audit events older than ``before``; how many there were."""
        ...


if TYPE_CHECKING:
    from vault.core.repository import Repository

    _SQLCIPHER: type[Records] = Repository
    """mypy checks here that the SQLCipher repository fulfils the contract."""
