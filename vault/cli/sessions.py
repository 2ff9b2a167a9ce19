"""``tokendeck sessions [--json] [--end ID]``: the running agent's sessions (issue 36), a table as
``list`` prints one: its id, the command, what it may read, how many reads it was served, when it ends; ``--end``
ends one at once (its socket goes; the command's next read is refused in one line).

Sessions are opened by ``tokendeck exec --session`` (:mod:`vault.cli.exec_session`) and kept by
the agent (:mod:`vault.agent.sessions`); this command only asks it.
"""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sessions",
        help="list the agent's sessions (tokendeck exec --session), or end one",
        description="The sessions the running agent serves: each command run with tokendeck exec --session, "
        "what it may read, how many reads it was served, and when it ends.",
        epilog="exit codes: 0 listed or ended; 3 no agent running and unlocked; 5 no session with that id.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--end", metavar="ID", help="end session ID now (its command's next read is refused)")
    p.set_defaults(handler=cmd_sessions)


def cmd_sessions(args: argparse.Namespace) -> int:
    import json
    import sys
    import time

    from vault.agent import remedy
    from vault.agent.forwarding import active_forwards, end_forward
    from vault.core.masking import echo
    from vault.errors import NotFound, VaultLocked, printable

    forwards = active_forwards()
    if forwards is None:
        raise VaultLocked(f"{remedy.NO_AGENT}: sessions live in the agent")
    sessions = [f for f in forwards if f.get("session")]
    if args.end is not None:
        found = next((s for s in sessions if s["session"] == args.end), None)
        if found is None:
            raise NotFound(f"no session {echo(args.end)} (tokendeck sessions lists them)")
        end_forward(str(found["id"]))
        print(f"tokendeck: ended session {args.end} ({printable(str(found['host']))})", file=sys.stderr)
        return 0
    if args.json:
        rows = [
            {
                "id": s["session"],
                "command": s["host"],
                "names": s["names"],
                "served": s["served"],
                "ends_at": s["ends_at"],
            }
            for s in sessions
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if sessions:
        from vault.core.timefmt import expiry
        from vault.services.listing import table

        now = time.time()
        lines = [["ID", "COMMAND", "MAY READ", "SERVED", "ENDS"]]
        for s in sessions:
            ends = s.get("ends_at")
            given = s["names"]
            names = ",".join(str(n) for n in given) if isinstance(given, list) and given else "-"
            left = "with its command" if ends is None else expiry(float(str(ends)), now)
            lines.append([str(s["session"]), str(s["host"]), names, str(s["served"]), left])
        sys.stdout.write(table(lines))
    if not sessions:
        print("tokendeck: no sessions (tokendeck exec --session starts one)", file=sys.stderr)
    return 0
