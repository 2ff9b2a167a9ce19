"""Running the user's command as a child, when tokendeck stays its parent (``proxy run``,
``exec --session --confirm``): signals passed on, its exit code returned as a shell reports it."""

from __future__ import annotations

import sys


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` to its end; its exit code (128 + N for a signal N, as shells report it).
    Ctrl-C reaches it through the terminal, and this process waits for it to end; a SIGTERM or
    SIGHUP sent to this process is passed on to it (so the proxy still stops after it)."""
    import signal
    import subprocess

    from vault.errors import CommandNotExecutable, CommandNotFound

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        child = subprocess.Popen(command, env=env)  # noqa: S603 - running the user's command is the point
    except FileNotFoundError:
        raise CommandNotFound(f"command not found: {command[0]}") from None
    except OSError as exc:
        raise CommandNotExecutable(f"cannot run {command[0]}: {exc.strerror}") from None

    def pass_on(signum: int, frame: object) -> None:
        child.send_signal(signum)

    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, pass_on)
    try:
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code
