"""One setting of a credential kept in its ``extras`` (JSON), changed alone: the rest of the row
(its tokens, which a refresh may be rotating meanwhile) is left as it is.  A part of
:class:`~vault.core.repository.Repository` (``repository.extras``); each change commits with its
audit row."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from vault.core.masking import echo
from vault.core.store import Store
from vault.errors import NotFound


class CredentialExtras:
    """Settings in a credential's ``extras``, on the repository's store."""

    def __init__(self, store: Store, audit: Callable[[Any, str | None, str, str, str | None], None]) -> None:
        self._store = store
        self._audit = audit

    def set(self, name: str, key: str, value: str | None, *, action: str, detail: str) -> None:
        """Set ``key`` to ``value`` (None: remove it) in credential ``name``'s extras, audited.

        Raises:
            NotFound: no such credential.
        """
        with self._store.transaction() as conn:
            row = conn.execute("SELECT extras FROM credentials WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"no credential named {echo(name)} (see tokendeck list)")
            extras = json.loads(row["extras"] or "{}")
            if value is None:
                extras.pop(key, None)
            else:
                extras[key] = value
            conn.execute("UPDATE credentials SET extras = ? WHERE name = ?", (json.dumps(extras), name))
            self._audit(conn, name, action, "ok", detail)
