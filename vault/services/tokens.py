"""Tokens that are valid now: the :class:`Vault` you hold.

:class:`Vault` is what :func:`vault.open_vault` returns: every record of the vault
(:class:`~vault.core.repository.Repository`), plus :meth:`Vault.token`, which
refreshes first when the access token is due and says what to do when no token
can be had.  Refreshing itself, and its rules, is :mod:`vault.services.refreshing`.  The OAuth stack
is imported only when a refresh happens, so reading a fresh token loads no HTTP code.
"""

from __future__ import annotations

import threading
from typing import Any

from vault.core.keys import DatabaseKey
from vault.core.repository import Repository
from vault.errors import (
    ProviderError,
    RefreshBackoff,
    RefreshBusy,
    VaultBusy,
    VaultUnusable,
)
from vault.services.held import HeldAnswers
from vault.services.refreshing import refresh, usable_token

_KEEP_ALIVE_LOCK = threading.Lock()


class Vault(Repository):
    """An open vault: its records (see :class:`~vault.core.repository.Repository`) and a token
    that is valid now.  Use as a context manager, or call :meth:`close`.

    Get one with :func:`vault.open_vault` or :func:`vault.init_vault`.
    """

    _http_transport: Any = None
    _keep_alive: Any = None
    _http_client: Any = None
    _held: HeldAnswers | None = None
    _held_shared = False

    @property
    def records(self) -> Repository:
        """Its records (for now, itself)."""
        return self

    @property
    def held(self) -> HeldAnswers:
        """Refresh answers this process got and could not store yet (:mod:`vault.services.held`)."""
        with _KEEP_ALIVE_LOCK:
            if self._held is None:
                self._held = HeldAnswers()
            return self._held

    def share_held(self, held: HeldAnswers) -> None:
        """Keep held answers in ``held``, which outlives this vault object (a session that opens
        the vault for each use: :class:`~vault.services.opening.SessionVault`), and leave
        telling their loss to its owner."""
        with _KEEP_ALIVE_LOCK:
            self._held, self._held_shared = held, True

    @property
    def http_transport(self) -> Any:
        """The ``httpx`` transport for every provider call made for this vault: one pool of
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
        """The ``httpx.Client`` every refresh of this vault sends through: one, on
        :attr:`http_transport`, shared by every thread (:func:`vault.oauth.http.shared_client`),
        instead of a new client per refresh."""
        transport = self.http_transport
        with _KEEP_ALIVE_LOCK:
            if self._http_client is None:
                from vault.oauth.http import shared_client

                self._http_client = shared_client(transport)
            return self._http_client

    def handover_key(self) -> DatabaseKey:
        """The key that opens this vault, for the agent to hand to a TUI of the same user that
        joins it (:mod:`vault.agent.joining`); never for a log, an error or a screen.

        Raises:
            VaultBusy: a re-key is under way (the key is about to change).
        """
        key = self._store.handover_key()
        if key is None:
            raise VaultBusy("the vault is being re-keyed; try again")
        return key

    def close(self) -> None:
        """Close it; answers still held are tried once more, and if they still cannot be stored
        (and this vault owns them) their loss is raised, after closing.

        Raises:
            VaultUnusable: refreshed tokens that could not be stored are lost with this process.
        """
        lost = None
        if self._held is not None and self._held:
            self._held.store_all(self)
            lost = None if self._held_shared else self._held.lost()
        super().close()
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
        credential = kept.credential if kept is not None else self.get(name)
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
        self.touch(credential, now)
        return token
