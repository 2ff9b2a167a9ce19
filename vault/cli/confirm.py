"""``tokendeck confirm NAME on|once|off``: a credential that asks before each use (or once per
session), whoever reads it (:mod:`vault.services.consent_setting`)."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "confirm",
        help="make a credential ask before each use (on), once per session (once), or not (off)",
        description="With on, every read of NAME waits for your yes: through the agent (sessions or not), "
        "asked in the TUI, a desktop notification or the reading session's terminal; no answer in time is no. "
        "With once, the first read in each session (tokendeck exec --session, proxy run) waits for it, and "
        "every read outside a session. tokendeck show NAME says whether it asks.",
    )
    p.add_argument("name", help="the credential")
    p.add_argument(
        "setting", choices=("on", "once", "off"), help="on: a yes before each use; once: once per session; off: none"
    )
    p.set_defaults(handler=cmd_confirm)


def cmd_confirm(args: argparse.Namespace) -> int:
    from vault.cli import route

    return route.command("confirm", name=args.name, on=args.setting != "off", once=args.setting == "once")
