"""The ``tokendeck`` command: the agent fast path first, then argparse and a handler.

Data goes to stdout, messages to stderr, and every expected failure becomes one
line and a documented exit code (see :data:`vault.errors.EXIT_CODES`).  Secrets
are read from a pipe or a hidden prompt, never from argv.  ``token``, ``list``,
``exec`` and ``git-credential get`` are answered by a running agent
(:mod:`vault.cli.fast`) before argparse or the vault is imported; every other
import waits until the command that needs it runs.
"""

import sys

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on the hot path
# (nor `from __future__ import annotations`, another module to load: see docs/launcher.md)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence


def main(argv: "Sequence[str] | None" = None) -> int:
    """Run the command line; returns the exit code."""
    from vault.cli.fast import fast_path

    argv = sys.argv[1:] if argv is None else list(argv)
    code = fast_path(argv)
    if code is not None:
        return code
    from vault.cli.parser import TUI_HANDLER, build_parser
    from vault.cli.terminal import run_guarded

    args = build_parser(argv[0] if argv else None).parse_args(argv)
    from vault.agent.wire import forwarded_socket

    if forwarded_socket() is not None and args.command not in FORWARDED_COMMANDS:
        return run_guarded(lambda: _not_here(args.command))
    if args.handler == TUI_HANDLER and sys.stdin.isatty():
        from vault.core.process import keep_secrets_out_of_dumps
        from vault.services.opening import unlock_early

        keep_secrets_out_of_dumps()  # before the key is derived
        unlock_early()  # the KDF beside Textual's imports, not after them
    return run_guarded(lambda: _handler(args.handler)(args))


FORWARDED_COMMANDS = ("token", "exec", "list", "git-credential", "completion")
"""What runs on a remote machine whose ``$TOKENDECK_AGENT_SOCK`` names a forward (``tokendeck
ssh``): the reads the forward serves, and shell completion."""


def _not_here(command: str | None) -> int:
    from vault.errors import NotForwarded

    what = f"tokendeck {command}" if command else "the TUI"
    raise NotForwarded(
        f"{what} is not available here: TOKENDECK_AGENT_SOCK points at a forward (tokendeck ssh) or a session "
        "(exec --session, proxy run), which serves token, exec, list and git-credential; run it outside"
    )


def _handler(handler: "Callable[[argparse.Namespace], int] | str") -> "Callable[[argparse.Namespace], int]":
    """A group's handler, or one named ``module:function`` (the TUI's, outside ``vault``)."""
    if not isinstance(handler, str):
        return handler
    import importlib

    module, _, name = handler.partition(":")
    found: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
    return found


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
