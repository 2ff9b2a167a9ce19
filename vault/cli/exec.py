"""``tokendeck exec``: run a program with fresh tokens in its environment only.

``tokendeck exec -e VAR=NAME [-e VAR=NAME ...] -- CMD [ARGS...]`` checks every
binding first (a valid variable name, a credential that exists), then gets each
token with :meth:`Vault.token <vault.services.tokens.Vault.token>` (which refreshes what is due), closes
the vault and runs CMD with those tokens masked in its output (:func:`run_masking`,
:mod:`vault.cli.masked_run`: this process stays CMD's parent, passes signals on and
exits with CMD's code).  With ``--no-mask`` it *replaces this process* with CMD
(:func:`run`, ``os.execvpe``): CMD then has tokendeck's PID, and signals sent to
it, its exit code and its terminal are CMD's own, with nothing in between.  The
tokens are in CMD's environment and nowhere else: not in argv (``ps`` shows argv),
not in tokendeck's own output, not in the calling shell.

The vault's own passphrase variables (``TOKENDECK_PASSPHRASE``,
``TOKENDECK_NEW_PASSPHRASE``) are dropped from CMD's environment: the program
gets the tokens it was given, not the key to all of them.

``--env-file`` prints ``VAR='token'`` lines instead (python-dotenv's
single-quote rules), for tools that read an env file from a pipe.

Exit codes, besides the usual ones: 2 for a bad ``-e`` or a missing ``--``/CMD,
126 when CMD is found but cannot be executed, 127 when it is not found (the
shell's conventions).  Once CMD runs, the exit code is CMD's.

With an agent running, :mod:`vault.cli.fast` uses these same checks and
:func:`run` with tokens from the agent, so this module imports only the cheapest
parts of the standard library (no ``re``, ``shutil`` or ``signal``).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module: `signal` loads enum
import os
import stat
import sys

from vault.errors import CommandNotExecutable, CommandNotFound, InvalidInput
from vault.settings import PATH_ENV, unlocks_vault

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on the hot path
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping, Sequence


def valid_var(name: str) -> bool:
    """A portable environment variable name: ``[A-Za-z_][A-Za-z0-9_]*`` (POSIX shells accept exactly these)."""
    return name.isascii() and name.isidentifier()


USAGE = "usage: tokendeck exec -e VAR=NAME [-e VAR=NAME ...] -- CMD [ARGS...]  (or --env-file with no CMD)"


def parse_bindings(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``["VAR=NAME", ...]`` as ``[(VAR, NAME), ...]``, in order.

    Raises:
        InvalidInput: no binding, one without ``=``, a VAR that is not a valid
            environment variable name, an empty NAME, or a VAR given twice.
    """
    if not specs:
        raise InvalidInput(f"exec needs at least one -e VAR=NAME; {USAGE}")
    bindings: list[tuple[str, str]] = []
    seen: set[str] = set()
    for spec in specs:
        var, eq, name = spec.partition("=")
        if not eq or not name:
            raise InvalidInput(f"-e {_echo(spec)}: expected VAR=NAME, e.g. -e GITHUB_TOKEN=github")
        if not valid_var(var):
            raise InvalidInput(
                f"-e {_echo(spec)}: {_echo(var)} is not a valid environment variable name "
                "(letters, digits, _; not a digit first)"
            )
        if var in seen:
            raise InvalidInput(f"-e {_echo(spec)}: {_echo(var, quoted=False)} is given more than once")
        seen.add(var)
        bindings.append((var, name))
    return bindings


def _echo(value: str, *, quoted: bool = True) -> str:
    """:func:`vault.core.masking.echo`, imported only on an error's path (it loads ``re``, which the
    fast path does without)."""
    from vault.core.masking import echo

    return echo(value, quoted=quoted)


def split_command(argv: Sequence[str], *, env_file: bool, usage: str = USAGE) -> list[str]:
    """The command after ``--`` (argparse keeps the ``--`` in a REMAINDER); ``usage`` is the
    calling command's, said with a missing one.

    Raises:
        InvalidInput: no ``--``, no command (unless ``env_file``), or a command
            with ``env_file``.
    """
    if argv and argv[0] != "--":
        raise InvalidInput(f"put -- before the command ({_echo(argv[0])}); {usage}")
    command = list(argv[1:])
    if env_file and command:
        raise InvalidInput("--env-file prints the variables and runs nothing: drop the command after --")
    if not env_file and not command:
        raise InvalidInput(f"no command to run; {usage}")
    if command and not command[0]:
        raise InvalidInput("the command is empty")
    return command


def find_command(cmd: str, path: str | None) -> None:
    """Fail early, before the vault is opened, when ``execvpe`` would.

    Raises:
        CommandNotFound: nothing of that name (exit 127).
        CommandNotExecutable: found, but a directory or not executable (exit 126).
    """
    dirs = [] if "/" in cmd else (path or os.defpath).split(os.pathsep)
    candidates = [os.path.join(d or ".", cmd) for d in dirs] or [cmd]
    unusable = False  # like execvp: the first executable file wins; a lesser match means 126
    for candidate in candidates:
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and os.access(candidate, os.X_OK):
            return
        unusable = True
    if unusable:
        raise CommandNotExecutable(f"permission denied: {cmd}")
    raise CommandNotFound(f"command not found: {_echo(cmd, quoted=False)}")


def child_environment(base: Mapping[str, str], tokens: Mapping[str, str]) -> dict[str, str]:
    """``base`` without the vault's passphrase variables, plus ``tokens``."""
    env = {k: v for k, v in base.items() if not unlocks_vault(k)}
    env.update(tokens)
    return env


def dotenv_line(var: str, token: str) -> str:
    """``VAR='token'`` with python-dotenv's single-quote escapes (``\\`` and ``'``).

    Raises:
        InvalidInput: the token holds a line break, which no env file line can carry.
    """
    if "\n" in token or "\r" in token:
        raise InvalidInput(f"{var}: the token contains a line break and cannot be written as an env file line")
    escaped = token.replace("\\", "\\\\").replace("'", "\\'")
    return f"{var}='{escaped}'"


def _fetch(bindings: Sequence[tuple[str, str]]) -> dict[str, str]:
    from vault.cli import terminal
    from vault.cli.consent_terminal import allow_here

    with terminal.open_vault() as vault:
        for _, name in bindings:
            vault.get(name)  # every name exists before any refresh happens
        allow_here(vault, [name for _, name in bindings], "exec")
        return {var: vault.token(name) for var, name in bindings}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    import argparse

    p = sub.add_parser(
        "exec",
        help="run a command with fresh tokens in its environment only",
        usage="tokendeck exec -e VAR=NAME [-e VAR=NAME ...] [--env-file | --session [--ttl D] [--confirm[=once]]] "
        "[--no-mask] -- CMD [ARGS...]",
        description="Put fresh tokens (refreshed first when due) in CMD's environment and run CMD, its "
        "output passed on with every one of those tokens shown as <concealed by tokendeck>; signals are "
        "passed on and the exit code is CMD's. With --no-mask this process becomes CMD instead. Tokens "
        "never appear in argv.",
        epilog="exit codes: CMD's own once it runs (128+N when signal N ends it); 2 bad -e or no -- CMD; "
        "4 needs sign-in; 5 no such credential; 126 CMD cannot be executed; 127 CMD not found. Nothing runs "
        "unless every -e is good.",
    )
    p.add_argument(
        "-e", dest="env", action="append", default=[], metavar="VAR=NAME", help="set $VAR to credential NAME's token"
    )
    p.add_argument("--env-file", action="store_true", help="print VAR='token' lines (dotenv quoting); run nothing")
    p.add_argument(
        "--session",
        action="store_true",
        help="run CMD as a session of the agent: it and every program it starts read only these credentials",
    )
    p.add_argument(
        "--ttl", metavar="DURATION", help="end the session after this long (e.g. 30m, 8h); implies --session"
    )
    p.add_argument(
        "--no-mask",
        action="store_true",
        help="do not mask the tokens in CMD's output: this process becomes CMD (its output is CMD's own)",
    )
    from vault.cli.consent_terminal import add_confirm_argument

    add_confirm_argument(p, "a token read in the session; implies --session")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the command to run")
    p.set_defaults(handler=cmd_exec)


def cmd_exec(args: argparse.Namespace) -> int:
    bindings = parse_bindings(args.env)
    command = split_command(args.argv, env_file=args.env_file)
    if args.env_file:
        tokens = _fetch(bindings)
        lines = [dotenv_line(var, token) for var, token in tokens.items()]  # all checked before any is printed
        sys.stdout.write("".join(line + "\n" for line in lines))
        return 0

    cmd = command[0]
    find_command(cmd, os.environ.get(PATH_ENV))
    if args.session or args.ttl or args.confirm:
        from vault.cli.exec_session import open_session, run_as_parent

        if args.confirm or not args.no_mask:  # this process stays CMD's parent: it masks, and asks on the terminal

            def start(tokens: dict[str, str]) -> int:
                secrets = [] if args.no_mask else [tokens[var] for var, _ in bindings]
                return run_masking(command, tokens, secrets)

            return run_as_parent(bindings, command, args.ttl, args.confirm, start)
        tokens = open_session(bindings, command, args.ttl)
    else:
        tokens = _fetch(bindings)
    if args.no_mask:
        return run(command, tokens)
    return run_masking(command, tokens, [tokens[var] for var, _ in bindings])


def run_masking(command: Sequence[str], tokens: Mapping[str, str], secrets: Sequence[str]) -> int:
    """Run ``command``, ``tokens`` added to its environment, to its end, with ``secrets`` masked
    in its output (:mod:`vault.cli.masked_run`); its exit code.

    Raises:
        CommandNotFound, CommandNotExecutable: it could not be started.
    """
    from vault.cli.masked_run import run_masked

    return run_masked(command, child_environment(os.environ, tokens), secrets)


def run(command: Sequence[str], tokens: Mapping[str, str]) -> int:
    """Replace this process with ``command``, ``tokens`` added to its environment (``--no-mask``).

    Returns only by raising.

    Raises:
        CommandNotFound, CommandNotExecutable: ``execvpe`` failed after all.
    """
    cmd, *rest = command
    env = child_environment(os.environ, tokens)
    sys.stdout.flush()
    sys.stderr.flush()
    # Python ignores SIGPIPE and SIGXFSZ; ignored signals survive exec, so restore them
    # (and put Python's back when the exec fails: this process goes on, if only to say why).
    kept = {}
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(_signal, name):
            kept[name] = _signal.signal(getattr(_signal, name), _signal.SIG_DFL)
    # The program gets the core-file limit it would have had; only a process that unlocked
    # the vault lowered it (vault.core.process), so the agent's fast path imports nothing here.
    process = sys.modules.get("vault.core.process")
    if process is not None:
        process.restore_core_limit()
    try:
        os.execvpe(cmd, [cmd, *rest], env)  # noqa: S606 - running the user's command is the point
    except OSError as exc:
        from vault.cli.masked_run import cannot_start  # only when the exec failed

        raise cannot_start(exc, cmd) from None
    finally:  # reached only when the exec failed
        for name, handler in kept.items():
            _signal.signal(getattr(_signal, name), handler)
    raise AssertionError("unreachable")  # pragma: no cover - execvpe does not return
