"""What ``tokendeck show``, ``audit`` and ``refresh`` print.  A running agent answers these
commands with this same text (:mod:`vault.agent.ops`), so a command that only needs the
vault the agent holds gives the same output and exit code with and without it, and asks
for no passphrase when the agent has it unlocked.
"""

from __future__ import annotations

import json
from typing import Any

from vault.core.timefmt import iso, moment, parse_duration, relative
from vault.errors import InvalidInput, printable
from vault.services.listing import table
from vault.services.protocol import Report
from vault.services.tokens import Vault


def said(*messages: str) -> str:
    """Lines for stderr as :func:`vault.cli.terminal.notice` prints them (``tokendeck: ...``,
    what they quote from outside escaped)."""
    return "".join(f"tokendeck: {printable(message)}\n" for message in messages)


def facts_text(facts: dict[str, Any]) -> str:
    """``key: value`` lines (lists and mappings flattened, None as ``-``), as ``show`` prints them."""
    lines = []
    for key, value in facts.items():
        if isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = " ".join(value) or "-"
        lines.append(f"{key.replace('_', ' ')}: {'-' if value is None else value}\n")
    return "".join(lines)


def show(vault: Vault, name: str, *, as_json: bool, human: bool) -> Report:
    """Every fact about ``name`` but its secrets; an active OAuth credential that is due is
    refreshed first (a failure is recorded on it and shown, not raised)."""
    from vault.errors import VaultError

    credential = vault.get(name)
    if credential.kind == "oauth" and credential.stored_status == "active":
        from vault.services.refreshing import fresh  # the network layer, loaded only for OAuth credentials

        try:
            credential = fresh(vault, name)
        except VaultError:
            credential = vault.get(name)
    now = vault.clock.now()
    facts = credential.public(now)
    from vault.services.consent_setting import ONCE, asking_setting

    setting = asking_setting(credential.extras)  # tokendeck confirm NAME on|once
    if setting is not None:
        when = "once per session" if setting == ONCE else "yes"
        facts["asks_before_each_use"] = f"{when} (tokendeck confirm {name} off stops it)"
    if as_json:
        return Report(json.dumps(facts, indent=2, ensure_ascii=False) + "\n")
    if human:  # a person: when, and how long from now
        for key, value in facts.items():
            if key.endswith("_at") and value is not None:
                facts[key] = moment(getattr(credential, key), now, past=not key.endswith("expires_at"))
    return Report(facts_text(facts))


AUDIT_COLUMNS = ["TIME", "CREDENTIAL", "ACTION", "OUTCOME", "DETAIL"]


def audit(
    vault: Vault, *, name: str | None, limit: int | None, as_json: bool, human: bool, run: str | None = None
) -> Report:
    """The audit log (never a token): newest ``limit`` events, of ``name`` only when given, of
    proxy run ``run`` only when given (:func:`vault.services.proxy_runs.run_events`: an unknown
    run is NotFound, exit 5)."""
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    if run:
        from vault.services.proxy_runs import run_events

        events = [e for e in run_events(vault.records, run) if not name or e.credential == name]
        events = events[-limit:] if limit is not None else events
    else:
        events = vault.records.audit_log(credential=name, limit=limit)
    if as_json:
        return Report(json.dumps([e.public() for e in events], indent=2, ensure_ascii=False) + "\n")
    rows = [[iso(e.at) or "", e.credential or "-", e.action, e.outcome, e.detail or ""] for e in events]
    if human:  # a person: aligned columns under a header
        return Report(table([AUDIT_COLUMNS, *rows]) if rows else "")
    return Report("".join("  ".join(printable(cell) for cell in row).rstrip() + "\n" for row in rows))


def refresh(vault: Vault, name: str | None, *, due_within: str | None = None) -> Report:
    """Refresh ``name`` now, or (``name`` None) every credential due within ``due_within``
    (default 5m): a line per refresh on stdout, the tally on stderr; exit 1 when one failed,
    4 when one needs sign-in."""
    from vault.services.refresher import BackgroundRefresher
    from vault.services.refreshing import refresh as refresh_now

    if name:
        credential = refresh_now(vault, name, force=True, confirmed=True)  # the user's word (a restored copy too)
        left = relative(credential.expires_at, vault.clock.now()) if credential.expires_at else "no expiry"
        return Report(err=f"tokendeck: refreshed {name} (expires {left})\n")
    window = parse_duration(due_within) if due_within else 300.0
    events = [e for e in BackgroundRefresher(vault, window=window).run_once() if e.kind != "expiring"]
    out = "".join(f"{event.credential}\t{event.kind}\t{event.detail}\n" for event in events)
    counts = {kind: sum(e.kind == kind for e in events) for kind in ("refreshed", "needs_login", "failed")}
    tally = (
        f"{counts['refreshed']} refreshed, {counts['needs_login']} need sign-in, {counts['failed']} failed"
        if events
        else "nothing is due"
    )
    code = 1 if counts["failed"] else 4 if counts["needs_login"] else 0
    return Report(out, f"tokendeck: {tally}\n", code)
