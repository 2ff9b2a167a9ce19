"""A ``tokendeck proxy run``'s vault work, done by whoever holds the vault: the agent (its
``proxy-setup`` and ``proxy-audit`` requests, :mod:`vault.agent.ops`) or the command itself when
no unlocked agent serves the vault.  One function each, so both ways give the same answer.

- :func:`setup`: every allowed credential (all exist before anything else is looked at: exit 5),
  the catalog entry it builds on, the hosts its token may go to (the ``--allow`` list, else
  :func:`~vault.services.proxy_hosts.catalog_hosts`; none known: exit 2), its stored access token
  (to shape its placeholder and to find it in the command's environment), and the vault's proxy
  CA (:func:`~vault.services.proxy_ca.authority_for`: made on first use).
- :func:`record`: the run's audit rows (its start and end, each substitution or refusal), many in
  one commit; only the proxy's own actions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vault.core.secret import Secret
from vault.errors import InvalidInput

if TYPE_CHECKING:
    from vault.core.model import Credential
    from vault.core.providers import Provider
    from vault.services.tokens import Vault

Allowed = Sequence[tuple[str, "tuple[str, ...] | None"]]
"""``--allow`` as parsed: each name with the hosts given for it (None: the catalog's)."""
ACTIONS = frozenset({"proxy", "proxy-run"})
"""The audit actions a run writes."""


@dataclass(frozen=True)
class Planned:
    """One allowed credential, as the run needs it."""

    name: str
    base: str
    hosts: tuple[str, ...]
    token: Secret | None


@dataclass(frozen=True)
class ProxySetup:
    """What a run needs from the vault before it starts anything."""

    credentials: tuple[Planned, ...]
    ca_cert_pem: bytes
    ca_key_pem: Secret

    def fields(self) -> list[str]:
        """The agent's answer: one JSON field (secrets in it: the socket is this user's only)."""
        return [
            json.dumps(
                {
                    "credentials": [
                        [c.name, c.base, list(c.hosts), c.token.reveal() if c.token else None] for c in self.credentials
                    ],
                    "ca_cert": self.ca_cert_pem.decode("ascii"),
                    "ca_key": self.ca_key_pem.reveal(),
                }
            )
        ]

    @classmethod
    def from_fields(cls, fields: list[str]) -> ProxySetup:
        data = json.loads(fields[0])
        return cls(
            tuple(
                Planned(str(name), str(base), tuple(map(str, hosts)), Secret(token) if token else None)
                for name, base, hosts, token in data["credentials"]
            ),
            str(data["ca_cert"]).encode("ascii"),
            Secret(str(data["ca_key"])),
        )


def _plan(vault: Vault, name: str) -> tuple[Credential, str, Provider | None]:
    """The credential, the catalog entry it builds on, and its resolved provider (when known)."""
    from vault.core.providers import builtin, resolve
    from vault.errors import NotFound

    credential = vault.get(name)
    if credential.kind == "oauth":
        try:
            registration = vault.records.get_client(credential.provider)
        except NotFound:
            return credential, credential.provider, None
        return credential, registration.base, resolve(registration)
    try:
        return credential, credential.provider, builtin(credential.provider)
    except NotFound:
        return credential, credential.provider, None


def setup(vault: Vault, allowed: Allowed) -> ProxySetup:
    """A run's setup (see the module).

    Raises:
        NotFound: an allowed name is not in the vault (exit 5).
        InvalidInput: no host is known for one (exit 2).
    """
    from vault.core.masking import echo
    from vault.services.proxy_ca import authority_for
    from vault.services.proxy_hosts import catalog_hosts

    plans = {name: _plan(vault, name) for name, _ in allowed}  # every name exists before anything starts
    planned = []
    for name, given in allowed:
        credential, base, provider = plans[name]
        hosts = given or catalog_hosts(credential, base, provider)
        if not hosts:
            raise InvalidInput(f"no host is known for {echo(name)}: say where it may go with --allow {name}=HOST")
        planned.append(Planned(name, base, tuple(hosts), credential.access_token))
    authority = authority_for(vault.records, vault.records.paths.home, vault.records.clock.now())
    return ProxySetup(tuple(planned), authority.cert_pem, authority.key_pem)


def allowed_to_field(allowed: Allowed) -> str:
    """``--allow`` as the agent's request carries it (one JSON field)."""
    return json.dumps([[name, list(hosts) if hosts else None] for name, hosts in allowed])


def allowed_from_field(field: str) -> list[tuple[str, tuple[str, ...] | None]]:
    """The inverse of :func:`allowed_to_field`.

    Raises:
        InvalidInput: not what :func:`allowed_to_field` makes.
    """
    try:
        data = json.loads(field)
        return [(str(name), tuple(map(str, hosts)) if hosts else None) for name, hosts in data]
    except (ValueError, TypeError) as exc:
        raise InvalidInput("a malformed proxy-setup request; nothing was done") from exc


Row = tuple[str, str, "str | None", "str | None", float]
"""One audit row: action, outcome, credential, detail, and when it happened (a row written later,
after the agent was locked, keeps its own time)."""


def record(vault: Vault, rows: Sequence[Row]) -> None:
    """Write a run's audit rows in one commit.

    Raises:
        InvalidInput: a row that is not one of a run's (:data:`ACTIONS`).
    """
    if any(row[0] not in ACTIONS for row in rows):
        raise InvalidInput("a proxy-audit request with an action that is not the proxy's; nothing was written")
    vault.records.record_many(rows)


def rows_to_field(rows: Sequence[Row]) -> str:
    return json.dumps([list(row) for row in rows])


def rows_from_field(field: str) -> list[Row]:
    """The inverse of :func:`rows_to_field`.

    Raises:
        InvalidInput: not what :func:`rows_to_field` makes.
    """
    try:
        data: Any = json.loads(field)
        return [
            (str(a), str(o), None if c is None else str(c), None if d is None else str(d), float(t))
            for a, o, c, d, t in data
        ]
    except (ValueError, TypeError) as exc:
        raise InvalidInput("a malformed proxy-audit request; nothing was written") from exc
