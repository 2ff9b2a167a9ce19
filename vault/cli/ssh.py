"""``tokendeck ssh [--only NAME,...] [--ttl DURATION] -- SSH_ARGS...``: OpenSSH with the agent
forwarded for the session (:mod:`vault.bridges.ssh_forward`, :mod:`vault.agent.forwarding`)."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ssh",
        help="run ssh with the agent forwarded: on the remote, tokendeck token/exec/list and the git helper "
        "read the --only credentials through it",
        description="Runs your ssh with a forward of the running agent for the session: the remote needs no vault, "
        "and the agent here keeps every refresh. Only the --only credentials are served (none by default), only "
        "token, exec, list and git credentials, each request audited with the host. Anyone who is root on the "
        "remote can use them while the session lasts. The server needs AcceptEnv TOKENDECK_AGENT_SOCK and "
        "StreamLocalBindUnlink yes (see docs/remote.md).",
    )
    p.add_argument("--only", metavar="NAME,...", default="", help="the credentials the remote may read")
    p.add_argument("--ttl", metavar="DURATION", help="end the forward after this long (e.g. 30m, 8h)")
    p.add_argument(
        "--confirm",
        action="store_true",
        help="ask before each use (in the TUI, a desktop notification, or this terminal; no answer in 60 s is no)",
    )
    p.add_argument("ssh_args", nargs=argparse.REMAINDER, metavar="-- SSH_ARGS", help="ssh's own arguments")
    p.set_defaults(handler=cmd_ssh)


def cmd_ssh(args: argparse.Namespace) -> int:
    import subprocess

    from vault.agent import remedy, wire
    from vault.agent.forwarding import end_forward, request_forward
    from vault.bridges import ssh_forward
    from vault.cli import terminal
    from vault.core.timefmt import parse_duration
    from vault.errors import InvalidInput, VaultLocked

    ssh_args = args.ssh_args[1:] if args.ssh_args[:1] == ["--"] else args.ssh_args
    ssh = ssh_forward.SshCommand.parse(ssh_args)
    names = [n for n in (part.strip() for part in args.only.split(",")) if n]
    ttl = parse_duration(args.ttl) if args.ttl else None
    if not names:
        raise InvalidInput("say which credentials the remote may read: tokendeck ssh --only NAME,... -- HOST")
    ping = wire.call("ping", opt_out=False)
    if ping is None or ping[0] != "0":
        raise VaultLocked(f"{remedy.NO_AGENT} (the remote asks it)")
    if ping[2] == "locked":
        raise VaultLocked(f"{remedy.AGENT_LOCKED} (the remote asks it)")
    host = ssh_forward.host_name(ssh)
    remote_dir = ssh_forward.remote_directory(ssh)
    forward_id, local_socket = request_forward(host, names, ttl, confirm=args.confirm)
    remote_socket = f"{remote_dir.rstrip('/')}/tokendeck-{forward_id}.sock"
    terminal.notice(f"forwarding {', '.join(names)} to {host} as {remote_socket}")
    terminal.notice(f"(if the remote does not accept the variable: {ssh_forward.remote_setup_line(remote_socket)})")
    asker = None
    if args.confirm:  # asked here when no TUI or desktop notification asks (vault.cli.consent_terminal)
        from vault.cli.consent_terminal import TerminalAsker

        asker = TerminalAsker(forward_id).start()
    try:
        code = subprocess.call(ssh_forward.session_argv(ssh, local_socket, remote_socket))  # noqa: S603 - the user's ssh, as given
        if code == ssh_forward.SSH_FAILED:
            terminal.notice(ssh_forward.FAILED_HINT)
        return code
    finally:
        if asker is not None:
            asker.stop()
        end_forward(forward_id)
