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

    The mapping from key to name is injective: two different keys never share a
    credential.  A key is used as it is when it is made only of the vault's name
    characters (``A-Z a-z 0-9 . _ @ + -``), is at most 64 characters long, does not
    start with ``-`` and has no ``--`` in it.  Any other key is written after ``--``
    with every other character (and ``-``) escaped as ``-<hex code point>-``, so
    ``"a b"`` is ``jira-user-`` + ``--`` + ``a-20-b``.  A key too long for that is
    ``---h`` and the first 40 hex digits of its SHA-256.  Each of the three forms is recognisable
    from the others, and each is decoded in one way only.  The original key is also
    kept in the credential's ``extras`` (``user_id`` / ``organization_id``), which is
    what the listing methods return and what every read checks.

    Records written before this scheme (a slug and a 10-digit hash) are still found
    under their old names, and move to the new name when they are next written.

Times
    ``created_at``, ``updated_at`` and ``expiry`` are ISO 8601 strings in UTC
    with microseconds and an explicit offset, as ``datetime.isoformat()`` gives
    them: ``2026-11-22T11:57:46.123456+00:00``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from datetime import UTC, datetime
from typing import Self

from vault.core.model import Credential, check_name
from vault.errors import AlreadyExists, InvalidInput, NotFound, NoVault
from vault.services.tokens import Vault

JIRA_PREFIX = "jira-user-"
GDRIVE_PREFIX = "gdrive-user-"
LINEAR_PREFIX = "linear-org-"
JIRA_PROVIDER = "jira-dc"
GOOGLE_BASE = "google"

_PLAIN_KEY = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+")
_OTHER = re.compile(r"[^A-Za-z0-9._@+-]")
MAX_NAME = 100
"""The vault's longest credential name."""


def credential_name(prefix: str, key: str) -> str:
    """The vault credential name for ``key`` under ``prefix``: injective (see the module notes).

    Raises:
        InvalidInput: the key is empty or not a string.
    """
    if not isinstance(key, str):
        raise InvalidInput(f"the key for {prefix.rstrip('-')} must be a string")
    if _PLAIN_KEY.fullmatch(key) and not key.startswith("-") and "--" not in key:
        return check_name(prefix + key)
    escaped = "".join(c if c in _SAFE else f"-{ord(c):x}-" for c in key)
    if len(prefix) + 2 + len(escaped) <= MAX_NAME:
        return check_name(f"{prefix}--{escaped}")
    return check_name(f"{prefix}---h{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}")


def legacy_name(prefix: str, key: str) -> str | None:
    """The name this key had before the scheme above, when it differs (found on read)."""
    if not key:
        return None
    if _PLAIN_KEY.fullmatch(key):
        old = prefix + key
    else:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        old = f"{prefix}{_OTHER.sub('-', key)[:40]}-{digest}"
    return old if old != credential_name(prefix, key) else None


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
        self._closed = False
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
        if self._owned and not self._closed:
            self._vault.close()
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _find(self, prefix: str, field: str, key: str) -> Credential | None:
        """The credential of ``key``, under its name or the name it had before the injective
        scheme; only if its ``extras`` say it belongs to ``key``."""
        for name in (credential_name(prefix, key), legacy_name(prefix, key)):
            if name is None:
                continue
            try:
                credential = self._vault.get(name)
            except NotFound:
                continue
            if credential.extras.get(field) == key:
                return credential
        return None

    def _keys(self, prefix: str, field: str) -> list[str]:
        """Every key with a record, in the order the records were first stored."""
        return [
            str(c.extras[field])
            for c in self._vault.records.credentials_stored_in_order(prefix)
            if isinstance(c.extras.get(field), str)
        ]

    def _claim(self, prefix: str, field: str, key: str) -> tuple[str, str | None]:
        """The name to write ``key``'s record under, and the old name of a record to remove
        once it is written (:meth:`_retire`).

        Raises:
            AlreadyExists: another key's record holds the name (it never should).
        """
        name = credential_name(prefix, key)
        found = self._find(prefix, field, key)
        if found is None and self._vault.records.exists(name):
            raise AlreadyExists(f"{name} belongs to another {field}; nothing was written")
        return name, found.name if found is not None and found.name != name else None

    def _retire(self, stale: str | None) -> None:
        """Remove a record that was written again under its new name."""
        if stale is not None:
            with contextlib.suppress(NotFound):
                self._vault.remove(stale)

    def _delete(self, prefix: str, field: str, key: str) -> bool:
        found = self._find(prefix, field, key)
        if found is None:
            return False
        try:
            self._vault.remove(found.name)
        except NotFound:  # removed meanwhile by someone else
            return False
        return True
