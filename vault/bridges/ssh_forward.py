"""``tokendeck ssh``: the user's own OpenSSH, with a forward of the agent for the session.

The agent opens a forward (:mod:`vault.agent.forwarding`: a socket of its own, serving
only the allowed names); OpenSSH's stream-local remote forwarding (``-R remote:local``)
makes that socket, never the agent's own, reachable on the remote host; ``SetEnv`` tells
the remote shell where (``TOKENDECK_AGENT_SOCK``).  The remote socket goes in the remote's
``$XDG_RUNTIME_DIR``, else in a 0700 directory in its home, found by one probe connection
first.  Nothing here reads a token: the remote asks the agent through the forward.

The server needs ``AcceptEnv TOKENDECK_AGENT_SOCK`` (else the remote shell must be told
the path, which ``tokendeck ssh`` prints) and ``StreamLocalBindUnlink yes`` (else a socket
left by an old session blocks the forward); ``AllowStreamLocalForwarding`` is on by default.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass

from vault.errors import InvalidInput, VaultError
from vault.settings import AGENT_SOCK_ENV

SSH_FAILED = 255
"""ssh's exit code for its own failures (the connection, or a forward it could not set up)."""
FAILED_HINT = (
    "ssh failed; if it said remote port forwarding failed, the server refuses Unix-socket forwarding "
    "(AllowStreamLocalForwarding, OpenSSH 6.7 or newer) or the socket path is taken (StreamLocalBindUnlink yes)"
)
OPTIONS_WITH_VALUES = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
"""ssh(1)'s options that take an argument (``-p 22``, ``-p22``)."""

PROBE = (
    'd="${XDG_RUNTIME_DIR:-}"; '
    'if [ -z "$d" ] || [ ! -d "$d" ]; then d="$HOME/.tokendeck-run"; '
    'if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then '
    'echo "$d is in the way (a file or a symlink, not a directory): move it away, or set XDG_RUNTIME_DIR" >&2; '
    "exit 1; fi; "
    'mkdir -p -m 700 "$d" && chmod 700 "$d" || exit 1; '
    '[ -O "$d" ] || { echo "$d belongs to someone else: move it away" >&2; exit 1; }; fi; '
    'printf "%s\\n" "$d"'
)
"""Run on the remote first: the directory the forwarded socket goes in.  ``$XDG_RUNTIME_DIR``
when there is one; else ``~/.tokendeck-run``, made 0700, and refused (one line on stderr) when
something else is in its place: a file, a symlink, or a directory of another user's."""


@dataclass(frozen=True)
class SshCommand:
    """The user's ssh arguments, split: options, destination, and the remote command if any."""

    options: list[str]
    destination: str
    command: list[str]

    @classmethod
    def parse(cls, argv: list[str]) -> SshCommand:
        """Split ``argv`` as ssh(1) would.

        Raises:
            InvalidInput: no destination.
        """
        options: list[str] = []
        i = 0
        while i < len(argv):
            arg = argv[i]
            if arg == "--":
                i += 1
                break
            if not arg.startswith("-") or arg == "-":
                break
            options.append(arg)
            if (len(arg) == 2 and arg[1] in OPTIONS_WITH_VALUES) or _takes_value(arg):
                if i + 1 >= len(argv):
                    raise InvalidInput(f"ssh option {arg} needs a value")
                options.append(argv[i + 1])
                i += 1
            i += 1
        if i >= len(argv):
            raise InvalidInput("tokendeck ssh needs a destination: tokendeck ssh --only NAME -- [OPTIONS] HOST")
        return cls(options, argv[i], argv[i + 1 :])

    def run(self, *extra: str, command: list[str] | None = None) -> list[str]:
        """The ssh argv with ``extra`` options before the user's."""
        return ["ssh", *extra, *self.options, self.destination, *(self.command if command is None else command)]


def _takes_value(arg: str) -> bool:
    """``-vp`` style bundles: the last letter takes the next argument."""
    return len(arg) > 2 and not arg.startswith("--") and arg[-1] in OPTIONS_WITH_VALUES and arg[1:-1].isalpha()


def host_name(ssh: SshCommand) -> str:
    """The host the session goes to, as ``ssh -G`` resolves it (aliases from ssh_config
    followed): ``user@host:port``, for the audit log and the user."""
    try:
        shown = subprocess.run(  # noqa: S603 - the user's own ssh arguments, no shell
            ssh.run("-G", command=[]), capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ssh.destination
    config = dict(line.split(" ", 1) for line in shown.stdout.splitlines() if " " in line)
    host = config.get("hostname") or ssh.destination
    user, port = config.get("user"), config.get("port")
    return f"{user + '@' if user else ''}{host}{':' + port if port and port != '22' else ''}"


def remote_directory(ssh: SshCommand) -> str:
    """Where the forwarded socket goes on the remote (one connection, running :data:`PROBE`).

    Raises:
        VaultError: the connection or the probe failed (ssh's own message on stderr).
    """
    try:
        probe = subprocess.run(  # noqa: S603 - the user's own ssh arguments; PROBE is fixed text
            ssh.run("-T", command=[PROBE]), capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VaultError(f"could not run ssh: {type(exc).__name__}") from None
    lines = probe.stdout.strip().splitlines()
    if probe.returncode != 0 or not lines or not lines[-1].startswith("/"):
        said = probe.stderr.strip().splitlines()
        reason = said[-1][:200] if said else f"exit code {probe.returncode}"
        raise VaultError(f"could not set up the forward on {ssh.destination}: {reason}")
    return lines[-1]


def session_argv(ssh: SshCommand, local_socket: str, remote_socket: str) -> list[str]:
    """The ssh argv of the session: the forward, where it is, and the user's own arguments."""
    return ssh.run(
        "-o", "ExitOnForwardFailure=yes",
        "-o", "StreamLocalBindUnlink=yes",
        "-o", f"SetEnv={AGENT_SOCK_ENV}={remote_socket}",
        "-R", f"{remote_socket}:{local_socket}",
    )  # fmt: skip


def remote_setup_line(remote_socket: str) -> str:
    """What to type on the remote when its sshd does not accept the variable."""
    return f"export {AGENT_SOCK_ENV}={shlex.quote(remote_socket)}"
