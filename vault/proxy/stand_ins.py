"""For tests only: send the providers' hostnames to loopback servers that stand in for them.

``TOKENDECK_PROXY_RESOLVE=api.github.com=8443,github.com=8444`` makes the proxy of a
``tokendeck proxy run`` connect to ``127.0.0.1:8443`` for ``api.github.com`` (the client still
asks for ``api.github.com``, and the stand-in's certificate must name it), and
``TOKENDECK_PROXY_UPSTREAM_CA=FILE`` makes it verify upstream certificates against FILE instead of
the system's CAs.  That is how the end-to-end tests run curl, git, gh and Node through the real
command with no traffic leaving the machine.

Only loopback ports can be named, never another machine; and whenever either is set the command
says so on stderr before it starts anything, so a stray variable cannot quietly redirect tokens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from vault.errors import InvalidInput
from vault.settings import PROXY_RESOLVE_ENV, PROXY_UPSTREAM_CA_ENV

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class StandIns:
    """Where the proxy connects instead (hostname -> loopback address), and the CA file upstream
    certificates are checked against (None: the system's)."""

    resolve: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    upstream_cafile: str | None = None

    def warning(self) -> str | None:
        """The one line the command prints when stand-ins are in effect (None when none are)."""
        if not self.resolve and self.upstream_cafile is None:
            return None
        parts = [f"{host} -> {LOOPBACK}:{port}" for host, (_, port) in sorted(self.resolve.items())]
        if self.upstream_cafile is not None:
            parts.append(f"upstream certificates checked against {self.upstream_cafile}")
        return f"test stand-ins in effect ({PROXY_RESOLVE_ENV}/{PROXY_UPSTREAM_CA_ENV}): " + "; ".join(parts)


def stand_ins(environ: Mapping[str, str]) -> StandIns:
    """The stand-ins ``environ`` names (none, normally).

    Raises:
        InvalidInput: a malformed entry, a port that is not 1-65535, a CA file that is not there
            (exit 2).
    """
    resolve: dict[str, tuple[str, int]] = {}
    for entry in environ.get(PROXY_RESOLVE_ENV, "").split(","):
        if not entry.strip():
            continue
        host, sep, port = entry.strip().rpartition("=")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidInput(f"{PROXY_RESOLVE_ENV}: each entry is HOST=PORT (a port on {LOOPBACK})")
        resolve[host.lower()] = (LOOPBACK, int(port))
    cafile = environ.get(PROXY_UPSTREAM_CA_ENV) or None
    if cafile is not None and not os.path.isfile(cafile):
        raise InvalidInput(f"{PROXY_UPSTREAM_CA_ENV}: no such file")
    return StandIns(resolve, cafile)
