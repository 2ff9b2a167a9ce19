"""What the placeholder proxy is told (the rules) and what it tells (the events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal["substituted", "refused", "unauthenticated", "unsubstituted", "upstream-refused"]
"""``unsubstituted``: the credential needs signing in, so its placeholder went as it was;
``upstream-refused``: the host answered 401 or 403 to a request that carried the token."""


@dataclass(frozen=True)
class Rule:
    """Where one placeholder's credential may go: its name and the hosts it is for (lower case; a
    ``*.suffix`` allows the names below suffix, as vault.services.proxy_hosts.host_allowed reads them)."""

    credential: str
    hosts: frozenset[str]


@dataclass(frozen=True)
class ProxyEvent:
    """One substitution or refusal: never the token, never the query string."""

    kind: EventKind
    credential: str | None
    host: str
    method: str
    path: str
    reason: str
    client_port: int | None = None
    """The local port of the client's end of the connection (loopback): which process asked."""
    connection: int = 0
    """Which of the run's connections (a serial number): a port is reused once a connection closes."""

    @property
    def outcome(self) -> str:
        """What the audit log records as the outcome (vault/cli/proxy.py reads it): the kind."""
        return self.kind
