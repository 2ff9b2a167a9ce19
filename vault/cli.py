"""The ``tokendeck`` command: argument parsing, dispatch and the error boundary.

Data goes to stdout, messages to stderr, and every expected failure becomes one
line and a documented exit code (see :data:`vault.errors.EXIT_CODES`).  Secrets
are read from a pipe or a hidden prompt, never from argv.  Heavy imports (the
TUI above all) happen inside the command that needs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vault.errors import EXIT_CODES, VaultError

EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokendeck",
        description="An encrypted vault for your OAuth and API tokens. Without a command, opens the TUI.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="create the vault (OS keyring, or a passphrase where there is none)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--keyring", dest="mode", action="store_const", const="keyring", help="require the OS keyring")
    mode.add_argument(
        "--passphrase", dest="mode", action="store_const", const="passphrase", help="protect with a passphrase"
    )

    p = sub.add_parser("add", help="store a static token (read from stdin or a hidden prompt)")
    p.add_argument("name", help="a name for it, e.g. github-pat")
    p.add_argument("--provider", required=True, help="what it is for, e.g. github-pat, jira-dc, api-key")
    p.add_argument("--account", help="the account it belongs to")
    p.add_argument("--expires", metavar="WHEN", help="expiry: 2026-12-31, 2026-12-31T12:00:00Z or 90d")
    p.add_argument("--server-url", help="server it is for (Jira Data Center and other self-hosted)")
    p.add_argument("--username", help="user name on that server")
    p.add_argument("--replace", action="store_true", help="overwrite an existing credential of that name")

    p = sub.add_parser("list", help="list credentials and their status")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("show", help="every fact about a credential, without its secrets")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("token", help="print a credential's token and nothing else, for $(...)")
    p.add_argument("name")

    p = sub.add_parser("rm", help="delete a credential from the vault")
    p.add_argument("name")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    p = sub.add_parser("rename", help="rename a credential")
    p.add_argument("old")
    p.add_argument("new")

    p = sub.add_parser("passphrase", help="change how the vault is unlocked")
    psub = p.add_subparsers(dest="passphrase_command", metavar="ACTION", required=True)
    pc = psub.add_parser(
        "change",
        help="re-encrypt under a new passphrase (from $TOKENDECK_NEW_PASSPHRASE, a prompt or stdin), "
        "or with --keyring under a new key kept in the OS keyring",
    )
    pc.add_argument("--keyring", action="store_true", help="move to (or rotate) a random key in the OS keyring")

    p = sub.add_parser("audit", help="show the audit log (never contains tokens)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--name", help="only events of this credential")
    p.add_argument("--limit", type=int, metavar="N", help="only the newest N events")

    sub.add_parser("tui", help="open the terminal UI (the default)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    from vault import commands  # deferred: argparse's --help needs none of it

    handler = commands.HANDLERS[args.command or "tui"]
    try:
        return handler(args)
    except VaultError as exc:
        print(f"tokendeck: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tokendeck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
