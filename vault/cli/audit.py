"""``tokendeck audit``: who did what, when.  The log never holds a token."""

from __future__ import annotations

import argparse

from vault.cli import route, terminal
from vault.errors import InvalidInput


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit",
        help="show the audit log (never contains tokens)",
        description="The audit log, oldest first: every change, sign-in, refresh, export, and every token "
        "handed out with its reader (the program and its pid, a session's id). tokendeck audit NAME shows one "
        "credential's, its last readers among them.",
    )
    p.add_argument("credential", nargs="?", metavar="NAME", help="only events of this credential (as --name)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--name", help="only events of this credential")
    p.add_argument("--limit", type=int, metavar="N", help="only the newest N events")
    p.add_argument("--run", metavar="ID", help="only the events of one proxy run (tokendeck proxy runs lists them)")
    p.set_defaults(handler=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    from vault.services import reports
    from vault.services.proxy_runs import check_run_id

    if args.limit is not None and args.limit < 1:
        raise InvalidInput("--limit must be at least 1")
    if args.credential is not None:
        if args.name is not None and args.name != args.credential:
            raise InvalidInput("give the credential once: tokendeck audit NAME, or --name NAME")
        args.name = args.credential
    as_json, human = args.json, terminal.human_times()
    run = check_run_id(args.run) if args.run is not None else None
    fields = (args.name or "", str(args.limit or ""), "json" if as_json else "text", "human" if human else "iso")
    return route.report(
        "audit",
        *fields,
        *([run] if run else []),  # an older agent takes four fields: it is asked for --run only
        local=lambda vault: reports.audit(
            vault, name=args.name, limit=args.limit, as_json=as_json, human=human, run=run
        ),
    )
