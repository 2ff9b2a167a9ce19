"""The ``tokendeck`` argument parser: the top level, then each command group's own subparsers.

Each group module (:mod:`vault.cli.credentials`, :mod:`vault.cli.signin`, ...) adds its
subparsers and sets ``handler`` on them; its heavy imports wait inside the handlers, so
building the parser stays cheap.  ``tui`` is the one command whose handler lives
outside ``vault``: it is named by string (``vault`` never imports the UI).
"""

from __future__ import annotations

import argparse

from vault.cli import agent, audit, credentials, export, git, lifecycle, providers, setup, signin
from vault.cli import exec as exec_command
from vault.errors import EXIT_CODES

EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())

GROUPS = (setup, credentials, audit, signin, providers, lifecycle, exec_command, export, agent, git)
"""Each adds its commands to ``tokendeck --help``, in this order."""

TUI_HANDLER = "screens.main:cmd_tui"
"""``tokendeck`` with no command, and ``tokendeck tui``: by name only, so vault never imports the UI."""


def installed_version() -> str:
    """The version pip installed (the package's metadata), or ``unknown`` from a bare source tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tokendeck")
    except PackageNotFoundError:
        return "unknown"


class _Version(argparse.Action):
    """``--version``: read the metadata only when asked (building the parser stays cheap)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        print(f"tokendeck {installed_version()}")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokendeck",
        description="An encrypted vault for your OAuth and API tokens. Without a command, opens the TUI.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    p = sub.add_parser("tui", help="open the terminal UI (the default)")
    p.add_argument("--no-agent", action="store_true", help="do not start the agent (see tui.toml: agent = false)")
    p.set_defaults(handler=TUI_HANDLER)
    parser.set_defaults(handler=TUI_HANDLER)
    return parser
