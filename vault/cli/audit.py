"""``tokendeck audit``: who did what, when.  The log never holds a token."""

from __future__ import annotations

import argparse
import sys

from vault.cli import terminal
from vault.errors import InvalidInput


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="show the audit log (never contains tokens)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--name", help="only events of this credential")
    p.add_argument("--limit", type=int, metavar="N", help="only the newest N events")
    p.set_defaults(handler=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    from vault.core.timefmt import iso

    if args.limit is not None and args.limit < 1:
        raise InvalidInput("--limit must be at least 1")
    with terminal.open_vault() as vault:
        events = vault.audit_log(credential=args.name, limit=args.limit)
    if args.json:
        terminal.print_json([e.public() for e in events])
        return 0
    rows = [[iso(e.at) or "", e.credential or "-", e.action, e.outcome, e.detail or ""] for e in events]
    if terminal.human_times():  # a person: aligned columns under a header
        from vault.services.listing import table

        if rows:
            sys.stdout.write(table([["TIME", "CREDENTIAL", "ACTION", "OUTCOME", "DETAIL"], *rows]))
        return 0
    for row in rows:
        print("  ".join(row).rstrip())
    return 0
