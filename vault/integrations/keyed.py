"""A vault credential for each outside key (a user id, an organization id): how
the drop-in stores (:mod:`vault.compat`) name and find their records.

Credential names
    Each stored record is an ordinary vault credential, visible in
    ``tokendeck list``:

    ======================  ===========================  ==================
    record                  credential name              provider
    ======================  ===========================  ==================
    Jira token of a user    ``jira-user-<user_id>``      ``jira-dc``
    Drive credentials       ``gdrive-user-<user_id>``    a ``google``-based
                                                         registration
    Linear organization     ``linear-org-<org_id>``      ``linear`` (or the
                                                         name given)
    ======================  ===========================  ==================

    A key made only of the vault's name characters (``A-Z a-z 0-9 . _ @ + -``)
    and at most 64 characters long is used as is.  Any other key is slugged:
    every other character becomes ``-``, the slug is cut to 40 characters and
    ``-`` plus the first 10 hex digits of the key's SHA-256 are appended, so two
    different keys never share a name.  The original key is kept in the
    credential's ``extras`` (``user_id`` / ``organization_id``), which is what the
    listing methods return and what every read checks.

Times
    ``created_at``, ``updated_at`` and ``expiry`` are ISO 8601 strings in UTC
    with microseconds and an explicit offset, as ``datetime.isoformat()`` gives
    them: ``2026-11-22T11:57:46.123456+00:00``.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from typing import Self

from vault.core.model import Credential, check_name
from vault.errors import InvalidInput, NotFound, NoVault
from vault.services.tokens import Vault

JIRA_PREFIX = "jira-user-"
GDRIVE_PREFIX = "gdrive-user-"
LINEAR_PREFIX = "linear-org-"
JIRA_PROVIDER = "jira-dc"
GOOGLE_BASE = "google"

_PLAIN_KEY = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
_OTHER = re.compile(r"[^A-Za-z0-9._@+-]")


def credential_name(prefix: str, key: str) -> str:
    """The vault credential name for ``key`` under ``prefix`` (see the module notes).

    Raises:
        InvalidInput: the key is empty or not a string.
    """
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"the key for {prefix.rstrip('-')} must be a non-empty string")
    if _PLAIN_KEY.fullmatch(key):
        return check_name(prefix + key)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    slug = _OTHER.sub("-", key)[:40]
    return check_name(f"{prefix}{slug}-{digest}")


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def posix(moment: datetime | float | None) -> float | None:
    """POSIX seconds from a datetime (naive = UTC, as google-auth uses) or a number."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, int | float):
        raise InvalidInput("expires_at must be a datetime or POSIX seconds")
    return float(moment)


class KeyedStore:
    """Opens (or borrows) a vault; closes only what it opened."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None,
        passphrase: str | None,
        vault: Vault | None,
        create: bool,
    ) -> None:
        if vault is not None:
            self._vault, self._owned = vault, False
            return
        from vault.services.opening import init_vault, open_vault

        try:
            self._vault = open_vault(home, passphrase)
        except NoVault:
            if not create:
                raise
            self._vault = init_vault(home, passphrase=passphrase)
        self._owned = True

    @property
    def vault(self) -> Vault:
        """The vault the records live in."""
        return self._vault

    def close(self) -> None:
        """Close the vault if this object opened it (a vault passed in stays open)."""
        if self._owned:
            self._vault.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _find(self, name: str, field: str, key: str) -> Credential | None:
        """The credential ``name`` if it exists and belongs to ``key``."""
        try:
            credential = self._vault.get(name)
        except NotFound:
            return None
        return credential if credential.extras.get(field) == key else None

    def _keys(self, prefix: str, field: str) -> list[str]:
        return sorted(
            str(c.extras[field])
            for c in self._vault.credentials()
            if c.name.startswith(prefix) and isinstance(c.extras.get(field), str)
        )

    def _delete(self, name: str, field: str, key: str) -> bool:
        if self._find(name, field, key) is None:
            return False
        try:
            self._vault.remove(name)
        except NotFound:  # removed meanwhile by someone else
            return False
        return True
