"""``tokendeck refresh`` and ``tokendeck revoke``: a credential's life at its provider."""

from __future__ import annotations

import argparse

from vault.cli import route, terminal
from vault.errors import InvalidInput


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("refresh", help="refresh an OAuth credential now, or everything due (--due)")
    p.add_argument("name", nargs="?", help="the credential to refresh")
    p.add_argument("--due", action="store_true", help="refresh every credential expiring within --within")
    p.add_argument("--within", metavar="WHEN", help="with --due: the window (default 5m)")
    p.set_defaults(handler=cmd_refresh)

    p = sub.add_parser("revoke", help="revoke a credential at its provider, then erase it from the vault")
    p.add_argument("name", help="the credential")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--local", action="store_true", help="where the provider cannot revoke by API, erase locally")
    p.set_defaults(handler=cmd_revoke)


def cmd_refresh(args: argparse.Namespace) -> int:
    from vault.core.timefmt import parse_duration
    from vault.services import reports

    if bool(args.name) == bool(args.due):
        raise InvalidInput("name one credential, or pass --due")
    if args.within:
        parse_duration(args.within)  # a bad window is said before anything is asked
    return route.report(
        "refresh-now",
        args.name or "",
        args.within or "",
        local=lambda vault: reports.refresh(vault, args.name, due_within=args.within),
    )


def cmd_revoke(args: argparse.Namespace) -> int:
    local = args.local
    with route.Route() as via:
        if not args.yes:
            plan = route.data(via.command("revoke-plan", name=args.name))
            if not terminal.interactive():
                raise InvalidInput(f"not revoking {args.name} without confirmation: pass --yes")
            provider, why = plan.get("provider") or "its provider", plan.get("reason") or "no revocation by API"
            what = (
                f"Revoke {args.name} at {provider} and erase it from the vault?"
                if plan.get("by_api")
                else f"Cannot revoke at the provider: {why}. Erase {args.name}'s tokens from the vault?"
            )
            if not terminal.confirm(what):
                terminal.notice("nothing revoked")
                return 1
            local = local or not plan.get("by_api")
        return route.show(via.command("revoke", name=args.name, local=bool(local)))
