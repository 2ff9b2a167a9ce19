"""How long a cold ``tokendeck token NAME`` takes when it has to refresh, and what the OAuth
stack's HTTP layer costs to import.

Run from the repository root::

    .venv/bin/python benchmarks/cold_refresh.py [--runs N]

It starts the loopback Authlib server (``tests/support/authserver.py``, on threads of this
process, which only waits while a child runs), builds a throw-away passphrase vault
(SQLCipher's default KDF, as shipped) with the server registered as provider ``acme`` by
discovery, a static token ``gh``, and one OAuth credential per run whose access token has
already expired.  Then, ``--runs`` rounds round-robin (the first command rotating, after
one untimed round), each as a new process of this venv's interpreter:

- ``python -c pass``: the floor;
- ``tokendeck token gh``: a static token, no network (the unlock and the read);
- ``tokendeck token cold-N``: an expired credential, so the command loads the OAuth stack,
  refreshes over loopback and saves the rotated tokens before it prints (each round its own
  credential: every run is a real refresh).

``refresh - static`` is what the refresh adds: the OAuth stack's imports, the TLS-less
loopback exchange, the durable save.  Separately, the import of the OAuth code's HTTP layer
(``import vault.oauth.http``: the HTTP library and its connection layer, with tokendeck's
deadline transport) as cold processes, and how many modules it loads beyond the interpreter's
own start-up.

Milliseconds are this machine's and noisy; compare the ratios to the floor, measured in the
same run.  Nothing here asserts a time; it prints.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CHILD_TIMEOUT,
    CLIENT_ID,
    PASSPHRASE,
    child_env,
    medians,
    parse_runs,
    print_preamble,
    print_table,
    register_provider,
    run_checked,
    scratch_dir,
    spawn_ms,
    store_expired,
    tokendeck_command,
)

STATIC = "ghp_" + "c" * 36  # noqa: S105 - a fake GitHub PAT
HTTP_LAYER = "import vault.oauth.http"
COUNT = "import sys, json\nbase = set(sys.modules)\n{code}\nprint(json.dumps(sorted(set(sys.modules) - base)))"


def seed(home: Path, issuer: str, tokens: list[dict[str, str]]) -> None:
    """Register the loopback provider and store ``cold-0``... with these tokens, all expired."""
    from vault import open_vault

    with open_vault(home, passphrase=PASSPHRASE) as v:
        register_provider(v, issuer)
        store_expired(v, [f"cold-{i}" for i in range(len(tokens))], tokens)


def modules_loaded(code: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", COUNT.format(code=code)],
        capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT, check=True,
    )  # fmt: skip
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def main(argv: list[str] | None = None) -> int:
    runs = parse_runs(__doc__, argv, default=15, what="timed rounds of each command")
    from tests.support.authserver import running_auth_server

    print_preamble(f"tokendeck cold refresh: {runs} runs per command, round-robin")
    tokendeck = tokendeck_command()
    with scratch_dir("cold-refresh") as scratch, running_auth_server() as server:
        server.register_client(CLIENT_ID)
        home = scratch / "home"
        env = {**child_env(home, scratch), "TOKENDECK_NO_AGENT": "1"}
        run_checked([*tokendeck, "init", "--passphrase"], env)
        run_checked([*tokendeck, "add", "gh", "--provider", "github-pat"], env, stdin=STATIC + "\n")
        tokens = [server.issue_token(CLIENT_ID) for _ in range(runs + 1)]
        seed(home, server.issuer, tokens)

        floor, static, refresh, layer = (
            "python -c pass",
            "tokendeck token gh (static)",
            "tokendeck token (refresh)",
            (f"python -c '{HTTP_LAYER}'"),
        )
        commands = {
            floor: [sys.executable, "-c", "pass"],
            static: [*tokendeck, "token", "gh"],
            refresh: [],
            layer: [sys.executable, "-c", HTTP_LAYER],
        }
        names = list(commands)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for round_no in range(runs + 1):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                argv = commands[name] or [*tokendeck, "token", f"cold-{round_no}"]
                elapsed = spawn_ms(argv, env, name=name)
                if round_no:
                    samples[name].append(elapsed)
        refreshed = server.token_request_count("refresh_token")
        server.assert_no_server_errors()
        if refreshed != runs + 1:
            sys.exit(f"expected {runs + 1} refreshes at the server, saw {refreshed}")
        layer_modules = modules_loaded(HTTP_LAYER, env)

    med = medians(samples)
    print_table(samples, med, med[floor])
    print(f"\nthe refresh adds {med[refresh] - med[static]:.1f} ms to a static read "
          f"(median of {runs}; min {min(samples[refresh]) - min(samples[static]):.1f} ms)")  # fmt: skip
    print(f"cold refresh: {med[refresh] / med[floor]:.2f}x python -c pass")
    roots = sorted({m.split(".")[0] for m in layer_modules} - set(sys.stdlib_module_names))
    print(f"{HTTP_LAYER}: {med[layer] - med[floor]:.1f} ms over the floor, {len(layer_modules)} modules "
          f"beyond start-up; third-party roots: {', '.join(roots)}")  # fmt: skip
    print(f"spread of the refresh runs: stdev {statistics.stdev(samples[refresh]):.1f} ms" if runs > 1 else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
