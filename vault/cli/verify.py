"""``tokendeck verify [NAME...]``: ask each provider whether the tokens still work
(the work is :mod:`vault.services.verify`, done by the agent when one runs: marking a
refused credential revoked is a change)."""

from __future__ import annotations

import argparse

from vault.cli import route


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="ask each provider whether its token still works; a refused one is marked revoked",
        description="Ask each provider whether the token is still good (GitHub /user, Slack auth.test, "
        "a userinfo endpoint, ...). Refused: marked revoked at the provider. Exit 0 when every token "
        "checked was accepted, 4 when one was refused, 7 when one could not be checked.",
    )
    p.add_argument("name", nargs="*", metavar="NAME", help="the credentials to check (default: every one)")
    p.add_argument("--refresh", action="store_true", help="refresh an expired OAuth access token first, then check")
    p.add_argument("--json", action="store_true", help="a JSON array of results on stdout")
    p.set_defaults(handler=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    from vault.core.model import check_name

    names = [check_name(name, "credential name") for name in args.name]
    return route.command("verify", names=names, refresh=bool(args.refresh), as_json=bool(args.json))
