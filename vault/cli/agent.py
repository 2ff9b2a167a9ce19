"""``tokendeck agent start|stop|status``, ``tokendeck lock`` and ``tokendeck unlock``.

``start`` finds the key in the foreground (the usual unlock order; a passphrase
may also come on stdin when it is a pipe, which is how the TUI hands it over),
proves it by opening the vault, and hands over to :mod:`vault.agent.launch`,
which returns once the agent answers.  With an agent already running and
locked, it unlocks it instead.

Exit codes: ``start`` 0 started or unlocked, 1 already running (or it could not
start), 3 no or wrong passphrase, 5 no vault; ``status`` 0 running, 3 running but
locked, 5 not running; ``stop`` and ``lock`` 0 (also when there was no agent); ``unlock``
0 unlocked (or already), 3 no or wrong passphrase, 5 no agent.
"""

from __future__ import annotations

import argparse
import json
import os

from vault.agent import wire
from vault.cli import terminal
from vault.errors import AgentRunning, InvalidInput, NotFound, VaultError, VaultLocked
from vault.settings import AGENT_LOCK_AFTER, REFRESH_INTERVAL


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    ast.add_argument(
        "--lock-after",
        metavar="WHEN",
        help="lock after this long without a request from any client (default: the vault's lock_after in "
        f"vault.toml, else {AGENT_LOCK_AFTER / 3600:g}h; e.g. 8h, or never)",
    )
    ast.add_argument("--foreground", action="store_true", help="stay in the foreground (for systemd and tests)")
    ast.add_argument("--interval", type=float, default=REFRESH_INTERVAL, metavar="SECONDS", help=argparse.SUPPRESS)
    ast.set_defaults(handler=_start)
    asub.add_parser("stop", help="stop the agent (waits for a refresh in flight)").set_defaults(handler=_stop)
    ass = asub.add_parser("status", help="is an agent running for this vault? (exit 0 yes, 3 locked, 5 no)")
    ass.add_argument("--json", action="store_true", help="machine-readable output")
    ass.set_defaults(handler=_status)

    p = sub.add_parser("lock", help="lock the agent: it forgets the key until tokendeck unlock")
    p.set_defaults(handler=cmd_lock)
    p = sub.add_parser(
        "unlock",
        help="unlock the running agent again (the passphrase, asked on the terminal or from the usual places)",
        epilog="exit codes: 0 unlocked (or it already was); 3 wrong or no passphrase; 5 no agent runs "
        "(start one with tokendeck agent start)",
    )
    p.set_defaults(handler=cmd_unlock)


def cmd_lock(args: argparse.Namespace) -> int:
    answer = wire.call("lock", "cli", opt_out=False)
    if answer and answer[0] == "0":
        terminal.notice("the agent is locked; tokendeck unlock unlocks it again")
    else:
        terminal.notice("no agent is running; nothing to lock")
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    """``tokendeck unlock``: what a locked agent's messages name (:mod:`vault.agent.remedy`)."""
    from vault.agent.remedy import NO_AGENT

    answer = wire.call("ping", opt_out=False)
    if answer is None or answer[0] != "0":
        raise NotFound(NO_AGENT)
    if answer[2] == "unlocked":
        terminal.notice(f"the agent (pid {answer[1]}) is already unlocked")
        return 0
    return _unlock_running(answer[1])


# ------------------------------------------------------------------- start


def _start(args: argparse.Namespace) -> int:
    from vault.agent.launch import Launch, start, take_lock
    from vault.services.opening import open_unlocked, unlock

    lock_after = _lock_after(args.lock_after)
    home = wire.home_dir()
    answer = wire.call("ping", opt_out=False)
    if answer is not None and answer[0] == "0":
        if answer[2] == "unlocked":
            raise AgentRunning(
                f"an agent is already running for this vault (pid {answer[1]}); see tokendeck agent status"
            )
        return _unlock_running(answer[1])
    # Proven here, where the user can see a failure.
    paths, unlocked = unlock(prompt=terminal.passphrase_prompt(), notice=terminal.notice)
    with open_unlocked(paths, unlocked) as opened:  # anything an open settles, settled
        opened.records.verify()  # and every page checked, where the user sees a damaged file
    launch = Launch(paths, unlocked, take_lock(home), lock_after, args.interval, follow_policy=args.lock_after is None)
    if args.foreground:
        terminal.notice(
            f"agent for {paths.home} listening on {wire.socket_path(home)} (pid {os.getpid()}); ctrl+c stops it"
        )
        return start(launch, home, foreground=True)
    child = start(launch, home, foreground=False)
    terminal.notice(f"agent started (pid {child}); tokens now come from it")
    return 0


def _lock_after(given: str | None) -> float | None:
    """``--lock-after``, else the vault's policy (:mod:`vault.core.policy`); None for ``never``.

    Raises:
        InvalidInput: not a positive duration (or a ``vault.toml`` that cannot be read).
    """
    if given is None:
        from vault.core.paths import resolve_home
        from vault.core.policy import load_policy

        return load_policy(resolve_home().home).lock_after
    if given.strip().lower() == "never":
        return None
    from vault.core.timefmt import parse_duration

    seconds = parse_duration(given)
    if seconds <= 0:
        raise InvalidInput("--lock-after must be a positive duration, like 30m or 8h, or never")
    return seconds


def _unlock_running(pid: str) -> int:
    from vault.core.keys import VaultMeta, unlock_key
    from vault.core.paths import resolve_home

    passphrase = None
    meta = VaultMeta.read(resolve_home().meta)
    if meta.mode == "passphrase":  # the agent proves it
        passphrase = unlock_key(meta.slot, os.environ, terminal.passphrase_prompt()).secret.reveal()
    answer = wire.call("unlock", *([passphrase] if passphrase else []), opt_out=False)
    if answer is None:
        raise VaultError(f"the agent (pid {pid}) did not answer")
    if answer[0] != "0":
        raise wire.error_from(answer)
    terminal.notice(f"unlocked the running agent (pid {pid})")
    return 0


# ------------------------------------------------------------ stop, status


def _lock_line(state: str, facts: dict[str, str]) -> str:
    """When the agent will lock itself: ``locks after 1h without a request (in 59m 12s)``."""
    from vault.core.timefmt import duration_text

    if state != "unlocked":
        return "locked: tokens come from the vault itself until tokendeck unlock"
    if not facts.get("lock_after"):
        return "never locks by itself (lock_after never, or --lock-after never); tokendeck lock locks it"
    after = duration_text(float(facts["lock_after"]))
    left = duration_text(max(float(facts.get("locks_in") or 0), 0))
    return f"locks after {after} without a request (in {left}); tokendeck lock locks it now"


def _stop(args: argparse.Namespace) -> int:
    from vault.agent.launch import stop

    if not stop(wire.home_dir()):
        terminal.notice("no agent is running for this vault")
        return 0
    terminal.notice("the agent stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    from vault.agent.launch import lock_holder

    home = wire.home_dir()
    answer = wire.call("ping", opt_out=False)
    if answer is None or answer[0] != "0":
        holder = lock_holder(home)
        if holder is not None:
            raise VaultError(f"an agent (pid {holder}) holds this vault's lock but does not answer")
        if args.json:
            print(json.dumps({"running": False, "socket": wire.socket_path(home)}))
        else:
            print("no agent is running for this vault")
        return NotFound.exit_code
    _, pid, state, served, details = answer
    facts = dict(item.partition("=")[::2] for item in details.split())
    if args.json:
        print(json.dumps({"running": True, "pid": int(pid), "state": state, "home": served,
                          "socket": wire.socket_path(home), **facts}))  # fmt: skip
    else:
        print(f"agent running (pid {pid}), {state}, serving {served} on {wire.socket_path(home)}")
        print(_lock_line(state, facts))
    return 0 if state == "unlocked" else VaultLocked.exit_code
