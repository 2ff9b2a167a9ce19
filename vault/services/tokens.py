"""Tokens that are valid now: the :class:`Vault` you hold.

:class:`Vault` is what :func:`vault.open_vault` returns: a small surface over the use cases
every front end shares, holding its records (:attr:`Vault.records`).  :meth:`Vault.token`
refreshes first when the access token is due and says what to do when no token can be had.
Refreshing itself, and its rules, is :mod:`vault.services.refreshing`.  The OAuth stack is
imported only when a refresh happens, so reading a fresh token loads no HTTP code.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Self

from vault.core.clock import Clock
from vault.core.model import Credential
from vault.core.paths import VaultPaths
from vault.core.repository import Repository
from vault.errors import (
    ProviderError,
    RefreshBackoff,
    RefreshBusy,
    VaultUnusable,
)
from vault.services.held import HeldAnswers
from vault.services.refreshing import refresh, usable_token

if TYPE_CHECKING:
    from vault.export import Spec
    from vault.services.revoke import RevokeResult

_KEEP_ALIVE_LOCK = threading.Lock()


class Vault:
    """An open vault: its credentials, and a token that is valid now.  Use as a context
    manager, or call :meth:`close`.  Get one with :func:`vault.open_vault` or
    :func:`vault.init_vault`.

    Its surface is small on purpose (``tests/test_vault_surface.py`` pins it): :meth:`token`,
    :meth:`credentials`, :meth:`get`, :meth:`add`, :meth:`replace`, :meth:`remove`,
    :meth:`rename`, :meth:`refresh`, :meth:`revoke`, :meth:`export` and :meth:`close`, each a
    call to the use case the CLI runs too.

    It *holds* its storage rather than being it: :attr:`records`, the SQLCipher
    :class:`~vault.core.repository.Repository` (which fulfils the storage contract,
    :class:`~vault.core.records.Records`).  tokendeck's own front ends (the CLI, the TUI, the
    agent, the bridges) reach every other record through it: ``vault.records.save(...)``,
    ``vault.records.audit_log()``, ``vault.records.links.git_hosts()``,
    ``vault.records.keys.rekey(...)``.

    Attributes:
        records: the storage (typed as the SQLCipher repository: the front ends use what is
            particular to the file too, its key, its pages, its ``data_version``).
        paths, clock: the home and the time source (the records').
        held, http_transport, http_client: what a process that refreshes keeps beside the
            vault (refresh answers it could not store yet; one pool of HTTP connections for
            every provider call).  They stay attributes, not methods or private names, because
            the refresher, the agent and the bridges read them and tests plug in a transport;
            they are not part of the library's contract.  The key that opens the file (for a
            TUI that joins the agent) is ``records.keys.handover_key()``.
    """

    _http_transport: Any = None
    _keep_alive: Any = None
    _http_client: Any = None
    _held: HeldAnswers | None = None
    _held_shared = False

    def __init__(self, records: Repository) -> None:
        self.records = records

    def __repr__(self) -> str:
        return f"Vault({str(self.paths.home)!r}, mode={self.records.mode!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def paths(self) -> VaultPaths:
        """The vault's home and its files."""
        return self.records.paths

    @property
    def clock(self) -> Clock:
        """The time source (tests freeze it)."""
        return self.records.clock

    @property
    def held(self) -> HeldAnswers:
        """Refresh answers this process got and could not store yet (:mod:`vault.services.held`)."""
        with _KEEP_ALIVE_LOCK:
            if self._held is None:
                self._held = HeldAnswers()
            return self._held

    @held.setter
    def held(self, held: HeldAnswers) -> None:
        """Keep held answers in ``held``, which outlives this vault object (a session that opens
        the vault for each use: :class:`~vault.services.opening.SessionVault`), and leave
        telling their loss to its owner."""
        with _KEEP_ALIVE_LOCK:
            self._held, self._held_shared = held, True

    @property
    def http_transport(self) -> Any:
        """The ``httpx2`` transport for every provider call made for this vault: one pool of
        keep-alive connections (:class:`~vault.oauth.http.KeepAliveTransport`), built at the
        first call and closed with the vault, unless one is set (tests plug in a MockTransport;
        None goes back to the pool)."""
        if self._http_transport is not None:
            return self._http_transport
        with _KEEP_ALIVE_LOCK:
            if self._keep_alive is None:
                from vault.oauth.http import KeepAliveTransport

                self._keep_alive = KeepAliveTransport()
            return self._keep_alive

    @http_transport.setter
    def http_transport(self, transport: Any) -> None:
        with _KEEP_ALIVE_LOCK:
            self._http_transport = transport
            self._http_client = None  # the next refresh builds one on the new transport

    @property
    def http_client(self) -> Any:
        """The ``httpx2.Client`` every refresh of this vault sends through: one, on
        :attr:`http_transport`, shared by every thread (:func:`vault.oauth.http.shared_client`),
        instead of a new client per refresh."""
        transport = self.http_transport
        with _KEEP_ALIVE_LOCK:
            if self._http_client is None:
                from vault.oauth.http import shared_client

                self._http_client = shared_client(transport)
            return self._http_client

    def close(self) -> None:
        """Close it; answers still held are tried once more, and if they still cannot be stored
        (and this vault owns them) their loss is raised, after closing.

        Raises:
            VaultUnusable: refreshed tokens that could not be stored are lost with this process.
        """
        lost = None
        if self._held is not None and self._held:
            self._held.store_all(self.records)
            lost = None if self._held_shared else self._held.lost()
        self.records.close()
        if self._http_client is not None:
            self._http_client.close()  # its transport is the pool (kept open) or the one a test set
        if self._keep_alive is not None:
            self._keep_alive.shutdown()
        if lost is not None:
            raise VaultUnusable(lost)

    def token(self, name: str) -> str:
        """The access token of ``name``, valid now: refreshed first when it expires within its
        read margin (:meth:`~vault.core.model.Credential.refresh_margin`: 60 s for a token that
        lives an hour, an eighth of a short one's life), once, however many processes ask.

        A refresh that cannot happen now (it is failing and backing off, another party is still
        at it, the vault cannot be written) does not withhold a token that is still valid.

        Raises:
            NotFound: no such credential.
            NeedsSignIn: it is expired, revoked, or needs a new sign-in.
            ProviderError, RefreshBackoff, RefreshBusy, VaultUnusable: a due refresh could not be
                done, and the token has run out (the credential is unchanged).
        """
        kept = self.held.get(name)
        credential = kept.credential if kept is not None else self.records.get(name)
        now = self.clock.now()
        if credential.due(now):
            try:
                credential = refresh(self, name, used=True)  # stamped as used by the refresh's own commit
            except (ProviderError, RefreshBackoff, RefreshBusy, VaultUnusable):
                if credential.expires_at is None or credential.expires_at <= self.clock.now():
                    raise
            now = self.clock.now()
        kept = self.held.get(name)
        if kept is not None and kept.credential.expires_at is not None and kept.credential.expires_at <= now:
            raise VaultUnusable(
                f"{name}'s newest tokens are held in memory because the vault cannot be written ({kept.reason}), "
                "and its access token has run out: no refresh starts until the vault can be written again"
            )
        token = usable_token(credential, now)
        self.records.touch(credential, now)
        return token

    def credentials(self) -> list[Credential]:
        """Every credential, by name (their tokens are :class:`~vault.core.secret.Secret` values)."""
        return self.records.credentials()

    def get(self, name: str) -> Credential:
        """The credential called ``name``, as stored (not refreshed: :meth:`token` is).

        Raises:
            NotFound: there is none.
        """
        return self.records.get(name)

    def add(
        self,
        name: str,
        *,
        provider: str,
        token: str,
        account: str | None = None,
        expires: str | None = None,
        server_url: str | None = None,
        username: str | None = None,
        replace: bool = False,
    ) -> Credential:
        """Store a static token (a personal access token, an API key) by the rules ``tokendeck
        add`` follows (:mod:`vault.services.static_tokens`); the stored credential.

        Args:
            provider: a static kind of the catalog (``api-key``, ``github-pat``, ``jira-dc``);
                another name is kept as a plain API key.
            expires: when it expires: an ISO 8601 date or time, or a duration (``90d``).
            server_url, username: what the provider requires (Jira Data Center: both).
            replace: overwrite a credential of that name (keeping what is not given).

        Raises:
            InvalidInput: a bad name, provider, token or expiry, or what the provider requires missing.
            AlreadyExists: the name is taken and ``replace`` is false.
        """
        from vault.services import static_tokens

        checked = static_tokens.check(
            name, provider, now=self.clock.now(), account=account, expires=expires, server_url=server_url,
            username=username, replacing=replace,
        )  # fmt: skip
        return static_tokens.add(self.records, checked, token, replace=replace)

    def replace(self, name: str, token: str, *, expires: str = "") -> Credential:
        """Replace static credential ``name``'s token (a rotated PAT), keeping everything else
        (:func:`vault.services.static_tokens.rotate`): plaintext exports are re-written.

        Args:
            expires: the new token's expiry (``2027-03-01``, ``90d``), ``never``, or empty to
                keep the stored one.

        Raises:
            NotFound: no such credential.
            InvalidInput: it signs in with OAuth, a bad token, or an expiry in the past.
        """
        from vault.services.static_tokens import rotate

        return rotate(self.records, name, token, expires=expires)

    def remove(self, name: str) -> Credential:
        """Delete ``name`` and its secrets from the vault (not revoked at the provider: see
        :meth:`revoke`); the credential it was.

        Raises:
            NotFound: there is no such credential.
        """
        return self.records.remove(name)

    def rename(self, old: str, new: str) -> None:
        """Give a credential a new name; its audit trail, exports and git hosts follow it.

        Raises:
            NotFound, AlreadyExists, InvalidInput: ``old`` is missing, ``new`` is taken or is ``old``.
        """
        self.records.rename(old, new)

    def refresh(self, name: str) -> Credential:
        """Refresh OAuth credential ``name`` now, due or not (as ``tokendeck refresh NAME``):
        rotation-safe, once across processes (:func:`refresh`); the stored credential afterwards.

        Raises:
            NotFound, InvalidInput (a static token), NeedsSignIn, ProviderError, RefreshBusy.
        """
        return refresh(self, name, force=True)

    def revoke(self, name: str, *, local: bool = False) -> RevokeResult:
        """Revoke ``name`` at its provider, then erase its tokens (:func:`vault.services.revoke.
        revoke`); ``local``: where the provider cannot revoke by API, erase them here anyway.

        Raises:
            NotFound: no such credential.
            RevokeFailed: the provider did not confirm; the tokens are kept.
        """
        from vault.services.revoke import revoke

        return revoke(self, name, erase_without_provider=local)

    def export(self, spec: Spec, path: str | os.PathLike[str] | None = None, *, force: bool = False) -> list[str]:
        """Export ``spec`` (a :class:`vault.export.Spec`: target, credential, variable, reference or
        plaintext) into ``path`` (default: the target's usual file), merged, as ``tokendeck
        export`` does (:mod:`vault.services.exports`); what to tell the user.

        Raises:
            NotFound, NeedsSignIn: no such credential, or no usable token.
            InvalidInput, TargetUnwritable: the file cannot take it (a plaintext export into a
                file git tracks is refused unless ``force``).
        """
        from vault.services.exports import plan_export, target_path, write_export

        where = target_path(spec.target, None if path is None else os.fspath(path))
        return write_export(self, plan_export(self, spec, where, force=force))
