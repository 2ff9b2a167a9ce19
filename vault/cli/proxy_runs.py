"""``tokendeck proxy runs``: the recent runs of ``tokendeck proxy run``, newest first, one line
each, read out of the audit log by :mod:`vault.services.proxy_runs` (the rule the TUI's "Proxy
runs" dialog uses too); the id on each line is what ``tokendeck audit --run ID`` takes."""

from __future__ import annotations

import argparse

from vault.cli import route, terminal
from vault.errors import InvalidInput


def add_parser(inner: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = inner.add_parser(
        "runs",
        help="the recent proxy runs: command, credentials, how long, exit code, substitutions, refusals",
        description="The recent runs of tokendeck proxy run, newest first, one line each: its id (for "
        "tokendeck audit --run ID), when it started, the command's name, the credentials it allowed, how "
        "long it took (or 'running': no end is recorded yet), its exit code, and how many requests got a "
        "token substituted or were refused.",
        epilog="Piped, the columns are separated by tabs and times are ISO 8601. exit codes: 0 (also when "
        "there is none: said on stderr); 2 a bad --limit.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--limit", type=int, metavar="N", help="only the newest N runs")
    p.set_defaults(handler=cmd_proxy_runs)


def cmd_proxy_runs(args: argparse.Namespace) -> int:
    from vault.services.protocol import Report
    from vault.services.proxy_runs import runs_report
    from vault.services.tokens import Vault

    if args.limit is not None and args.limit < 1:
        raise InvalidInput("--limit must be at least 1")
    as_json, human = args.json, terminal.human_times()

    def local(vault: Vault) -> Report:
        out, err = runs_report(vault.records, limit=args.limit, as_json=as_json, human=human)
        return Report(out, err)

    fields = (str(args.limit or ""), "json" if as_json else "text", "human" if human else "iso")
    return route.report("proxy-runs", *fields, local=local)
