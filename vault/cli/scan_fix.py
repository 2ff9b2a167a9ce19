"""``tokendeck scan --fix``: after the scan, for each credential with a live copy, one block
(where each copy is, never the secret), then each fix that fits, asked y/N on the terminal
(docs/scan.md, "Fixing what it found").  Nothing changes without a yes.

Which fixes fit is :mod:`vault.services.leak_fixes` (the TUI's Leaks screen asks the same);
the file edits are :mod:`vault.services.leak_files`, the vault's steps and their audit rows
:mod:`vault.services.leak_fix_requests`, sent through the command's :class:`~vault.cli.route.Route`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vault.cli import route, terminal
from vault.core.phrases import counted
from vault.errors import VaultError, printable
from vault.services import leak_fixes
from vault.services.leak_fixes import Facts, Fix

if TYPE_CHECKING:
    from vault.services.leak_files import Holds
    from vault.services.scan_match import Matcher
    from vault.services.scanning import Finding


def _say(line: str = "") -> None:
    print(printable(line), file=sys.stderr)


def holds_of(matcher: Matcher, name: str) -> Holds:
    """Whether a text holds a copy of ``name``'s live secret (the scan's matcher on it)."""

    def holds(text: str) -> bool:
        return any(h.who.credential == name and h.who.live for h in matcher.find(text.encode("utf-8", "replace")))

    return holds


def fix_all(way: route.Route, findings: list[Finding], matcher: Matcher) -> None:
    """One block per credential with copies (live first), each fix asked in turn."""
    groups = leak_fixes.by_credential(findings)
    live = [name for name, found in groups if any(f.live for f in found)]
    if not live:
        terminal.notice("nothing live to fix: old copies are dead already" if findings else "nothing to fix")
        return
    known = route.data(way.command("leak-facts", names=live))
    for name, found in groups:
        copies = [f for f in found if f.live]
        _say()
        if not copies:
            _say(f"{name}: {counted(len(found), 'old copy', 'old copies')} (a replaced value): no fix needed")
            continue
        _say(f"{name}: {counted(len(copies), 'live copy', 'live copies')}")
        for f in found:
            _say(f"  {leak_fixes.describe(f)}")
        facts = Facts(**known[name]) if isinstance(known.get(name), dict) else None
        if facts is None:
            _say(f"  {name} is not a credential in this vault: replace it where it was made")
        for fix in leak_fixes.fixes_for(facts, found):
            try:
                _fix(way, fix, facts, matcher)
            except VaultError as exc:
                terminal.notice(f"{exc.message}")
                _audit(way, "failed", fix)


def _audit(way: route.Route, outcome: str, fix: Fix) -> None:
    way.command("scan-fix", outcome=outcome, name=fix.credential, path=fix.path)


def _ask(way: route.Route, fix: Fix, question: str | None = None) -> bool:
    if fix.note:
        _say(f"  {fix.note}")
    if terminal.confirm(printable(question or fix.question)):
        return True
    _audit(way, "declined", fix)
    return False


def _fix(way: route.Route, fix: Fix, facts: Facts | None, matcher: Matcher) -> None:
    from vault.services import leak_files

    holds = holds_of(matcher, fix.credential)
    path = Path(fix.path)
    if fix.action == leak_fixes.ADVICE:
        _say(f"  {fix.note}")
    elif fix.action == leak_fixes.ROTATE:
        if _ask(way, fix):
            token = terminal.read_secret(f"The new token for {fix.credential}")
            if not token:
                terminal.notice("no token given; nothing was stored")
                _audit(way, "declined", fix)
                return
            route.show(way.command("leak-rotate", name=fix.credential, token=token))
    elif fix.action == leak_fixes.REVOKE:
        if _ask(way, fix):
            route.show(way.command("leak-revoke", name=fix.credential))
            _sign_in(way, fix, facts)
    elif fix.action == leak_fixes.REFRESH:
        if _ask(way, fix):
            route.show(way.command("leak-refresh", name=fix.credential))
    elif fix.action == leak_fixes.REWRITE:
        spec = leak_files.mcp_spec(path, fix.target, fix.credential, holds)
        if _ask(way, fix) and route.show(way.command("export", spec=spec, path=str(path))) == 0:
            _audit(way, "rewritten", fix)
    elif fix.action == leak_fixes.REMOVE:
        removal = leak_files.plan_line_removal(path, fix.lines, holds)
        if _ask(way, fix):
            leak_files.write_unchanged(removal)
            _say(f"  removed {counted(removal.removed, 'line')} from {fix.path}")
            _audit(way, "removed", fix)
    elif fix.action == leak_fixes.SCRUB:
        scrub = leak_files.plan_history(path, fix.lines, holds)
        if _ask(way, fix, leak_fixes.scrub_question(fix, scrub.removed)):
            leak_files.write_unchanged(scrub)
            _say(f"  removed {scrub.removed} entr{'y' if scrub.removed == 1 else 'ies'} from {fix.path}")
            _audit(way, "scrubbed", fix)


def _sign_in(way: route.Route, fix: Fix, facts: Facts | None) -> None:
    """Sign in again as ``tokendeck login PROVIDER --name NAME`` does (the same flow, in the browser)."""
    from vault.cli.signin import TerminalSignIn, _login_provider
    from vault.services.signin import DEFAULT_TIMEOUT

    provider = facts.provider if facts is not None else fix.credential
    args = argparse.Namespace(
        provider=provider, name=fix.credential, device=False, no_browser=False, replace_account=False
    )
    try:
        done = _login_provider(args, way, TerminalSignIn(), DEFAULT_TIMEOUT)
    except VaultError as exc:
        terminal.notice(f"{exc.message}; sign in later with: tokendeck login {provider} --name {fix.credential}")
        _audit(way, "failed", fix)
        return
    who = route.data(done).get("account")
    terminal.notice(f"signed in to {provider}" + (f" as {who}" if who else "") + f"; stored as {fix.credential}")
    _audit(way, "signed-in", fix)
