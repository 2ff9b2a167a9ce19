"""The ``tokendeck`` command: argument parsing, dispatch and the error boundary.

Data goes to stdout, messages to stderr, and every expected failure becomes one
line and a documented exit code (see :data:`vault.errors.EXIT_CODES`).  Secrets
are read from a pipe or a hidden prompt, never from argv.  Heavy imports (the
TUI above all) happen inside the command that needs them.
"""

from __future__ import annotations

import sys

from vault.errors import EXIT_CODES, VaultError

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on the hot path
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

FILE_TARGETS = (
    "dotenv", "netrc", "claude-code", "claude-desktop", "cursor", "windsurf", "gemini", "vscode", "zed", "codex",
)  # fmt: skip
"""Export targets that write a file (``unexport`` takes these).  Spelled out here so the
parser need not import ``vault.export``; a test keeps it equal to ``targets.FILE_TARGETS``."""
EXPORT_TARGETS = ("shell", *FILE_TARGETS)

EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())


def build_parser() -> argparse.ArgumentParser:
    import argparse

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

    p = sub.add_parser("login", help="sign in to a provider in your browser and store the token")
    p.add_argument("provider", help="a registered provider (see tokendeck provider list)")
    p.add_argument("--name", help="the credential's name (default: the provider, or PROVIDER-ACCOUNT)")
    p.add_argument("--device", action="store_true", help="use the device code flow (enter a code on any device)")
    p.add_argument("--no-browser", action="store_true", help="print the URL and paste back where the browser went")
    p.add_argument("--timeout", metavar="WHEN", help="how long to wait for the browser (seconds or 5m; default 5m)")

    p = sub.add_parser("provider", help="the OAuth apps you registered with each provider")
    psub = p.add_subparsers(dest="provider_command", metavar="ACTION", required=True)
    pl = psub.add_parser("list", help="built-in providers and your registrations")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    ps = psub.add_parser("show", help="endpoints, rules and how to register an app")
    ps.add_argument("name")
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    pr = psub.add_parser("rm", help="forget a registration (credentials stay)")
    pr.add_argument("name")
    pa = psub.add_parser(
        "add",
        help="store your OAuth app's client id (and secret, read from stdin or a prompt)",
        description="Register your own OAuth app. The client secret is never taken from argv: it is read "
        "from stdin or a hidden prompt when the provider requires one, or with --with-secret.",
    )
    pa.add_argument("name", help="a built-in provider (google, github, ...) or a name of your own")
    pa.add_argument("--client-id", help="the app's client id")
    pa.add_argument("--with-secret", action="store_true", help="also read a client secret (stdin or prompt)")
    pa.add_argument("--base", help="the built-in it builds on (e.g. gitlab for a self-managed GitLab)")
    pa.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="e.g. tenant=..., base_url=...")
    pa.add_argument("--scopes", help="scopes to request instead of the defaults (space or comma separated)")
    pa.add_argument("--redirect-port", type=int, help="a fixed loopback port, if the app registration needs one")
    pa.add_argument("--issuer", help="discover endpoints from this issuer (OIDC discovery, then RFC 8414)")
    for flag in ("authorize-url", "token-url", "revoke-url", "device-url", "userinfo-url"):
        pa.add_argument(f"--{flag}", help=f"explicit {flag.replace('-', ' ')} (https, or http on loopback)")

    p = sub.add_parser("refresh", help="refresh an OAuth credential now, or everything due (--due)")
    p.add_argument("name", nargs="?", help="the credential to refresh")
    p.add_argument("--due", action="store_true", help="refresh every credential expiring within --within")
    p.add_argument("--within", metavar="WHEN", help="with --due: the window (default 5m)")

    p = sub.add_parser("revoke", help="revoke a credential at its provider, then erase it from the vault")
    p.add_argument("name")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--local", action="store_true", help="where the provider cannot revoke by API, erase locally")

    p = sub.add_parser(
        "exec",
        help="run a command with fresh tokens in its environment only",
        usage="tokendeck exec -e VAR=NAME [-e VAR=NAME ...] [--env-file] -- CMD [ARGS...]",
        description="Put fresh tokens (refreshed first when due) in CMD's environment and replace this "
        "process with CMD: its signals and exit code are CMD's own. Tokens never appear in argv or output.",
        epilog="exit codes: CMD's own once it runs; 2 bad -e or no -- CMD; 4 needs sign-in; 5 no such "
        "credential; 126 CMD cannot be executed; 127 CMD not found. Nothing runs unless every -e is good.",
    )
    p.add_argument(
        "-e", dest="env", action="append", default=[], metavar="VAR=NAME", help="set $VAR to credential NAME's token"
    )
    p.add_argument("--env-file", action="store_true", help="print VAR='token' lines (dotenv quoting); run nothing")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the command to run")

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
        "--command, a remote server for claude-desktop or zed), invalid JSON/TOML, a server entry of another "
        "kind, symlink, missing directory, bad env var name, a value .env or a header cannot hold, git-tracked "
        "file without --force; 1 read-only file or concurrent writer; 4 needs sign-in; 5 no such credential. "
        "The target file is untouched on any failure.",
    )
    p.add_argument(
        "target",
        nargs="?",
        choices=EXPORT_TARGETS,
        metavar="TARGET",
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

    p = sub.add_parser("unexport", help="stop re-writing a plaintext export (the file is left as it is)")
    p.add_argument(
        "target",
        choices=FILE_TARGETS,
        metavar="TARGET",
    )
    p.add_argument("--name", required=True, help="the credential")
    p.add_argument("--file", help="the file (default .env, ~/.netrc, .mcp.json)")

    p = sub.add_parser(
        "agent",
        help="keep the vault unlocked in a background agent: fast tokens, refreshes while the TUI is closed",
        description="One agent per user and vault holds the unlocked vault, answers token, list, exec and "
        "git-credential over a Unix socket only this user can reach, and refreshes tokens on a timer.",
    )
    asub = p.add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    ast = asub.add_parser(
        "start",
        help="unlock the vault and start the agent (or unlock a locked one)",
        epilog="exit codes: 0 started; 1 an agent already runs for this vault; 3 wrong or no passphrase; "
        "5 no vault. The passphrase comes from the usual places, or stdin when it is a pipe.",
    )
    ast.add_argument("--lock-after", metavar="WHEN", help="lock after this long without a request (e.g. 8h)")
    ast.add_argument("--foreground", action="store_true", help="stay in the foreground (for systemd and tests)")
    ast.add_argument("--interval", type=float, default=60.0, metavar="SECONDS", help=argparse.SUPPRESS)
    asub.add_parser("stop", help="stop the agent (waits for a refresh in flight)")
    ass = asub.add_parser("status", help="is an agent running for this vault? (exit 0 yes, 3 locked, 5 no)")
    ass.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("lock", help="lock the agent: it forgets the key until tokendeck agent start")

    p = sub.add_parser(
        "git-credential",
        help="git credential helper: answers git for hosts you map to credentials",
        description="As git's helper: git config --global credential.https://HOST.helper '!tokendeck git-credential'. "
        "map/unmap/list choose which credential answers for which host.",
    )
    p.add_argument("action", choices=("get", "store", "erase", "map", "unmap", "list"), metavar="ACTION")
    p.add_argument("host", nargs="?", help="map/unmap: the host, e.g. github.com")
    p.add_argument("name", nargs="?", help="map: the credential")
    p.add_argument("--username", help="map: the user name to send (default: the forge's convention)")

    p = sub.add_parser("tui", help="open the terminal UI (the default)")
    p.add_argument("--no-agent", action="store_true", help="do not start the agent (see tui.toml: agent = false)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    ``token``, ``list``, ``exec`` and ``git-credential get`` are answered by a
    running agent when there is one (:mod:`vault.agent.fast`), before argparse
    or anything else is imported; without an agent they run here as usual.
    """
    from vault.agent.fast import fast_path

    argv = sys.argv[1:] if argv is None else list(argv)
    code = fast_path(argv)
    if code is not None:
        return code
    args = build_parser().parse_args(argv)
    return run_guarded(lambda: _handler(args.command or "tui")(args))


def run_guarded(command: Callable[[], int]) -> int:
    """Run ``command``, turning an expected failure into one line and its exit code."""
    try:
        return command()
    except VaultError as exc:
        print(f"tokendeck: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tokendeck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


HANDLERS: dict[str, str] = {
    "init": "vault.commands:cmd_init",
    "add": "vault.commands:cmd_add",
    "list": "vault.commands:cmd_list",
    "show": "vault.commands:cmd_show",
    "token": "vault.commands:cmd_token",
    "rm": "vault.commands:cmd_rm",
    "rename": "vault.commands:cmd_rename",
    "passphrase": "vault.commands:cmd_passphrase",
    "audit": "vault.commands:cmd_audit",
    "tui": "screens.app:cmd_tui",  # by name only: vault never imports the UI
    "login": "vault.commands_oauth:cmd_login",
    "provider": "vault.commands_oauth:cmd_provider",
    "refresh": "vault.commands_oauth:cmd_refresh",
    "revoke": "vault.commands_oauth:cmd_revoke",
    "exec": "vault.commands_exec:cmd_exec",
    "export": "vault.commands_export:cmd_export",
    "unexport": "vault.commands_export:cmd_unexport",
    "agent": "vault.commands_agent:cmd_agent",
    "lock": "vault.commands_agent:cmd_lock",
    "git-credential": "vault.gitcred:cmd_git_credential",
}
"""Command -> handler, imported only when run: ``token`` never loads the OAuth stack."""


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    import importlib

    module, _, name = HANDLERS[command].partition(":")
    handler: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
    return handler


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
