"""``tokendeck export`` / ``unexport``: write a credential into a tool's config.

``export TARGET --name CRED ...`` prints a diff preview (secrets as ``***``) on
stderr, then writes atomically; ``--dry-run`` only previews.  ``shell`` prints
``export`` lines on stdout.  ``--plaintext`` writes the token itself and records
a binding that every refresh re-writes; into a file git tracks (or does not
ignore) it is refused unless ``--force``.  ``export --list`` shows the bindings;
``unexport TARGET --file PATH --name CRED`` forgets one (the file is left as is).

MCP targets edit one server entry (``--server``).  A stdio server (``--command``
for a new one) gets the token as ``--var`` in its environment: in reference mode
it runs under ``tokendeck exec``.  A remote server (``--url``, or an entry that
already has a URL) gets it in an HTTP header (``--header``, default
``Authorization: Bearer ...``): in reference mode the header refers to ``--var``
in the tool's own syntax (``${VAR}``, ``${env:VAR}``, Codex's
``bearer_token_env_var``), so the tool must be started with that variable set
(the notice says how), or to a VS Code input.  Claude Desktop and Zed have no
remote servers in their files: refused.

Exit codes: 2 bad options (a URL that is not https or loopback http, a bad
header name, ``--url`` with ``--command``, a remote server for Claude Desktop or
Zed), a target file that is not valid JSON/JSONC/TOML/UTF-8 (one line with the line
and column), a server entry of another kind, a symlink, a missing directory that is not the
tool's own (``~/.cursor``, ``.vscode``, ``~/.codex``... are created), a value a .env or a header cannot hold, a
git-tracked file without --force; 1 a read-only target or a concurrent writer;
4 needs sign-in; 5 no such credential.  On any failure the target file is
untouched.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from vault.cli import route, terminal
from vault.errors import InvalidInput

if TYPE_CHECKING:
    from vault.export.spec import Spec

FILE_TARGETS = (
    "dotenv", "netrc", "claude-code", "claude-desktop", "cursor", "windsurf", "gemini", "vscode", "zed", "codex",
)  # fmt: skip
"""Export targets that write a file (``unexport`` takes these).  Spelled out here so building the
parser need not import :mod:`vault.export`; a test keeps it equal to ``vault.export``'s own list."""
EXPORT_TARGETS = ("shell", *FILE_TARGETS)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="write a credential into a tool's config (.env, shell, .netrc, agent MCP configs)",
        usage="tokendeck export TARGET --name CRED [options] [--url URL | --command CMD ARGS...] "
        "| tokendeck export --list",
        description="Reference mode (default where the format allows) writes no secret: a stdio MCP server "
        "runs under tokendeck exec; a remote one (--url, or an entry that has a URL) gets a header that refers "
        "to --var in the tool's own syntax (${VAR}, ${env:VAR}; VS Code: an input it prompts for; Codex: "
        "bearer_token_env_var), so start the tool with tokendeck exec -e VAR=CRED; shell lines call tokendeck "
        "token. --plaintext writes the token (env var or header), and every refresh re-writes it. A diff "
        "preview (secrets as ***) goes to stderr first.",
        epilog="exit codes: 2 bad option (a URL not https or loopback http, a bad header name, --url with "
        "--command, a remote server for claude-desktop or zed), invalid JSON/JSONC/TOML, a server entry of "
        "another kind, symlink, a missing directory that is not the tool's own, bad env var name, a value "
        ".env or a header cannot hold, git-tracked file without --force; 1 read-only file or concurrent "
        "writer; 4 needs sign-in; 5 no such credential. The target file is untouched on any failure.",
    )
    p.add_argument(
        "target",
        nargs="?",
        choices=EXPORT_TARGETS,
        metavar="TARGET",
        help=f"where to write it: {', '.join(EXPORT_TARGETS)}",
    )
    p.add_argument("--name", help="the credential to export")
    p.add_argument("--var", help="the environment variable (every target but netrc)")
    p.add_argument("--server", help="MCP targets: the server entry to edit")
    p.add_argument("--url", help="MCP targets: a remote server's URL (https, or http on loopback); not with --command")
    p.add_argument(
        "--header", help="remote MCP servers: the header for the token (default Authorization: Bearer TOKEN)"
    )
    p.add_argument("--file", help="the file (default: the target's usual place, e.g. .env, ~/.netrc, .mcp.json)")
    p.add_argument("--host", help="netrc: the machine")
    p.add_argument("--login", help="netrc: the login (default: the entry's current one)")
    p.add_argument("--plaintext", action="store_true", help="write the token itself (re-written on refresh)")
    p.add_argument(
        "--bridge",
        action="store_true",
        help="MCP targets: a stdio entry running tokendeck mcp-bridge NAME, for a credential from login --mcp "
        "(any client, even Claude Desktop and Zed, reaches the remote server; --server defaults to NAME)",
    )
    p.add_argument("--force", action="store_true", help="plaintext even into a file git tracks or does not ignore")
    p.add_argument("--dry-run", action="store_true", help="print the diff preview; write nothing")
    p.add_argument("--list", action="store_true", help="list plaintext export bindings")
    p.add_argument("--json", action="store_true", help="with --list: machine-readable output")
    p.add_argument(
        "--command",
        dest="argv",
        nargs=argparse.REMAINDER,
        default=[],
        metavar="CMD ARGS",
        help="MCP targets: the server's command and arguments (last: takes everything after it)",
    )
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("unexport", help="stop re-writing a plaintext export (the file is left as it is)")
    p.add_argument(
        "target",
        choices=FILE_TARGETS,
        metavar="TARGET",
        help=f"the export's target: {', '.join(FILE_TARGETS)}",
    )
    p.add_argument("--name", required=True, help="the credential")
    p.add_argument("--file", help="the file (default .env, ~/.netrc, .mcp.json)")
    p.set_defaults(handler=cmd_unexport)


def _spec(args: argparse.Namespace) -> Spec:
    from vault.export.spec import MCP_TARGETS, Spec
    from vault.export.targets import check_spec

    command = list(args.argv or [])
    if command and args.target not in MCP_TARGETS:
        raise InvalidInput(f"{args.target} takes no --command")
    spec = Spec(
        target=args.target,
        name=args.name,
        var=args.var,
        server=args.server or (args.name if args.bridge else None),
        host=args.host,
        login=args.login,
        command=tuple(command),
        plaintext=args.plaintext,
        url=args.url,
        header=args.header,
        bridge=args.bridge,
    )
    check_spec(spec)
    return spec


def cmd_export(args: argparse.Namespace) -> int:
    import dataclasses

    from vault.export.spec import target_path

    if args.list:
        return route.command("export-list", name=args.name, as_json=args.json, human=terminal.human_times())
    if not args.target:
        raise InvalidInput("export needs a TARGET (see tokendeck export --help) or --list")
    if not args.name:
        raise InvalidInput("export needs --name CRED (the credential to export)")
    spec = _spec(args)
    if spec.target == "shell" and args.file:
        raise InvalidInput("shell prints to stdout; drop --file")
    fields = {**dataclasses.asdict(spec), "command": list(spec.command)}
    if spec.target not in FILE_TARGETS:
        return route.command("export-shell", spec=fields)  # exists and is usable, in either mode
    path = target_path(spec.target, args.file)  # absolute: where the user is, whoever writes it
    return route.command("export", spec=fields, path=str(path), force=args.force, dry_run=args.dry_run)


def cmd_unexport(args: argparse.Namespace) -> int:
    if args.target not in FILE_TARGETS:
        raise InvalidInput(f"unexport TARGET: one of {', '.join(FILE_TARGETS)}")
    from vault.export.spec import target_path

    path = target_path(args.target, args.file)
    return route.command("unexport", target=args.target, name=args.name, path=str(path))
