"""``tokendeck scan``'s two requests to the vault (:mod:`vault.services.commands`), the same whether
the agent holds the vault or the command opened it: what to look for, and the audit row after.

``scan-material`` hands the scanning process the automaton's input: the current secrets, the scan
key and the previous values' keyed hashes (a read, served on the agent's own socket only, never
through a forward or to a proxy run's session: :data:`vault.agent.forwarding.SERVED_OPS`).  The
scan then runs in the command's process, which reads the user's files; the agent reads none.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from vault.services.protocol import Report
from vault.services.tokens import Vault


def material(vault: Vault) -> Report:
    """What a scan looks for, as ``data`` (JSON, never printed): ``current`` (credential, kind,
    value), ``key`` (hex), ``previous`` (credential, kind, length, digest hex)."""
    current: list[tuple[str, str, str]] = []
    for credential in vault.records.credentials():
        kinds = (
            (("static token" if credential.kind == "static" else "access token"), credential.access_token),
            ("refresh token", credential.refresh_token),
        )
        current += [(credential.name, kind, secret.reveal()) for kind, secret in kinds if secret]
    for client in vault.records.clients():
        if client.client_secret:
            current.append((f"client of {client.provider}", "client secret", client.client_secret.reveal()))
    superseded = vault.records.superseded
    previous = [(p.credential, p.kind, p.length, p.digest.hex()) for p in superseded.entries()]
    key = superseded.scan_key().reveal().encode("latin-1").hex()
    return Report(data=json.dumps({"current": current, "key": key, "previous": previous}))


def done(vault: Vault, *, places: int, files: int, findings: int, live: int, interrupted: bool = False) -> Report:
    """One audit row for a scan: how many places, files and copies (never where, never a secret)."""
    outcome = "interrupted" if interrupted else ("found" if findings else "ok")
    detail = f"places={places} files={files} findings={findings} live={live}"
    vault.records.record("scan", outcome, detail=detail)
    return Report()


COMMANDS: dict[str, Callable[..., Report]] = {"scan-material": material, "scan-done": done}
"""The requests :mod:`vault.services.commands` runs (``scan-material`` reads; ``scan-done`` writes the audit)."""
