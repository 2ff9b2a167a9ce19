"""``tokendeck backup FILE``, ``tokendeck restore FILE`` and ``tokendeck restore --resume``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vault.cli import route, terminal
from vault.errors import InvalidInput
from vault.settings import NEW_PASSPHRASE_ENV


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "backup",
        help="write a consistent, still encrypted copy of the vault to FILE (safe while it is in use)",
        description="Write a consistent, still encrypted copy of the vault, taken by SQLite's online backup "
        "(so nothing still in the -wal is lost, as it is with a plain cp), with what is needed to open it. "
        "A keyring vault's backup opens only where the OS keyring holds its key: use --passphrase for one "
        "that travels.",
    )
    p.add_argument("file", metavar="FILE", help="the backup file to write")
    p.add_argument(
        "--passphrase",
        action="store_true",
        help=f"encrypt the backup under a new passphrase (from ${NEW_PASSPHRASE_ENV}, a prompt or stdin)",
    )
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser(
        "restore",
        help="replace the vault with a backup, once it is proven to open and pass its integrity check",
        description="Replace the vault with a backup made by `tokendeck backup`. The backup is checked first "
        "(its key opens it; every page and the schema pass their checks); the vault it replaces is kept, whole, "
        "in a dated folder beside it. Refused while another process (the agent, a TUI) has the vault open. "
        "Killed at any step, the vault opens as the old one or the restored one; a restore that could not "
        "finish is finished by the next command, or by restore --resume.",
    )
    p.add_argument("file", metavar="FILE", nargs="?", help="the backup to restore")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--resume", action="store_true", help="finish a restore that was cut short (no FILE)")
    p.set_defaults(handler=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> int:
    from vault.cli.setup import new_passphrase

    path = os.path.abspath(os.path.expanduser(args.file))  # where the user is, whoever writes it
    with route.Route() as via:
        passphrase = None
        if args.passphrase:
            via.command("ready")  # the vault is reached (opened here, asking its passphrase) before a new one is asked
            passphrase = new_passphrase()
        return route.show(via.command("backup", path=path, shown=args.file, passphrase=passphrase, force=args.force))


def cmd_restore(args: argparse.Namespace) -> int:
    import time

    from vault.core.keys import Key, KeySlot, unlock_key
    from vault.core.paths import resolve_home
    from vault.services.backups import Restore, restore, resume

    def ask_backup_passphrase(_prompt: str) -> str:
        return terminal.ask_hidden("Backup passphrase: ")

    def key_for(slot: KeySlot) -> Key:
        return unlock_key(slot, os.environ, ask_backup_passphrase if terminal.interactive() else None)

    planned: list[Restore] = []

    def confirm(plan: Restore) -> bool:
        planned.append(plan)
        if not plan.replaces or args.yes:
            return True
        what = f"replace the vault at {plan.paths.home} with {plan.describe()}"
        waiting = "".join(f" {line}" for line in plan.waiting())
        if not terminal.interactive():
            raise InvalidInput(f"not going to {what} without confirmation: pass --yes; nothing was changed{waiting}")
        return terminal.confirm(f"{what[0].upper()}{what[1:]}? The current vault is kept beside it.{waiting}")

    paths = resolve_home()
    if args.resume:
        if args.file is not None:
            raise InvalidInput("restore --resume finishes the restore that was cut short: give it no FILE")
        resume(paths, notice=terminal.notice)
        return 0
    if args.file is None:
        raise InvalidInput("name the backup to restore: tokendeck restore FILE")
    kept = restore(paths, Path(args.file), key_for=key_for, confirm=confirm, now=time.time(), notice=terminal.notice)
    terminal.notice(f"restored the vault at {paths.home} from {args.file}")
    for line in planned[-1].waiting() if planned else ():
        terminal.notice(line)
    if kept is not None:
        terminal.notice(f"the vault it replaced is kept in {kept} (open it with TOKENDECK_HOME={kept})")
    return 0
