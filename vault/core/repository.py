"""The records of an unlocked vault in its SQLCipher file: credentials, client registrations,
the audit log, and as parts, what points at a credential (``links``) and the file's key (``keys``).

:class:`Repository` reads and writes (it fulfils :class:`vault.core.records.Records`); every
change and the audit event that records it commit in one transaction.  It never talks to a
provider: the vault you hold, :class:`vault.services.tokens.Vault`, adds a token valid now.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Self

from vault.core.authority import ProxyAuthority
from vault.core.clock import Clock, SystemClock
from vault.core.extras import CredentialExtras
from vault.core.keys import VaultMeta
from vault.core.links import CredentialLinks
from vault.core.locks import credential_lock
from vault.core.masking import echo, without_secrets
from vault.core.model import AuditEvent, ClientRegistration, Credential, check_expiry, check_name, check_token
from vault.core.paths import VaultPaths
from vault.core.rekeying import VaultKeys
from vault.core.rows import audit_from, audit_select, client_from, credential_from, credential_row, reveal
from vault.core.secret import Secret
from vault.core.store import Store
from vault.core.superseded import Superseded
from vault.core.timefmt import check_when
from vault.errors import AlreadyExists, InvalidInput, NotFound, RefreshDiscarded

LAST_USED_RESOLUTION = 60.0
"""``last_used_at`` is stamped at most once a minute, so hot reads rarely write."""


class Repository:
    """An open vault's records.  Use as a context manager, or call :meth:`close`.

    Args:
        store: the unlocked database.
        paths: the home it lives in.
        meta: its key mode.
        clock: the time source; tests freeze it.

    Its parts: :attr:`links` (export bindings, git hosts), :attr:`authority` (the proxy's CA),
    :attr:`keys` (the file's key) and :attr:`superseded` (replaced secrets' keyed hashes).
    """

    def __init__(self, store: Store, paths: VaultPaths, meta: VaultMeta, clock: Clock | None = None) -> None:
        self._store = store
        self.paths = paths
        self.clock: Clock = clock or SystemClock()
        self.links = CredentialLinks(store, self.clock, self._audit)
        self.extras = CredentialExtras(store, self._audit)
        self.authority = ProxyAuthority(store, self.clock, self._audit)
        self.keys = VaultKeys(store, paths, meta, self.record)
        self.superseded = Superseded(store)  # replaced secrets, as keyed hashes (tokendeck scan)
        self._old_copies = False
        self._decoded: tuple[tuple[int, int], list[Credential]] | None = None

    @property
    def meta(self) -> VaultMeta:
        """Its key slot now (:attr:`keys` changes it with every re-key)."""
        return self.keys.meta

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.paths.home)!r}, mode={self.meta.mode!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database (paying a checkpoint a write still owes); it cannot be used afterwards."""
        self.settle()
        self._store.close()

    def forget_old_copies(self) -> bool:
        """After a secret left the vault (a delete, a revocation, a replaced token): checkpoint
        the WAL with ``TRUNCATE`` so that no old copy of a page survives in it (``secure_delete``
        has already zeroed it in the page itself).  When a reader holds the checkpoint back, it
        is owed, and :meth:`settle` retries: whoever refreshes in the background calls it on
        every tick, and :meth:`close` before closing.  Whether no old copy is left."""
        self._old_copies = not self._store.checkpoint()
        return not self._old_copies

    def verify(self) -> None:
        """Check every page of the file now (see :meth:`vault.core.store.Store.verify`).

        Raises:
            VaultCorrupt: a page is damaged.
        """
        self._store.verify()

    def settle(self) -> None:
        """Pay what an earlier write owed: a checkpoint a reader held back."""
        if self._old_copies:
            self.forget_old_copies()

    @property
    def mode(self) -> str:
        """``"keyring"`` or ``"passphrase"``."""
        return self.meta.mode

    # ------------------------------------------------------------- credentials

    def credentials(self) -> list[Credential]:
        """Every credential, by name.

        Decoded once and kept until the database changes: a commit by this vault, or by any
        other connection or process (``PRAGMA data_version``, which costs no page read), so a
        long-lived reader (the agent, the TUI) pays nothing per row for an unchanged vault and
        still sees another process's change at once.
        """
        version = (self._store.data_version(), self._store.commits)
        if self._decoded is None or self._decoded[0] != version:
            rows = self._store.query("SELECT * FROM credentials ORDER BY name")
            self._decoded = (version, [credential_from(r) for r in rows])
        return list(self._decoded[1])

    def credentials_stored_in_order(self, prefix: str) -> list[Credential]:
        """The credentials whose names start with ``prefix``, in the order they were first stored
        (a replace keeps a credential's place; a delete and a new add moves it to the end)."""
        rows = self._store.query(
            "SELECT * FROM credentials WHERE substr(name, 1, ?) = ? ORDER BY id", (len(prefix), prefix)
        )
        return [credential_from(r) for r in rows]

    def get(self, name: str) -> Credential:
        """The credential called ``name``.

        Raises:
            NotFound: there is none.
        """
        rows = self._store.query("SELECT * FROM credentials WHERE name = ?", (name,))
        if not rows:
            raise NotFound(f"no credential named {echo(name)} (see tokendeck list)")
        return credential_from(rows[0])

    def exists(self, name: str) -> bool:
        return bool(self._store.query("SELECT 1 FROM credentials WHERE name = ?", (name,)))

    def touch(self, credential: Credential, now: float) -> None:
        """Stamp ``credential`` as used at ``now``: at most once a minute, and never waiting for the write lock."""
        if credential.last_used_at is None or now - credential.last_used_at >= LAST_USED_RESOLUTION:
            self._store.write_if_free("UPDATE credentials SET last_used_at = ? WHERE name = ?", (now, credential.name))

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
        """Store a static token (a PAT or API key).

        Args:
            replace: overwrite an existing credential of that name (keeping its
                creation time) instead of refusing.

        Raises:
            InvalidInput: a bad name, provider or token, or an expiry in the past.
            AlreadyExists: the name is taken and ``replace`` is false.
        """
        check_name(name)
        check_name(provider, "provider")
        check_token(token)
        now = self.clock.now()
        check_expiry(expires_at, now)
        credential = Credential(
            name=name,
            provider=provider,
            kind="static",
            account=account,
            access_token=Secret(token),
            token_type="Bearer",
            expires_at=expires_at,
            extras=dict(extras or {}),
            created_at=now,
            updated_at=now,
        )
        self._write(credential, replace=replace, action="add")
        return self.get(name)

    def save(
        self, credential: Credential, *, replace: bool = True, action: str = "save", detail: str | None = None
    ) -> None:
        """Insert or update a whole credential (the sign-in and refresh code use this).

        Durable when it returns (``synchronous=FULL``): a rotated refresh token is
        on disk before anyone is handed the new access token.
        """
        check_name(credential.name)
        for moment in (credential.expires_at, credential.refresh_expires_at):
            if moment is not None:
                check_when(moment)  # a stored time past 9999-12-31 could never be shown
        self._write(credential, replace=replace, action=action, detail=detail)

    def _write(self, c: Credential, *, replace: bool, action: str, detail: str | None = None) -> None:
        values = credential_row(c)
        with self._store.transaction() as conn:
            existing = conn.execute("SELECT created_at FROM credentials WHERE name = ?", (c.name,)).fetchone()
            if existing is not None and not replace:
                raise AlreadyExists(f"a credential named {echo(c.name)} already exists (use --replace to overwrite it)")
            if existing is not None:
                values["created_at"] = existing["created_at"]
                assignments = ", ".join(f"{k} = :{k}" for k in values if k != "name")
                conn.execute(f"UPDATE credentials SET {assignments} WHERE name = :name", values)  # noqa: S608 - fixed column names
                outcome = "replaced"
            else:
                columns = ", ".join(values)
                marks = ", ".join(f":{k}" for k in values)
                conn.execute(f"INSERT INTO credentials ({columns}) VALUES ({marks})", values)  # noqa: S608 - fixed column names
                outcome = "ok"
            self._audit(conn, c.name, action, outcome, detail or f"provider={c.provider} kind={c.kind}")
        if existing is not None:
            self.forget_old_copies()  # the tokens it replaced

    def save_refreshed(self, credential: Credential, *, sent_refresh_token: str, detail: str) -> None:
        """Store a refresh's result only if the row still holds the refresh token that was sent
        (its extras too: a refresh the user confirmed clears a restore's mark).

        A rename, a delete or a new sign-in that happened while the request was in
        flight wins: the refresh result is dropped (and audited) rather than
        resurrecting a deleted credential or overwriting a newer grant.  ``last_used_at`` only
        moves forward (a refresh for a read stamps it in the same commit).

        Raises:
            VaultError: the credential changed meanwhile.
        """
        values = {
            "name": credential.name,
            "sent": sent_refresh_token,
            "access_token": reveal(credential.access_token),
            "refresh_token": reveal(credential.refresh_token),
            "id_token": reveal(credential.id_token),
            "token_type": credential.token_type,
            "scopes": json.dumps(list(credential.scopes)),
            "extras": json.dumps(dict(credential.extras)),
            "expires_at": credential.expires_at,
            "refresh_expires_at": credential.refresh_expires_at,
            "updated_at": credential.updated_at,
            "last_refreshed_at": credential.last_refreshed_at,
            "last_used_at": credential.last_used_at,
        }

        def store(conn: Any) -> int:
            changed: int = conn.execute(
                """
                UPDATE credentials SET access_token = :access_token, refresh_token = :refresh_token,
                    id_token = :id_token, token_type = :token_type, scopes = :scopes, extras = :extras,
                    expires_at = :expires_at, refresh_expires_at = :refresh_expires_at,
                    status = 'active', last_error = NULL, updated_at = :updated_at,
                    last_refreshed_at = :last_refreshed_at, refresh_failures = 0, retry_at = NULL,
                    last_used_at = coalesce(max(last_used_at, :last_used_at), last_used_at, :last_used_at)
                WHERE name = :name AND refresh_token = :sent
                """,
                values,
            ).rowcount
            if changed == 0:
                self._audit(conn, credential.name, "refresh", "discarded", "the credential changed meanwhile")
            else:
                self._audit(conn, credential.name, "refresh", "ok", detail)
            return changed

        # Refreshes running side by side (the background refresher's pool) share one commit.
        changed = self._store.grouped(store)
        if changed == 0:
            raise RefreshDiscarded(
                f"{credential.name} changed while it was being refreshed; the refresh was not stored"
            )
        # The tokens it replaced (a rotated refresh token too) go from the WAL at the next
        # settle(): after a batch of refreshes, or on close; not one checkpoint per refresh.
        self._old_copies = True

    def writable(self) -> None:
        """Make sure the vault can be written now: known when this process's last write worked,
        else proven with a durable write that changes nothing.  Raises VaultUnusable (a full or
        failing disk, read-only files) or VaultBusy, as any write does."""
        if not (self._store.wrote and self._store.write_problem is None):
            self._store.probe_write()

    @property
    def write_problem(self) -> str | None:
        """Why this process's last write to the vault failed (the disk), or None."""
        return self._store.write_problem

    def remove(self, name: str) -> Credential:
        """Delete ``name`` and its secrets from the vault (``secure_delete`` zeroes them).

        Raises:
            NotFound: there is no such credential.
        """
        with credential_lock(self.paths.home, name):  # never in the middle of its refresh
            credential = self.get(name)
            self._delete(name, credential)
        return credential

    def _delete(self, name: str, credential: Credential) -> None:
        with self._store.transaction() as conn:
            if conn.execute("DELETE FROM credentials WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"no credential named {echo(name)}")
            self._audit(conn, name, "rm", "ok", f"provider={credential.provider}")
        self.forget_old_copies()

    def mark(self, name: str, status: str, *, last_error: str | None, action: str, outcome: str) -> None:
        """Set a credential's stored status and last error, keeping every token."""
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE credentials SET status = ?, last_error = ?, updated_at = ? WHERE name = ?",
                (status, without_secrets(conn, name, last_error), self.clock.now(), name),
            )
            self._audit(conn, name, action, outcome, last_error)

    def note_error(
        self, name: str, last_error: str, *, action: str, outcome: str, retry_at: float | None = None
    ) -> None:
        """Record a failure on a credential without changing its status or tokens; with
        ``retry_at``, a refresh that failed: one more in a row, none tried before that time."""
        with self._store.transaction() as conn:
            last_error = without_secrets(conn, name, last_error) or ""
            if retry_at is None:
                conn.execute("UPDATE credentials SET last_error = ? WHERE name = ?", (last_error, name))
            else:
                conn.execute(
                    "UPDATE credentials SET last_error = ?, refresh_failures = refresh_failures + 1, retry_at = ? "
                    "WHERE name = ?",
                    (last_error, retry_at, name),
                )
            self._audit(conn, name, action, outcome, last_error)

    def erase_secrets(self, name: str, *, detail: str | None = None) -> None:
        """After a revocation: drop every token of ``name`` and mark it revoked.

        ``secure_delete`` zeroes the freed bytes inside the encrypted file.
        """
        with self._store.transaction() as conn:
            changed = conn.execute(
                """
                UPDATE credentials SET access_token = NULL, refresh_token = NULL, id_token = NULL,
                    status = 'revoked', last_error = NULL, updated_at = ?
                WHERE name = ?
                """,
                (self.clock.now(), name),
            ).rowcount
            if changed == 0:
                raise NotFound(f"no credential named {echo(name)}")
            self._audit(conn, name, "revoke", "ok", detail)
        self.forget_old_copies()

    def rename(self, old: str, new: str) -> None:
        """Give a credential a new name.

        Raises:
            NotFound: ``old`` does not exist.
            AlreadyExists: ``new`` is taken.
            InvalidInput: ``new`` is ``old`` (there is nothing to do, and one lock, not two).
        """
        check_name(new)
        if new == old:
            raise InvalidInput(f"{echo(old)} already has that name; nothing was renamed")
        first, second = sorted((old, new))  # one order everywhere: no deadlock between two renames
        with (
            credential_lock(self.paths.home, first),  # never in the middle of a refresh
            credential_lock(self.paths.home, second),
            self._store.transaction() as conn,
        ):
            if conn.execute("SELECT 1 FROM credentials WHERE name = ?", (new,)).fetchone():
                raise AlreadyExists(f"a credential named {echo(new)} already exists")
            changed = conn.execute(
                "UPDATE credentials SET name = ?, updated_at = ? WHERE name = ?", (new, self.clock.now(), old)
            ).rowcount
            if changed == 0:
                raise NotFound(f"no credential named {echo(old)}")
            # Its history goes with it: the trail of `new` starts where `old`'s began.
            conn.execute("UPDATE audit SET credential = ? WHERE credential = ?", (new, old))
            self._audit(conn, new, "rename", "ok", f"from={old}")

    # ---------------------------------------------------- client registrations

    def set_client(self, registration: ClientRegistration) -> None:
        """Store (or replace) the user's OAuth app for a provider."""
        check_name(registration.provider, "provider")
        now = self.clock.now()
        with self._store.transaction() as conn:
            conn.execute(
                """
                INSERT INTO client_registrations
                    (provider, base, client_id, client_secret, params, overrides, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (provider) DO UPDATE SET
                    base = excluded.base, client_id = excluded.client_id,
                    client_secret = excluded.client_secret, params = excluded.params,
                    overrides = excluded.overrides, updated_at = excluded.updated_at
                """,
                (
                    registration.provider,
                    registration.base,
                    registration.client_id,
                    reveal(registration.client_secret),
                    json.dumps(dict(registration.params)),
                    json.dumps(dict(registration.overrides)),
                    now,
                    now,
                ),
            )
            self._audit(conn, None, "provider-add", "ok", f"provider={registration.provider} base={registration.base}")

    def get_client(self, provider: str) -> ClientRegistration:
        """The registration for ``provider``.

        Raises:
            NotFound: none is stored.
        """
        rows = self._store.query("SELECT * FROM client_registrations WHERE provider = ?", (provider,))
        if not rows:
            raise NotFound(f"no client registration for {echo(provider)} (see tokendeck provider add)")
        return client_from(rows[0])

    def clients(self) -> list[ClientRegistration]:
        return [client_from(r) for r in self._store.query("SELECT * FROM client_registrations ORDER BY provider")]

    def remove_client(self, provider: str) -> None:
        with self._store.transaction() as conn:
            if conn.execute("DELETE FROM client_registrations WHERE provider = ?", (provider,)).rowcount == 0:
                raise NotFound(f"no client registration for {echo(provider)}")
            self._audit(conn, None, "provider-rm", "ok", f"provider={provider}")

    # ------------------------------------------------------------------ audit

    @contextlib.contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Every write inside the block commits together, or none does (one transaction; each
        write inside is a savepoint, so one that raises and is caught is undone alone)."""
        with self._store.transaction():
            yield

    def record(self, action: str, outcome: str, *, credential: str | None = None, detail: str | None = None) -> None:
        """Append an audit event on its own (for actions that change nothing else)."""
        with self._store.transaction(audit_only=True) as conn:
            self._audit(conn, credential, action, outcome, detail)

    def record_many(self, rows: Iterable[tuple[str, str, str | None, str | None, float]]) -> None:
        """Append audit events (action, outcome, credential, detail, when), all in one commit."""
        with self._store.transaction(audit_only=True) as conn:
            for action, outcome, credential, detail, at in rows:
                self._audit(conn, credential, action, outcome, detail, at)

    def record_once(self, action: str, outcome: str, *, credential: str, detail: str) -> bool:
        """Append an audit event unless the same one (credential, action, detail) is already
        there; whether it was appended.  For warnings that must be given once, across restarts."""
        with self._store.transaction(audit_only=True) as conn:
            seen = conn.execute(
                "SELECT 1 FROM audit WHERE credential = ? AND action = ? AND detail = ? LIMIT 1",
                (credential, action, detail),
            ).fetchone()
            if seen is None:
                self._audit(conn, credential, action, outcome, detail)
        return seen is None

    def _audit(self, conn: Any, credential: str | None, action: str, outcome: str, detail: str | None,
               at: float | None = None) -> None:  # fmt: skip
        detail = without_secrets(conn, credential, detail)
        conn.execute(
            "INSERT INTO audit (at, credential, action, outcome, detail) VALUES (?, ?, ?, ?, ?)",
            (self.clock.now() if at is None else at, credential, action, outcome, detail),
        )

    def audit_log(
        self, *, credential: str | None = None, limit: int | None = None, actions: Sequence[str] = ()
    ) -> list[AuditEvent]:
        """Audit events, oldest first (the newest ``limit`` when given; of ``actions`` only, when given)."""
        sql, params = audit_select(credential=credential, limit=limit, actions=actions)
        return [audit_from(r) for r in reversed(self._store.query(sql, params))]

    def prune_audit(self, before: float) -> int:
        """Delete the audit events older than ``before``; how many there were."""
        with self._store.transaction() as conn:
            return int(conn.execute("DELETE FROM audit WHERE at < ?", (before,)).rowcount)

    def audit_since(self, after: int | None) -> tuple[int, list[AuditEvent]]:
        """Events after number ``after`` (None: none), oldest first, and the newest number: how a
        front end learns what other processes did (the agent's failed refresh, a warning)."""
        if after is None:
            rows = self._store.query("SELECT COALESCE(MAX(id), 0) FROM audit")
            return int(rows[0][0]), []
        rows = self._store.query("SELECT id, * FROM audit WHERE id > ? ORDER BY id LIMIT 1000", [after])
        return (int(rows[-1][0]) if rows else after), [audit_from(r) for r in rows]

    def data_version(self) -> int:
        """A number that changes whenever another process commits to the vault (see
        :meth:`vault.core.store.Store.data_version`)."""
        return self._store.data_version()
