"""The vault's side of ``scan --fix`` and the TUI's Leaks screen, as requests
(:mod:`vault.services.commands`: the agent, else the vault opened by the command): what each
credential's fixes depend on, the fixes that change the vault, and one audit row per step.

Every step is audited as action ``scan-fix`` with its outcome (``rotated``, ``revoked``,
``signed-in``, ``refreshed``, ``rewritten``, ``removed``, ``scrubbed``, ``declined``), the
credential and the path it was about; never a secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from vault.errors import InvalidInput, NotFound
from vault.services.leak_fixes import Facts
from vault.services.protocol import Report
from vault.services.reports import said
from vault.services.tokens import Vault

OUTCOMES = ("rotated", "revoked", "signed-in", "refreshed", "rewritten", "removed", "scrubbed", "declined", "failed")
"""The outcomes of a ``scan-fix`` audit row."""


def facts_of(vault: Vault, name: str) -> Facts | None:
    """What :func:`vault.services.leak_fixes.fixes_for` needs of credential ``name`` (None: not in the vault)."""
    from vault.core.providers import builtin, resolve
    from vault.services.revoke import revocation_plan

    try:
        credential = vault.get(name)
    except NotFound:
        return None
    provider = None
    revocable = False
    if credential.kind == "static":
        try:
            provider = builtin(credential.provider)
        except NotFound:
            provider = None
    else:
        registration = vault.records.get_client(credential.provider)
        provider = resolve(registration) if registration is not None else None
        try:
            revocable = revocation_plan(vault, credential).by_api
        except NotFound:
            revocable = False
    return Facts(
        name=name, kind=credential.kind, provider=credential.provider, revocable=revocable,
        rotates_refresh=bool(provider and provider.rotates_refresh_token),
        token_page=provider.register_url if provider else None,
        revoke_page=provider.revoke.manual_url if provider else None,
    )  # fmt: skip


def leak_facts(vault: Vault, *, names: list[str]) -> Report:
    """``data``: each named credential's :class:`Facts` (as a JSON object; absent when not in the vault)."""
    from dataclasses import asdict

    found = {n: asdict(f) for n in names if (f := facts_of(vault, n)) is not None}
    return Report(data=json.dumps(found))


def audit(vault: Vault, *, outcome: str, name: str, path: str = "") -> Report:
    """One ``scan-fix`` audit row (for the steps done outside the vault: a file, a decline)."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"a malformed scan-fix request (outcome {outcome[:20]!r}); nothing was done")
    vault.records.record("scan-fix", outcome, credential=name, detail=f"path={path}" if path else None)
    return Report()


def rotate(vault: Vault, *, name: str, token: str, path: str = "") -> Report:
    """Store a leaked static token's replacement (:func:`vault.services.static_tokens.rotate`)."""
    vault.replace(name, token)
    audit(vault, outcome="rotated", name=name, path=path)
    return Report(err=said(f"stored {name}'s new token"))


def revoke(vault: Vault, *, name: str, path: str = "") -> Report:
    """Revoke a leaked OAuth credential's grant at its provider (:func:`vault.services.revoke.revoke`)."""
    credential = vault.get(name)
    result = vault.revoke(name)
    if not result.revoked_at_provider:
        raise InvalidInput(f"{name} was not revoked: {result.reason or 'its provider cannot revoke it here'}")
    audit(vault, outcome="revoked", name=name, path=path)
    return Report(err=said(f"revoked {name} at {credential.provider}"))


def refresh(vault: Vault, *, name: str, path: str = "") -> Report:
    """Refresh a leaked OAuth credential now (its provider then refuses the leaked refresh token)."""
    vault.refresh(name)
    audit(vault, outcome="refreshed", name=name, path=path)
    return Report(err=said(f"refreshed {name}: the leaked refresh token is dead"))


COMMANDS: dict[str, Callable[..., Report]] = {
    "leak-facts": leak_facts,
    "scan-fix": audit,
    "leak-rotate": rotate,
    "leak-revoke": revoke,
    "leak-refresh": refresh,
}
"""The requests :mod:`vault.services.commands` runs (``leak-facts`` reads; the others write and audit)."""
