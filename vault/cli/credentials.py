"""``tokendeck add``, ``list``, ``show``, ``token``, ``rm`` and ``rename``: the credentials themselves.

A running, unlocked agent does their vault work (:mod:`vault.cli.route`); without one they
open the vault here.  ``token`` and ``list`` ask the agent first (:mod:`vault.cli.fast`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from vault.cli import route, terminal
from vault.errors import InvalidInput

if TYPE_CHECKING:
    pass


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("add", help="store a static token (read from stdin or a hidden prompt)")
    p.add_argument("name", help="a name for it, e.g. github-pat")
    p.add_argument("--provider", required=True, help="what it is for, e.g. github-pat, jira-dc, api-key")
    p.add_argument("--account", help="the account it belongs to")
    p.add_argument("--expires", metavar="WHEN", help="expiry: 2026-12-31, 2026-12-31T12:00:00Z or 90d")
    p.add_argument("--server-url", help="server it is for (Jira Data Center and other self-hosted)")
    p.add_argument("--username", help="user name on that server")
    p.add_argument("--replace", action="store_true", help="overwrite an existing credential of that name")
    p.set_defaults(handler=cmd_add)

    p = sub.add_parser("list", help="list credentials and their status")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("show", help="every fact about a credential, without its secrets")
    p.add_argument("name", help="the credential")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("token", help="print a credential's token and nothing else, for $(...)")
    p.add_argument("name", help="the credential (refreshed first if it is due)")
    p.set_defaults(handler=cmd_token)

    p = sub.add_parser("rm", help="delete a credential from the vault")
    p.add_argument("name", help="the credential")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_rm)

    p = sub.add_parser("rename", help="rename a credential")
    p.add_argument("old", help="its name now")
    p.add_argument("new", help="the name it gets (its history and export bindings follow)")
    p.set_defaults(handler=cmd_rename)


def cmd_add(args: argparse.Namespace) -> int:
    from vault.core.clock import SystemClock
    from vault.services import static_tokens

    # Everything is checked before anything is unlocked or read, so nobody pastes a token for nothing.
    now = SystemClock().now()
    static_tokens.check(
        args.name,
        args.provider,
        now=now,
        account=args.account,
        expires=args.expires,
        server_url=args.server_url,
        username=args.username,
        replacing=args.replace,
    )
    with route.Route() as via:
        via.command("add-check", name=args.name, replace=args.replace)
        token = terminal.read_secret(f"Token for {args.name}")
        return route.show(
            via.command(
                "add",
                name=args.name,
                provider=args.provider,
                token=token,
                now=now,
                account=args.account,
                expires=args.expires,
                server_url=args.server_url,
                username=args.username,
                replace=args.replace,
            )  # fmt: skip
        )


def cmd_list(args: argparse.Namespace) -> int:
    from vault.services.listing import list_output

    with terminal.open_vault() as vault:
        out, err = list_output(vault.records, as_json=args.json, human=terminal.human_times())
    sys.stderr.write(err)
    sys.stdout.write(out)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from vault.services import reports

    as_json, human = args.json, terminal.human_times()
    shape, times = ("json" if as_json else "text"), ("human" if human else "iso")
    return route.report(
        "show",
        args.name,
        shape,
        times,
        local=lambda vault: reports.show(vault, args.name, as_json=as_json, human=human),
    )


def cmd_token(args: argparse.Namespace) -> int:
    from vault.cli.consent_terminal import allow_here

    with terminal.open_vault() as vault:
        allow_here(vault, [args.name], "token")
        token = vault.token(args.name)
    sys.stdout.write(token + "\n")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    with route.Route() as via:
        if not args.yes:
            provider = route.data(via.command("describe", name=args.name)).get("provider")
            if not terminal.interactive():
                raise InvalidInput(f"not deleting {args.name} without confirmation: pass --yes")
            if not terminal.confirm(f"Delete {args.name} ({provider}) from the vault?"):
                terminal.notice("nothing deleted")
                return 1
        return route.show(via.command("rm", name=args.name))


def cmd_rename(args: argparse.Namespace) -> int:
    return route.command("rename", old=args.old, new=args.new)
