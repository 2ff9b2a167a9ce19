"""``tokendeck proxy run``: run a command with placeholders instead of tokens, through a loopback
proxy that swaps the real token in only on requests to the hosts it is for (issue 35).

``tokendeck proxy run --allow NAME[=HOST,...] [--allow ...] [-e VAR=NAME ...] -- CMD [ARGS...]``
checks everything before it starts anything: the ``--allow`` and ``-e`` lists, that CMD exists
(127 when not), that the engine is installed, that every NAME exists (5) and has hosts it may
go to.  Then it takes the vault's CA (made on first use), writes the trust bundle, starts the
engine on loopback with a user and password of this run's, runs CMD with
:func:`vault.proxy.environment.child_environment`, and stops the proxy when CMD ends, exiting
with CMD's code.  Each run's start and end are audited (``proxy-run``) with CMD's name only:
its arguments may hold secrets.

With a running, unlocked agent for the vault, the setup, every token and the audit rows go
through it (no passphrase asked); without one the vault is opened here and stays open for the
run (:mod:`vault.proxy.source`).  Either way each request's token is asked for when it is needed
(refreshed when due, as ``tokendeck token`` does), never kept.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from vault.cli.exec import find_command, parse_bindings, split_command
from vault.errors import InvalidInput, ProxyUnavailable, VaultError
from vault.settings import AGENT_SOCK_ENV, PATH_ENV

if TYPE_CHECKING:
    import argparse
    from types import ModuleType

    from vault.proxy.source import AgentSource, AuditWriter, LocalSource
    from vault.proxy.stand_ins import StandIns

    Source = AgentSource | LocalSource

USAGE = "usage: tokendeck proxy run --allow NAME[=HOST,...] [--allow ...] [-e VAR=NAME ...] -- CMD [ARGS...]"
ENGINE_MODULE = "vault.proxy.engine"
NO_ENGINE = "no proxy engine in this tokendeck yet; nothing was started"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    import argparse

    group = sub.add_parser(
        "proxy",
        help="give a command placeholders; a loopback proxy puts the real tokens in for their hosts only",
        description="Commands of the placeholder proxy.",
    )
    inner = group.add_subparsers(dest="proxy_command", metavar="{run,runs}", required=True)
    p = inner.add_parser(
        "run",
        help="run a command through the placeholder proxy",
        usage=USAGE[len("usage: ") :],
        description="Run CMD with a placeholder in place of each allowed credential's token, and "
        "HTTPS_PROXY set to a proxy on 127.0.0.1 that only this run can use: on a request to a host "
        "the credential is for, the proxy replaces the placeholder with the fresh token; anywhere else "
        "the placeholder is worthless. CMD trusts tokendeck's CA through SSL_CERT_FILE and the like.",
        epilog="exit codes: CMD's own once it runs (128+N when signal N ends it); 1 the proxy could not start "
        "(no engine, a CA bundle that cannot be written, a port that cannot be bound); 2 bad --allow, -e or "
        "no -- CMD; 5 no such credential; 126 CMD cannot be executed; 127 CMD not found. Nothing starts unless "
        "every check passes.",
    )
    p.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="NAME[=HOST,...]",
        help="let CMD use credential NAME, on its provider's hosts or on the HOSTs given (*.example.com allowed)",
    )
    p.add_argument(
        "-e",
        dest="env",
        action="append",
        default=[],
        metavar="VAR=NAME",
        help="put NAME's placeholder in $VAR (default: the provider's usual variables, e.g. GITHUB_TOKEN and GH_TOKEN)",
    )
    from vault.cli.consent_terminal import add_confirm_argument

    add_confirm_argument(p, "a request the proxy puts a token in; needs the agent")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the command to run")
    p.set_defaults(handler=cmd_proxy_run)
    from vault.cli.proxy_runs import add_parser as add_runs

    add_runs(inner)


def load_engine() -> ModuleType:
    """The engine module, imported only now.

    Raises:
        ProxyUnavailable: it is not installed (exit 1).
    """
    import importlib

    try:
        return importlib.import_module(ENGINE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == ENGINE_MODULE or not (exc.name or "").startswith("vault"):  # it, or what it needs
            raise ProxyUnavailable(NO_ENGINE) from None
        raise


def cmd_proxy_run(args: argparse.Namespace) -> int:
    from vault.services.proxy_hosts import parse_allow

    allowed = parse_allow(args.allow)
    bindings = parse_bindings(args.env) if args.env else []
    names = [name for name, _ in allowed]
    for var, name in bindings:
        if name not in names:
            from vault.core.masking import echo

            raise InvalidInput(f"-e {var}=...: {echo(name)} is not among the --allow names")
    command = split_command(args.argv, env_file=False, usage=USAGE)
    find_command(command[0], os.environ.get(PATH_ENV))
    engine = load_engine()

    from vault.cli import terminal
    from vault.proxy.source import AgentSource, LocalSource
    from vault.proxy.stand_ins import stand_ins

    routes = stand_ins(os.environ)
    through_agent = AgentSource.start(allowed)  # an unlocked agent: no passphrase asked here
    if through_agent is not None:
        session_id, path = _open_session(command, args.confirm)
        if args.confirm is None:
            return _run(through_agent, engine, bindings, command, routes, session=path)
        from vault.cli.consent_terminal import TerminalAsker

        asker = TerminalAsker(session_id).start()
        try:
            return _run(through_agent, engine, bindings, command, routes, session=path)
        finally:
            asker.stop()
    if args.confirm is not None:
        from vault.errors import VaultLocked

        raise VaultLocked("proxy run --confirm needs the agent running and unlocked (tokendeck agent start)")
    with terminal.open_vault() as vault:
        # no agent, no session: the command's tokendeck calls get a socket nobody answers, so an
        # honest one is refused in one line instead of asking for the passphrase
        from vault.agent.wire import runtime_dir

        nobody = os.path.join(runtime_dir(), f"proxy-run-{os.getpid()}-no-agent.sock")
        return _run(LocalSource(vault, allowed), engine, bindings, command, routes, session=nobody)


def _run(
    source: Source,
    engine: ModuleType,
    bindings: list[tuple[str, str]],
    command: list[str],
    routes: StandIns,
    session: str | None = None,
) -> int:
    import secrets
    import time

    from vault.agent.wire import runtime_dir
    from vault.cli import terminal
    from vault.core.masking import echo
    from vault.proxy.ca import write_bundle
    from vault.proxy.environment import child_environment, default_variables
    from vault.proxy.placeholders import placeholders_for
    from vault.proxy.readers import Readers
    from vault.proxy.source import AuditWriter

    setup = source.setup
    hosts = {c.name: c.hosts for c in setup.credentials}
    real = {c.name: c.token.reveal() if c.token else None for c in setup.credentials}
    placeholders = placeholders_for((c.name, c.base, real[c.name]) for c in setup.credentials)
    variables: dict[str, str] = {}
    for c in setup.credentials:
        named = [var for var, bound in bindings if bound == c.name]
        for var in named or default_variables(c.name, c.base):
            variables.setdefault(var, placeholders[c.name])

    bundle = write_bundle(runtime_dir(), setup.ca_cert_pem)
    program = os.path.basename(command[0])
    run = secrets.token_hex(4)  # names this run in every audit row it writes: tokendeck audit --run
    told = Told()
    fetched: list[str] = []
    readers = Readers()

    def token_for(name: str, host: str = "") -> str:
        from vault.errors import NeedsSignIn

        try:
            token = source.token(name, host)
        except NeedsSignIn as exc:  # the request goes on without the token: the provider answers it
            told.once(name, f"proxy: {name}'s requests go out without a token ({exc.message})")
            raise
        fetched.append(token)  # masked in the command's output from then on (a server may echo it)
        return token

    def on_event(event: Any) -> None:
        fields = {k: getattr(event, k, None) for k in ("host", "method", "path", "outcome")}
        detail = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None and k != "outcome")
        credential = getattr(event, "credential", None)
        if fields["outcome"] == "upstream-refused" and credential:
            told.once(
                credential,
                f"proxy: {fields['host']} refused {credential}'s token ({getattr(event, 'reason', '')}): "
                f"it may be revoked or lack a scope; see tokendeck show {credential}",
            )
        reader = readers.of(getattr(event, "connection", 0), getattr(event, "client_port", None))
        said = f"{detail}" + (f" reader={reader}" if reader else "") + f" command={program} run={run}"  # run= last
        row = ("proxy", str(fields["outcome"] or "ok"), credential, said.strip(), time.time())
        audit.put(row)

    rule = getattr(engine, "Rule", None)
    rules = {
        placeholders[name]: (rule(name, hosts[name]) if rule is not None else (name, hosts[name])) for name in hosts
    }
    auth = ("tokendeck", secrets.token_urlsafe(24))
    warning = routes.warning()
    if warning is not None:
        terminal.notice(warning)
    audit = AuditWriter(source.write)
    try:
        proxy = engine.start_proxy(
            ca_cert_pem=setup.ca_cert_pem,
            ca_key_pem=setup.ca_key_pem,
            rules=rules,
            token_for=token_for,
            on_event=on_event,
            auth=auth,
            upstream_cafile=routes.upstream_cafile,
            resolve=routes.resolve,
        )
    except OSError as exc:  # the listening socket: no loopback, no port, no file descriptors
        _remove(bundle)
        _close(audit)
        raise ProxyUnavailable(
            f"the proxy could not listen on 127.0.0.1 ({exc.strerror}); nothing was started"
        ) from None
    except BaseException:
        _remove(bundle)
        _close(audit)
        raise
    try:
        env = child_environment(
            os.environ,
            placeholders=variables,
            port=proxy.port,
            auth=auth,
            bundle=bundle,
            allowed_hosts=sorted({h for hs in hosts.values() for h in hs}),
        )
        if session is not None:
            env[AGENT_SOCK_ENV] = session  # its tokendeck reads go to the run's session, which serves none
        for var, value in env.items():
            held = [name for name, token in real.items() if token and token in value]
            if held:
                raise VaultError(
                    f"${var} holds the token of {echo(held[0])}: unset it first; the command was not started"
                )
        audit.put(("proxy-run", "started", None, f"command={program} allow={','.join(hosts)} run={run}", time.time()))
        code = _child(command, env, [t for t in real.values() if t], fetched)
        audit.put(("proxy-run", "ended", None, f"command={program} exit={code} run={run}", time.time()))
        return code
    finally:
        proxy.stop()
        _remove(bundle)
        _close(audit)


class Told:
    """The lines a run says on stderr about a credential: one per credential per run."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._told: set[str] = set()

    def once(self, credential: str, line: str) -> None:
        from vault.cli import terminal

        with self._lock:
            if credential in self._told:
                return
            self._told.add(credential)
        terminal.notice(line)


def _close(audit: AuditWriter) -> None:
    """Write the run's last audit rows; those the agent could not take (it locked) are written
    with the vault opened here, else one line says how many were lost."""
    left = audit.close()
    if not left:
        return
    from vault.cli import terminal
    from vault.services.proxying import record

    try:
        with terminal.open_vault() as vault:
            record(vault, left)
    except VaultError as exc:
        terminal.notice(f"proxy: {len(left)} audit row(s) of this run could not be written: {exc.message}")


def _open_session(command: list[str], confirm: str | None = None) -> tuple[str, str]:
    """Make COMMAND's tree a session of the agent (issue 36) in which no token is read directly:
    this process, the proxy, becomes a child subreaper (a double fork stays below it) and the
    session's root (``confirm``: ``each`` or ``once``, its ``--confirm``); its id, and its socket
    path for COMMAND's ``$TOKENDECK_AGENT_SOCK``.

    Raises:
        VaultError: the agent refused (it stopped or locked since the setup).
    """
    from vault.agent import wire
    from vault.core.peers import become_subreaper
    from vault.errors import VaultLocked

    become_subreaper()
    kind = "proxy" if confirm is None else f"proxy:{confirm}"
    opened = wire.call("session-open", kind, "", os.path.basename(command[0]), opt_out=False)
    if opened is None or opened[0] == wire.FALL_BACK:
        raise VaultLocked("the agent stopped answering before the run started; nothing was started")
    if opened[0] != "0":
        raise wire.error_from(opened)
    return opened[1], opened[2]


def _child(command: list[str], env: dict[str, str], secrets: list[str], fetched: list[str]) -> int:
    """Run ``command`` to its end, every token the run holds or fetches masked in its output
    (:mod:`vault.cli.masked_run`, as ``tokendeck exec``); its exit code (128 + N for a signal N)."""
    from vault.cli.masked_run import run_masked

    return run_masked(command, env, secrets, fetched)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
