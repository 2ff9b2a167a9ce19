"""Noticing what other processes do to an open vault, for front ends that stay open.

:class:`ChangeWatcher` asks the vault whether another connection committed (SQLite's
``PRAGMA data_version``, which reads no page, so asking every second costs nothing), and
when one did, hands back the audit events appended since it last looked.  The audit log
is the event stream: the agent's refreshes, its failures and expiry warnings, another
process's ``add`` or ``rm`` all leave a row there, and no row ever holds a secret.
"""

from __future__ import annotations

from vault.core.model import AuditEvent
from vault.core.repository import Repository

NOTABLE = {
    ("refresh", "failed"): "error",
    ("refresh", "dead_grant"): "error",
    ("refresh", "client_error"): "error",
    ("expiry-warning", "warned"): "warning",
}
"""The events worth a notification when another process (the agent) records them, and how severe."""


def warned_until(event: AuditEvent) -> float | None:
    """When the token an expiry warning is about runs out: the time its detail ends with
    (``static token expires 2026-12-09T13:04:24Z``, as the refresher writes it); None for
    another event, or a detail without one."""
    from datetime import datetime

    if (event.action, event.outcome) != ("expiry-warning", "warned") or not event.detail:
        return None
    try:
        return datetime.fromisoformat(event.detail.rsplit(" ", 1)[-1].replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class ChangeWatcher:
    """Polls one open vault for commits made by other connections.

    Args:
        vault: the open vault (this watcher reads it from whichever thread calls :meth:`poll`).
    """

    def __init__(self, vault: Repository) -> None:
        self.vault = vault
        self._version = vault.data_version()
        self._last_event, _ = vault.audit_since(None)

    def poll(self) -> list[AuditEvent] | None:
        """None when nothing changed since the last poll; else the audit events appended since
        (possibly none: a change such as a ``last used`` stamp leaves no event).

        Raises:
            VaultError: the vault could not be read (locked, busy, damaged).
        """
        version = self.vault.data_version()
        if version == self._version:
            return None
        self._version = version
        self._last_event, events = self.vault.audit_since(self._last_event)
        return events


def notable(events: list[AuditEvent]) -> list[tuple[AuditEvent, str]]:
    """The events among ``events`` worth telling the user about, each with its severity."""
    return [(e, NOTABLE[(e.action, e.outcome)]) for e in events if (e.action, e.outcome) in NOTABLE]
