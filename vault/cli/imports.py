"""``tokendeck import gh|dotenv|netrc|token-storage``: tokens from where they live today.

Each shows its plan first (names, providers, accounts; never a secret), imports all of it or
nothing, leaves names already in the vault alone unless ``--replace``, and then offers to
shred the plaintext source (``--shred``, or a question on a terminal; never by default).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from vault.cli import route, terminal
from vault.errors import InvalidInput, NotFound, printable

if TYPE_CHECKING:
    from vault.services.imports import Incoming, Plan, Skipped
    from vault.services.tokens import Vault


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="import tokens from gh, a .env file, a .netrc or a plaintext TokenStorage")
    isub = p.add_subparsers(dest="import_source", metavar="SOURCE", required=True)

    def source(name: str, about: str) -> argparse.ArgumentParser:
        q = isub.add_parser(name, help=about)
        q.add_argument("--replace", action="store_true", help="overwrite credentials whose names are already taken")
        q.add_argument("--dry-run", action="store_true", help="show the plan and import nothing")
        q.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
        q.add_argument("--shred", action="store_true", help="afterwards, overwrite and delete the plaintext source")
        return q

    q = source("gh", "GitHub CLI's hosts.yml: every host and user ($GH_CONFIG_DIR honoured; keyring tokens too)")
    q.add_argument("--file", help="a hosts.yml elsewhere (default: gh's own)")
    q.set_defaults(handler=cmd_import_gh)
    q = source("dotenv", "each VAR=value of a .env file, as an api-key credential named after the variable")
    q.add_argument("file", metavar="FILE", help="the .env file")
    q.add_argument("--only", metavar="VAR,...", help="import only these variables")
    q.set_defaults(handler=cmd_import_dotenv)
    q = source("netrc", "one credential per machine of a .netrc (default $NETRC or ~/.netrc)")
    q.add_argument("file", metavar="FILE", nargs="?", help="the netrc file")
    q.set_defaults(handler=cmd_import_netrc)
    q = source("token-storage", "the plaintext SQLite TokenStorage database (jira_tokens, gdrive_tokens)")
    q.add_argument("file", metavar="DB", help="the SQLite file the original TokenStorage wrote")
    q.set_defaults(handler=cmd_import_token_storage)


def cmd_import_gh(args: argparse.Namespace) -> int:
    from vault.services.import_sources import gh_hosts_file, read_gh

    path = Path(args.file) if args.file else gh_hosts_file(os.environ)
    shredding = "Shredding it signs gh out (gh auth login then keeps its token in the OS keyring)."
    return _import(args, path, lambda: read_gh(path), shredding=shredding)


def cmd_import_dotenv(args: argparse.Namespace) -> int:
    from vault.services.import_sources import read_dotenv

    only = [v.strip() for v in args.only.split(",") if v.strip()] if args.only else None
    path = Path(args.file)
    return _import(args, path, lambda: read_dotenv(path, only))


def cmd_import_netrc(args: argparse.Namespace) -> int:
    from vault.services.import_sources import netrc_file, read_netrc

    path = Path(args.file) if args.file else netrc_file(os.environ)
    return _import(args, path, lambda: read_netrc(path))


def cmd_import_token_storage(args: argparse.Namespace) -> int:
    import sqlite3

    from vault.core.outside import require_regular
    from vault.integrations.compat import TokenStorage
    from vault.integrations.plaintext_import import incoming, migrate, read_rows

    path = Path(args.file)
    require_regular(path)  # SQLite would block on a FIFO, and read /dev/zero as an empty database
    try:
        rows = read_rows(path.resolve())
    except sqlite3.Error:
        rows = None
    if rows is None:
        raise InvalidInput(f"{path} is not a TokenStorage database (no jira_tokens or gdrive_tokens table)")

    def store(vault: Vault, plan: Plan) -> int:
        storage = TokenStorage(vault=vault, import_plaintext=False)
        return migrate(storage, path.resolve(), rows, {c.name for c in plan.writes})

    return _import(args, path, lambda: incoming(*rows), store=store)


def _import(
    args: argparse.Namespace,
    path: Path,
    read: Callable[[], Iterable[Incoming | Skipped]],
    *,
    store: Callable[[Vault, Plan], int] | None = None,
    shredding: str = "",
) -> int:
    found = list(read())  # the source's errors before the vault is unlocked
    if store is not None:
        return _import_here(args, path, found, store, shredding)
    from vault.services.file_commands import found_fields

    request = {"source": str(path), "found": found_fields(found), "replace": args.replace}
    with route.Route() as via:
        planned = via.command("import-plan", **request)
        route.show(planned)
        facts = route.data(planned)
        if (stop := _go_ahead(args, path, facts.get("writes") or 0, keep=bool(facts.get("keep")))) is not None:
            return stop
        route.show(via.command("import", **request))
    if facts.get("plaintext"):
        _offer_shred(args, path, shredding)
    return 0


def _import_here(
    args: argparse.Namespace,
    path: Path,
    found: list[Incoming | Skipped],
    store: Callable[[Vault, Plan], int],
    shredding: str,
) -> int:
    """An import stored by ``store`` on the vault opened here (``token-storage``: the library's
    TokenStorage stores it, see :mod:`vault.cli.route`)."""
    from vault.services.imports import plan

    with terminal.open_vault() as vault:
        planned = plan(vault, str(path), found, replace=args.replace)
        print(printable(f"from {path}:"), file=sys.stderr)
        for line in planned.lines() or ["  (nothing)"]:
            print(line, file=sys.stderr)
        if (stop := _go_ahead(args, path, len(planned.writes), keep=bool(planned.keep))) is not None:
            return stop
        done = store(vault, planned)
    terminal.notice(f"imported {done} credential{'s' if done != 1 else ''} from {path}")
    if planned.plaintext:
        _offer_shred(args, path, shredding)
    return 0


def _offer_shred(args: argparse.Namespace, path: Path, shredding: str) -> None:
    """Shred the source when asked (``--shred``, or yes on a terminal); else say it is still there."""
    from vault.services.imports import shred

    question = " ".join(
        part for part in (f"{path} still holds the tokens in plaintext.", shredding, "Shred it now?") if part
    )
    if args.shred or (terminal.interactive() and terminal.confirm(question)):
        shred(path)
        terminal.notice(f"shredded {path} (on SSDs and copy-on-write disks old blocks may survive)")
    else:
        terminal.notice(f"{path} still holds the tokens in plaintext: delete it when you are ready (--shred, shred -u)")


def _go_ahead(args: argparse.Namespace, path: Path, count: int, *, keep: bool) -> int | None:
    """After the plan is shown: None to import ``count`` credentials, else the exit code to stop
    with (nothing new, a dry run, or the user said no).

    Raises:
        NotFound: nothing to import at all.
        InvalidInput: no --yes, and nobody to ask.
    """
    if not count:
        if keep:
            terminal.notice("nothing new to import: every name is taken (--replace overwrites them)")
            return 0
        raise NotFound(f"nothing to import from {path}; the vault was not changed")
    if args.dry_run:
        terminal.notice(f"dry run: {count} would be imported; nothing was changed")
        return 0
    if not args.yes:
        if not terminal.interactive():
            raise InvalidInput(f"not importing {count} credentials without confirmation: pass --yes")
        if not terminal.confirm(f"Import {count} credential{'s' if count != 1 else ''} into the vault?"):
            terminal.notice("nothing was imported")
            return 1
    return None
