"""The drop-in replacement for the plaintext SQLite ``TokenStorage``, backed by the
encrypted vault.

:class:`TokenStorage` keeps the original's contract call for call (per-user Jira
personal access tokens and per-user Google Drive credentials): its constructor
arguments, its methods, ``True``/``False``/``None``/``[]`` instead of exceptions (a
failure is logged, never raised), naive UTC ``datetime`` values, ``None`` scopes when
there are none, and ids listed in byte order (as the original's SQLite index listed
them).  It stores what the original stored, odd records included (one warning line each:
:mod:`vault.integrations.compat_rules`).  The remaining differences, each on purpose, are
in docs/library.md, Replacing plaintext token stores.  The Linear store is :mod:`vault.integrations.linear_store`.

Every token lands in the vault, encrypted; nothing is written anywhere else.  A
plaintext store the original left behind is imported once (:mod:`vault.integrations.
plaintext_import`).  Records are named as :mod:`vault.integrations.keyed` says.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from vault.core.model import NO_CLIENT_ID_EXTRA, ClientRegistration, Credential, token_fault
from vault.core.secret import Secret
from vault.errors import VaultError
from vault.integrations.compat_rules import byte_order, gdrive_oddities, jira_oddities, user_key
from vault.integrations.keyed import (
    GDRIVE_PREFIX,
    GOOGLE_BASE,
    JIRA_PREFIX,
    JIRA_PROVIDER,
    KeyedStore,
    posix,
)
from vault.services.tokens import Vault

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

__all__ = ["TokenStorage"]

log = logging.getLogger("vault.compat")
"""Where a failure goes instead of an exception, as the original logged it: the method,
and the error's message (a :class:`~vault.errors.VaultError`'s, which never holds a
secret) or only the type of anything else."""

P = ParamSpec("P")
R = TypeVar("R")


def never_raises(failure: Callable[[], object]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The original's contract: log the error and return ``failure()`` instead of raising."""

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the contract: every method returns, never raises
                why = exc.message if isinstance(exc, VaultError) else type(exc).__name__
                log.error("TokenStorage.%s failed: %s", method.__name__, why)
                return cast(R, failure())

        return guarded

    return wrap


def naive_utc(ts: float | None) -> datetime | None:
    """POSIX seconds as the original's times were: a naive ``datetime`` in UTC."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


class TokenStorage(KeyedStore):
    """Per-user Jira tokens and Google Drive credentials, kept in the vault.

    Args:
        db_url, db_file, db_engine: the original's store (an SQLAlchemy URL, a path, an
            engine; by default ``./tokens.db``).  Nothing is written there: when it is an
            existing plaintext store, its rows are imported into the vault once, and a
            warning says to delete it (see :mod:`vault.integrations.plaintext_import`).
        home: the vault directory (default ``$TOKENDECK_HOME`` or the platform's).
        passphrase: for a passphrase vault (otherwise the keyring, or the
            ``TOKENDECK_PASSPHRASE*`` environment sources).
        vault: an already open vault to use instead (not closed by :meth:`close`).
        create: create the vault when there is none yet, as the original created its
            file (default); ``False`` raises :class:`~vault.errors.NoVault` instead.
        import_plaintext: import the plaintext store named by ``db_*`` (default); ``False``
            leaves it alone (``tokendeck import token-storage`` imports it itself).
    """

    def __init__(
        self,
        db_url: str | None = None,
        db_file: str | os.PathLike[str] | None = None,
        db_engine: Any = None,
        *,
        home: str | os.PathLike[str] | None = None,
        passphrase: str | None = None,
        vault: Vault | None = None,
        create: bool = True,
        import_plaintext: bool = True,
    ) -> None:
        super().__init__(home, passphrase, vault, create)
        self._home, self._passphrase = home, passphrase
        from vault.integrations.plaintext_import import import_once, plaintext_store

        source = plaintext_store(db_url, db_file, db_engine) if import_plaintext else None
        if source is not None:
            import_once(self, source)

    # ------------------------------------------------------------------- Jira

    @never_raises(lambda: False)
    def upsert_jira_token(self, user_id: str | int, token: str, server_url: str, username: str | None = None) -> bool:
        """Store (or replace) ``user_id``'s Jira personal access token: True, or False (logged).

        ``created_at`` is kept across updates; ``updated_at`` moves.  Stored as the original
        stored them: an integer user id as its text (:func:`user_key`), and a token that is
        empty or has whitespace or control characters, or an empty ``server_url``, each with
        one warning line in the log saying what is odd (:func:`jira_oddities`; never the
        token).  Such a token is kept with status ``error``: this class returns it, and
        nothing else hands it out.  Refused (False): no token or no ``server_url`` at all
        (``None``: the original's columns were NOT NULL), a user id that is neither a string
        nor an integer, and a token over 64 KiB.
        """
        name, odd = self._write_jira(user_id, token, server_url, username)
        if odd:
            log.warning("TokenStorage.upsert_jira_token: stored %s, but %s", name, "; ".join(odd))
        return True

    def _write_jira(
        self, user_id: object, token: str, server_url: str, username: str | None, at: tuple[float, float] | None = None
    ) -> tuple[str, list[str]]:
        """Store the record (imported: ``at`` its times, and never over a record in the vault);
        its credential name, and what is odd about it."""
        key = user_key(user_id)
        odd = jira_oddities(token, server_url)
        name, stale = self._claim(JIRA_PREFIX, "user_id", key)
        now = self._vault.clock.now()
        created, updated = at or (now, now)
        fault = token_fault(token)
        record = Credential(
            name=name,
            provider=JIRA_PROVIDER,
            kind="static",
            account=username,
            access_token=Secret(token),
            token_type="Bearer",
            stored_status="active" if fault is None else "error",
            last_error=None if fault is None else f"stored by vault.compat: {fault}",
            extras={"user_id": key, "server_url": server_url, "username": username},
            created_at=created,
            updated_at=updated,
        )
        self._vault.records.save(record, replace=at is None, action="add" if at is None else "compat-import")
        self._retire(stale)
        return name, odd

    @never_raises(lambda: None)
    def get_jira_token(self, user_id: str | int) -> dict[str, Any] | None:
        """``{user_id, token, server_url, username, created_at, updated_at}``, or None.  An
        integer ``user_id`` finds the record stored under its text, and ``user_id`` is that text."""
        key = user_key(user_id)
        credential = self._find(JIRA_PREFIX, "user_id", key)
        if credential is None or credential.access_token is None:
            return None
        return {
            "user_id": key,
            "token": credential.access_token.reveal(),
            "server_url": credential.extras.get("server_url"),
            "username": credential.extras.get("username"),
            "created_at": naive_utc(credential.created_at),
            "updated_at": naive_utc(credential.updated_at),
        }

    @never_raises(lambda: False)
    def delete_jira_token(self, user_id: str | int) -> bool:
        """Delete ``user_id``'s Jira token: True if there was one."""
        return self._delete(JIRA_PREFIX, "user_id", user_key(user_id))

    @never_raises(list)
    def list_users_with_jira_tokens(self) -> list[str]:
        """Every user id with a stored Jira token, in byte order (see :func:`byte_order`)."""
        return byte_order(self._keys(JIRA_PREFIX, "user_id"))

    # ----------------------------------------------------------- Google Drive

    @never_raises(lambda: False)
    def upsert_gdrive_token(self, user_id: str | int, credentials: Credentials) -> bool:
        """Store (or replace) ``user_id``'s Google credentials: True, or False (logged).

        The access and refresh tokens, expiry and scopes become the credential
        ``gdrive-user-<user_id>``; the OAuth client (id, secret, token URI) becomes
        a ``google``-based client registration, reused when one with the same
        client id and token URI exists (its secret is updated if it changed), so
        the vault can refresh the token itself.  An integer user id is kept as its text
        (:func:`user_key`).  Stored as the original stored them, with one warning line
        saying what is odd (:func:`gdrive_oddities`; never a token): credentials without a
        client id (no registration: the vault cannot refresh or revoke them, and a client
        secret without its id is not kept), an access token that is no token (kept with
        status ``error`` until a refresh replaces it), an empty refresh token.  Refused
        (False): neither an access token nor a refresh token, and a token URI that is
        neither https nor loopback http (the vault would send the refresh token there).
        """
        name, odd = self._write_gdrive(
            user_id,
            token=credentials.token,
            refresh_token=credentials.refresh_token,
            id_token=credentials.id_token if isinstance(credentials.id_token, str) else None,
            scopes=credentials.scopes or credentials.granted_scopes or (),
            expiry=credentials.expiry,
            client=(credentials.client_id, credentials.client_secret, credentials.token_uri),
        )
        if odd:
            log.warning("TokenStorage.upsert_gdrive_token: stored %s, but %s", name, "; ".join(odd))
        return True

    def _write_gdrive(
        self,
        user_id: object,
        *,
        token: str | None,
        refresh_token: str | None,
        id_token: str | None,
        scopes: Any,
        expiry: datetime | None,
        client: tuple[str | None, str | None, str | None],
        at: tuple[float, float] | None = None,
    ) -> tuple[str, list[str]]:
        """Store the record (imported: ``at`` its times); its credential name, and what is odd about it."""
        key = user_key(user_id)
        client_id, secret, token_uri = client
        odd = gdrive_oddities(token, refresh_token, client_id, secret)
        name, stale = self._claim(GDRIVE_PREFIX, "user_id", key)
        extras: dict[str, Any] = {"user_id": key}
        if client_id:
            provider = self._google_registration(client_id, secret, token_uri)
        else:  # no registration: what it came with, and that it has none
            provider = GOOGLE_BASE
            extras[NO_CLIENT_ID_EXTRA] = True
            if isinstance(token_uri, str) and token_uri:
                extras["token_uri"] = token_uri
        fault = None if token is None else token_fault(token)
        now = self._vault.clock.now()
        created, updated = at or (now, now)
        self._vault.records.save(
            Credential(
                name=name,
                provider=provider,
                kind="oauth",
                access_token=None if token is None else Secret(token),
                refresh_token=None if refresh_token is None else Secret(refresh_token),
                id_token=Secret(id_token) if id_token else None,
                token_type="Bearer",
                scopes=tuple(scopes),
                expires_at=posix(expiry),
                stored_status="active" if fault is None else "error",
                last_error=None if fault is None else f"stored by vault.compat: {fault}",
                extras=extras,
                created_at=created,
                updated_at=updated,
                last_refreshed_at=updated,  # the tokens were issued then: their lifetime counts from there
            ),
            action="compat-upsert",
        )
        self._retire(stale)
        return name, odd

    def _google_registration(self, client_id: str, secret: str | None, token_uri: str | None) -> str:
        """The provider name of a google-based registration for this OAuth client."""
        from vault.core.providers import builtin, resolve

        token_uri = token_uri or builtin(GOOGLE_BASE).token_url or ""
        overrides = {} if token_uri == builtin(GOOGLE_BASE).token_url else {"token_url": token_uri}
        clients = self._vault.records.clients()
        for registration in clients:
            if registration.base != GOOGLE_BASE or registration.client_id != client_id:
                continue
            if resolve(registration).token_url != token_uri:
                continue
            stored = registration.client_secret.reveal() if registration.client_secret else None
            if secret and stored != secret:
                self._vault.records.set_client(dataclasses.replace(registration, client_secret=Secret(secret)))
            return registration.provider
        taken = {r.provider for r in clients}
        provider = GOOGLE_BASE
        if provider in taken:
            digest = hashlib.sha256(f"{client_id}\n{token_uri}".encode()).hexdigest()[:10]
            provider = f"google-{digest}"
        registration = ClientRegistration(
            provider=provider,
            base=GOOGLE_BASE,
            client_id=client_id,
            client_secret=Secret(secret) if secret else None,
            overrides=overrides,
        )
        resolve(registration)  # refuses a token URI that is neither https nor loopback http
        self._vault.records.set_client(registration)
        return provider

    @never_raises(lambda: None)
    def get_gdrive_credentials(self, user_id: str | int) -> Credentials | None:
        """``user_id``'s ``google.oauth2.credentials.Credentials`` exactly as stored, expiry
        included, or None.  Nothing is refreshed here, even when the token has expired; when
        google-auth refreshes them (by itself on an expired token, or ``refresh()``), the
        refresh goes through the vault, is stored, and never burns a rotating refresh token.
        """
        from vault.integrations.google import vault_credentials

        credential = self._find(GDRIVE_PREFIX, "user_id", user_key(user_id))
        if credential is None:
            return None
        return vault_credentials(self._vault, credential.name, self._lend, fresh=False)  # type: ignore[no-any-return]

    @contextmanager
    def _lend(self) -> Iterator[Vault]:
        """This store's vault while it is open; else one opened for the occasion."""
        if not self._closed:
            yield self._vault
            return
        from vault.services.opening import open_vault

        with open_vault(self._home, self._passphrase) as v:
            yield v

    @never_raises(lambda: None)
    def get_gdrive_token_info(self, user_id: str | int) -> dict[str, Any] | None:
        """What is stored for ``user_id``, with the token cut to 8 characters and ``...``.

        ``{user_id, token, has_refresh_token, scopes, expiry, created_at, updated_at}``
        (``scopes`` None when there are none), or None.  Never refreshes.
        """
        key = user_key(user_id)
        credential = self._find(GDRIVE_PREFIX, "user_id", key)
        if credential is None:
            return None
        token = None if credential.access_token is None else credential.access_token.reveal()
        return {
            "user_id": key,
            "token": None if token is None else f"{token[:8]}...",
            "has_refresh_token": credential.refresh_token is not None,
            "scopes": list(credential.scopes) or None,
            "expiry": naive_utc(credential.expires_at),
            "created_at": naive_utc(credential.created_at),
            "updated_at": naive_utc(credential.updated_at),
        }

    @never_raises(lambda: False)
    def delete_gdrive_token(self, user_id: str | int) -> bool:
        """Delete ``user_id``'s Drive credentials from the vault: True if there were some.

        Nothing is revoked at Google (as in the original); the client registration stays.
        """
        return self._delete(GDRIVE_PREFIX, "user_id", user_key(user_id))

    @never_raises(list)
    def list_users_with_gdrive_tokens(self) -> list[str]:
        """Every user id with stored Drive credentials, in byte order (see :func:`byte_order`)."""
        return byte_order(self._keys(GDRIVE_PREFIX, "user_id"))
