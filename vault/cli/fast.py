"""The client half of the fast path: ``token``, ``list``, ``exec``, ``git-credential
get`` and ``completion names`` answered by a running agent, before argparse or the vault is
imported.

:func:`fast_path` recognises only the plain shapes of those commands.  It returns
None (and :func:`vault.cli.main` carries on as if it had never been called) when
the command has any other shape, when no usable agent answers, or when the agent
says to fall back; so with or without an agent the output and exit codes are the
same.  ``exec`` runs the exact checks of :mod:`vault.cli.exec` first and
leaves any failing invocation to it, so its messages cannot drift apart either.
"""

import sys

from vault.agent.wire import ask, forwarded_socket

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on the hot path
# (nor `from __future__ import annotations`, another module to load: see docs/launcher.md)
if TYPE_CHECKING:
    from typing import TextIO


def fast_path(argv: list[str]) -> int | None:
    """The exit code of ``tokendeck ARGV`` as answered through the agent, or None to run it normally."""
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "token" and len(args) == 1 and not args[0].startswith("-"):
        return _token(args[0])
    if command == "list" and args in ([], ["--json"]):
        return _list(as_json=bool(args))
    if command == "exec":
        return _exec(args)
    if command == "git-credential" and args == ["get"]:
        return _git_credential_get()
    if command == "completion" and args == ["names"]:
        return _names()
    return None


def _failed(answer: list[str]) -> int:
    """An agent's error answer, printed as :func:`vault.cli.main` prints a VaultError."""
    message = answer[1] if len(answer) > 1 else "the agent failed"
    sys.stderr.write(f"tokendeck: {message}\n")
    return int(answer[0]) if answer[0].isdigit() else 1


def _write(stream: "TextIO", text: str) -> int:
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:  # as main() does: a closed pipe is not an error
        pass
    return 0


WAIT_BEFORE_ASKING = 0.5
"""Seconds an agent's read may take before this process also asks on its terminal."""


def ask_while_waiting(op: str, *args: str) -> "list[str] | None":
    """:func:`vault.agent.wire.ask`; when the agent holds the read longer than a moment (a
    credential that asks before each use waits for the user's yes), this process asks on its
    terminal too (:class:`vault.cli.consent_terminal.TerminalAsker`): the agent hands it its own
    questions when no TUI or desktop notification asks.  Nothing more is loaded unless it waits."""
    import os
    import signal

    def start(signum: int, frame: object) -> None:
        from vault.cli.consent_terminal import TerminalAsker

        TerminalAsker(f"reader-{os.getpid()}").start()

    if forwarded_socket() is not None:  # inside a session or a forward: it may not answer its own questions
        return ask(op, *args)
    previous = signal.signal(signal.SIGALRM, start)
    signal.setitimer(signal.ITIMER_REAL, WAIT_BEFORE_ASKING)
    try:
        return ask(op, *args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _token(name: str) -> int | None:
    answer = ask_while_waiting("token", name)
    if answer is None:
        return None
    if answer[0] != "0":
        return _failed(answer)
    return _write(sys.stdout, answer[1] + "\n")


def _list(*, as_json: bool) -> int | None:
    answer = ask("list", "json" if as_json else "table", "human" if sys.stdout.isatty() else "iso")
    if answer is None:
        return None
    if answer[0] != "0":
        return _failed(answer)
    if answer[2]:
        sys.stderr.write(answer[2])
    return _write(sys.stdout, answer[1])


def _names() -> int:
    """Credential names for shell completion, one per line, from a running agent; nothing (and
    never a prompt) without one: a TAB must not unlock or wait."""
    answer = ask("names")
    if answer is None or answer[0] != "0":
        return 0
    return _write(sys.stdout, "".join(name + "\n" for name in answer[1:]))


def _exec(args: list[str]) -> int | None:
    """``exec (-e VAR=NAME | --env-file)... -- CMD...`` with tokens from the agent."""
    import os

    from vault.cli import exec as ex
    from vault.errors import VaultError
    from vault.settings import PATH_ENV

    specs: list[str] = []
    env_file = False
    no_mask = False
    i = 0
    while i < len(args) and args[i] != "--":
        arg = args[i]
        if arg == "-e" and i + 1 < len(args):
            specs.append(args[i + 1])
            i += 2
        elif arg.startswith("-e") and len(arg) > 2:
            specs.append(arg[2:])
            i += 1
        elif arg == "--env-file":
            env_file = True
            i += 1
        elif arg == "--no-mask":
            no_mask = True
            i += 1
        else:
            return None  # anything else is argparse's to judge
    try:
        bindings = ex.parse_bindings(specs)
        command = ex.split_command(args[i:], env_file=env_file)
        if command:
            ex.find_command(command[0], os.environ.get(PATH_ENV))
    except VaultError:
        return None  # the normal path says exactly what is wrong
    answer = ask_while_waiting("tokens", *(name for _, name in bindings))
    if answer is None:
        return None
    if answer[0] != "0":
        return _failed(answer)
    tokens = dict(zip((var for var, _ in bindings), answer[1:], strict=True))
    try:
        if env_file:
            lines = [ex.dotenv_line(var, token) for var, token in tokens.items()]
            return _write(sys.stdout, "".join(line + "\n" for line in lines))
        if no_mask:
            return ex.run(command, tokens)
        return ex.run_masking(command, tokens, list(tokens.values()))
    except VaultError as exc:
        sys.stderr.write(f"tokendeck: {exc.message}\n")
        return exc.exit_code


def _git_credential_get() -> int:
    """git's ``get``: read its request, answer through the agent or else the vault.

    Never returns None: git's request is read from stdin here, so the fallback
    must happen here too.
    """
    from vault.cli.git import answer_locally
    from vault.services.gitcred import format_answer, read_request

    request = read_request(sys.stdin)
    if request is None:
        return 0  # not a request we can answer (no host): git tries its next helper
    answer = ask("git", request.protocol, request.host, request.path)
    if answer is None:
        from vault.cli.terminal import run_guarded

        return run_guarded(lambda: answer_locally(request))
    if answer[0] != "0":
        return _failed(answer)
    if len(answer) < 3:
        return 0
    return _write(sys.stdout, format_answer(answer[1], answer[2]))
