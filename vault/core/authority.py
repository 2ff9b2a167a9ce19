"""The vault's own certificate authority for ``tokendeck proxy run`` (:mod:`vault.services.proxy_ca`
makes it): one row, its certificate (public) and its private key (a secret, held like a token:
in the encrypted file, as :class:`~vault.core.secret.Secret` in memory, never in a file of its
own).  A part of :class:`~vault.core.repository.Repository` (``repository.authority``); a
change commits with its audit row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vault.core.clock import Clock
from vault.core.secret import Secret
from vault.core.store import Store


@dataclass(frozen=True)
class StoredAuthority:
    cert_pem: str
    key_pem: Secret
    created_at: float


class ProxyAuthority:
    """The proxy CA's row, on the repository's store."""

    def __init__(
        self, store: Store, clock: Clock, audit: Callable[[Any, str | None, str, str, str | None], None]
    ) -> None:
        self._store = store
        self.clock = clock
        self._audit = audit

    def get(self) -> StoredAuthority | None:
        rows = self._store.query("SELECT cert_pem, key_pem, created_at FROM proxy_ca WHERE id = 1")
        if not rows:
            return None
        row = rows[0]
        return StoredAuthority(str(row["cert_pem"]), Secret(str(row["key_pem"])), float(row["created_at"]))

    def put(self, cert_pem: str, key_pem: Secret, *, detail: str) -> StoredAuthority:
        """Store the CA (replacing one that was there), audited as ``proxy-ca``."""
        now = self.clock.now()
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO proxy_ca (id, cert_pem, key_pem, created_at) VALUES (1, ?, ?, ?)",
                (cert_pem, key_pem.reveal(), now),
            )
            self._audit(conn, None, "proxy-ca", "ok", detail)
        return StoredAuthority(cert_pem, key_pem, now)
