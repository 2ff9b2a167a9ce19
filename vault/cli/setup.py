"""``tokendeck init`` and ``tokendeck passphrase change``: creating the vault, and changing how it is unlocked."""

from __future__ import annotations

import argparse
import os
import sys

from vault.cli import terminal
from vault.errors import InvalidInput
from vault.settings import NEW_PASSPHRASE_ENV


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="create the vault (OS keyring, or a passphrase where there is none)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--keyring", dest="mode", action="store_const", const="keyring", help="require the OS keyring")
    mode.add_argument(
        "--passphrase", dest="mode", action="store_const", const="passphrase", help="protect with a passphrase"
    )
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("passphrase", help="change how the vault is unlocked")
    psub = p.add_subparsers(dest="passphrase_command", metavar="ACTION", required=True)
    pc = psub.add_parser(
        "change",
        help=f"re-encrypt under a new passphrase (from ${NEW_PASSPHRASE_ENV}, a prompt or stdin), "
        "or with --keyring under a new key kept in the OS keyring",
    )
    pc.add_argument("--keyring", action="store_true", help="move to (or rotate) a random key in the OS keyring")
    p.set_defaults(handler=cmd_passphrase)


def cmd_init(args: argparse.Namespace) -> int:
    from vault.services.opening import init_vault

    with init_vault(mode=args.mode, prompt=terminal.passphrase_prompt(), notice=terminal.notice) as vault:
        how = "a key in the OS keyring" if vault.records.mode == "keyring" else "your passphrase"
        terminal.notice(f"created a vault at {vault.paths.home}, unlocked by {how}")
    return 0


def new_passphrase() -> str:
    """A new passphrase: from $TOKENDECK_NEW_PASSPHRASE, asked twice when stdin is a terminal,
    else stdin's first line (the input of this command, as documented); a short one is taken
    with a warning."""
    from vault.core.keys import Key, passphrase_warning
    from vault.services.opening import ask_new_passphrase

    if NEW_PASSPHRASE_ENV in os.environ:
        key = Key.passphrase(os.environ[NEW_PASSPHRASE_ENV])
    elif terminal.stdin_is_terminal():
        key = ask_new_passphrase(terminal.ask_hidden)
    else:
        line = sys.stdin.buffer.readline(4096)
        try:
            key = Key.passphrase(line.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError:
            raise InvalidInput("standard input is not UTF-8 text; nothing was changed") from None
    passphrase = key.secret.reveal()
    warning = passphrase_warning(passphrase)
    if warning:
        terminal.notice(warning)
    return passphrase


def cmd_passphrase(args: argparse.Namespace) -> int:
    from vault.services.opening import change_to_keyring, change_to_passphrase

    with terminal.open_vault() as vault:
        if args.keyring:
            change_to_keyring(vault)
            terminal.notice("the vault is now unlocked by a new key in the OS keyring")
        else:
            change_to_passphrase(vault, new_passphrase())
            terminal.notice("the vault is now unlocked by the new passphrase")
    return 0
