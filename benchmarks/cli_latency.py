"""How long a cold ``tokendeck token`` takes, and where that time goes.

Run from the repository root::

    .venv/bin/python benchmarks/cli_latency.py [--runs N]

It builds a throw-away passphrase vault (SQLCipher's default KDF cost, exactly
as shipped), then starts fresh processes round-robin, so machine noise spreads
over every command alike:

- ``python -c pass``: the interpreter floor, same interpreter as tokendeck's;
- ``python -c "import vault.cli.parser, vault.services.opening"``: the floor plus what
  ``tokendeck token`` imports before it opens the vault (the parser with every command
  group, and the unlock code);
- ``tokendeck token gh`` and ``tokendeck list``: the real commands.

Then it starts ``tokendeck agent`` for that vault and times, in a second
round-robin: the floor again, ``gh auth token`` (the GitHub CLI reading its
plaintext ``hosts.yml``; Debian package ``gh``, skipped with a note when absent),
and ``tokendeck token``, ``list`` and ``exec`` answered through the agent.  The
headline: an encrypted vault through the agent against a plaintext file, and
against the bare interpreter.

Milliseconds are this machine's and noisy; the ratios to the floor, measured in
the same run, are what to compare between runs.  Separately, in this process,
it times unlocking the vault with its passphrase against unlocking an identical
copy re-keyed to a raw 256-bit key (what keyring mode uses): the difference is
the KDF.  Finally a child process runs ``token`` in-process and reports whether
heavy packages that a static-token read must not need were imported.

Nothing here asserts a time; it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a throw-away benchmark vault
TOKEN = "ghp_" + "b" * 36  # noqa: S105 - a fake GitHub PAT
CHILD_TIMEOUT = 60.0
IMPORTS = "import vault.cli.parser, vault.services.opening"
"""What ``tokendeck token`` imports before it opens the vault: the parser (every command group) and unlocking."""
IMPORTS_LABEL = f"python -c '{IMPORTS}'"

WATCHED = ("textual", "rich", "screens", "httpx", "authlib", "google", "keyring", "platformdirs")
"""Packages a ``token`` read of a static token from a passphrase vault has no use for."""

MUST_NOT_LOAD = ("textual", "rich", "screens", "httpx", "authlib", "google", "keyring")

IMPORT_PROBE = """
import contextlib, io, json, sys
from vault.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.stdin.read())))
print(json.dumps({"code": code, "out": out.getvalue(), "loaded": loaded, "modules": len(sys.modules)}))
"""


def tokendeck_command() -> list[str]:
    """The installed console script beside this interpreter (the venv's)."""
    script = Path(sys.executable).with_name("tokendeck")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from vault.cli import run; run()"]


def child_env(home: Path, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENDECK_")}
    env.update(
        TOKENDECK_HOME=str(home),
        TOKENDECK_PASSPHRASE=PASSPHRASE,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        XDG_DATA_HOME=str(scratch / "xdg-data"),
        XDG_CONFIG_HOME=str(scratch / "xdg-config"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cold means "new process", not "no .pyc"
    return env


def run_checked(argv: Sequence[str], env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT, check=False
    )
    if done.returncode != 0:
        sys.exit(f"benchmark setup failed: {' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def make_vault(home: Path, env: dict[str, str]) -> None:
    tokendeck = tokendeck_command()
    run_checked([*tokendeck, "init", "--passphrase"], env)
    run_checked([*tokendeck, "add", "gh", "--provider", "github-pat"], env, stdin=TOKEN + "\n")
    if run_checked([*tokendeck, "token", "gh"], env) != TOKEN + "\n":
        sys.exit("benchmark setup failed: tokendeck token gh did not print the token it was given")


def time_cold(
    commands: dict[str, list[str]], env: dict[str, str], runs: int, envs: dict[str, dict[str, str]] | None = None
) -> dict[str, list[float]]:
    """Wall time in ms of each command as a new process, ``runs`` rounds, round-robin.

    The starting command rotates every round so none always runs first (or
    right after the slowest).  One untimed round first warms the page cache
    and writes ``last_used_at`` once.  ``envs`` gives some commands their own
    environment.
    """
    names = list(commands)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(runs + 1):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            done = subprocess.run(
                commands[name],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=(envs or {}).get(name, env),
                timeout=CHILD_TIMEOUT,
                check=False,
            )
            elapsed = (time.perf_counter() - start) * 1000
            if done.returncode != 0:
                sys.exit(f"{name} exited {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
            if round_no:
                samples[name].append(elapsed)
    return samples


def print_table(samples: dict[str, list[float]], med: dict[str, float], floor: float) -> None:
    """Median and minimum of each command, and its median as a multiple of ``floor``."""
    width = max(map(len, med))
    print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>7}  {'x floor':>7}")
    for name, value in med.items():
        print(f"{name:<{width}}  {value:>9.1f}  {min(samples[name]):>7.1f}  {value / floor:>7.2f}")


def time_once(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def kdf_cost(home: Path, scratch: Path, runs: int) -> tuple[float, float, float, int]:
    """Median ms to unlock and read: full ``open_vault`` with the passphrase, the
    same store opened by passphrase, and an identical copy re-keyed to a raw key.

    Also returns the PBKDF2 iteration count SQLCipher used (its default).
    """
    from vault import open_vault
    from vault.core import store
    from vault.core.keys import Key
    from vault.core.store import Store

    if store.KDF_ITER is not None:
        sys.exit("vault.core.store.KDF_ITER is set: this benchmark measures the shipped KDF cost")

    db = home / "vault.db"
    raw_db = scratch / "raw" / "vault.db"
    raw_db.parent.mkdir(mode=0o700)
    shutil.copy2(db, raw_db)
    passphrase_key = Key.passphrase(PASSPHRASE)
    raw_key = Key.new_raw()
    copy = Store.open(raw_db, passphrase_key)
    iterations = int(copy.query("PRAGMA kdf_iter")[0][0])
    copy.rekey(raw_key)
    copy.close()

    read = "SELECT name FROM credentials"

    def open_read(path: Path, key: Key) -> Callable[[], None]:
        def go() -> None:
            s = Store.open(path, key)
            try:
                s.query(read)
            finally:
                s.close()

        return go

    def full_open() -> None:
        with open_vault(home, passphrase=PASSPHRASE) as v:
            v.credentials()

    fns = {"full": full_open, "passphrase": open_read(db, passphrase_key), "raw": open_read(raw_db, raw_key)}
    for fn in fns.values():
        fn()  # warm: imports, page cache
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):  # interleaved, like the cold runs
        for name, fn in fns.items():
            samples[name].append(time_once(fn))
    med = {name: statistics.median(values) for name, values in samples.items()}
    return med["full"], med["passphrase"], med["raw"], iterations


def import_probe(env: dict[str, str], argv: Sequence[str]) -> dict[str, object]:
    """Run ``tokendeck ARGV`` in a fresh interpreter and list which watched packages it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, *argv],
        input=json.dumps(WATCHED),
        capture_output=True,
        text=True,
        env=env,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"import probe failed: {done.stderr.strip()}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def gh_env(env: dict[str, str], scratch: Path) -> dict[str, str] | None:
    """An environment where ``gh auth token`` reads TOKEN from a plaintext hosts.yml, or None without gh."""
    if shutil.which("gh") is None:
        return None
    config = scratch / "gh"
    config.mkdir(mode=0o700)
    hosts = config / "hosts.yml"
    hosts.write_text(f"github.com:\n    oauth_token: {TOKEN}\n    user: bench\n    git_protocol: https\n")
    hosts.chmod(0o600)
    ghenv = {k: v for k, v in env.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN")}
    ghenv.update(GH_CONFIG_DIR=str(config), GH_NO_UPDATE_NOTIFIER="1", GH_PROMPT_DISABLED="1")
    if run_checked(["gh", "auth", "token"], ghenv) != TOKEN + "\n":
        sys.exit("benchmark setup failed: gh auth token did not print the token in hosts.yml")
    return ghenv


def agent_vs_plaintext(env: dict[str, str], scratch: Path, runs: int) -> None:
    """The headline: ``tokendeck token`` through the agent vs ``gh auth token`` vs the floor."""
    tokendeck = tokendeck_command()
    env = {**env, "XDG_RUNTIME_DIR": str(scratch / "run")}
    (scratch / "run").mkdir(mode=0o700)
    ghenv = gh_env(env, scratch)
    run_checked([*tokendeck, "agent", "start"], env)
    try:
        agentless = {**env, "TOKENDECK_NO_AGENT": "1"}
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "tokendeck token gh (agent)": [*tokendeck, "token", "gh"],
            "tokendeck token gh (no agent)": [*tokendeck, "token", "gh"],
            "tokendeck list (agent)": [*tokendeck, "list"],
            "tokendeck exec -e T=gh -- true (agent)": [*tokendeck, "exec", "-e", "T=gh", "--", "true"],
        }
        envs = {"tokendeck token gh (no agent)": agentless}
        if ghenv is not None:
            commands["gh auth token"] = ["gh", "auth", "token"]
            envs["gh auth token"] = ghenv
        if run_checked([*tokendeck, "token", "gh"], {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}) != (
            TOKEN + "\n"
        ):
            sys.exit("benchmark setup failed: the agent did not answer tokendeck token gh")
        samples = time_cold(commands, env, runs, envs)
    finally:
        run_checked([*tokendeck, "agent", "stop"], env)
    med = {name: statistics.median(values) for name, values in samples.items()}
    floor, agent = med["python -c pass"], med["tokendeck token gh (agent)"]
    print(f"\nthrough the agent ({runs} runs per command, round-robin):")
    print_table(samples, med, floor)
    print(f"tokendeck token through the agent: {agent / floor:.2f}x the bare interpreter (target <= 1.5)", end="")
    if "gh auth token" in med:
        print(f", {agent / med['gh auth token']:.2f}x gh auth token (target <= 1.0)")
    else:
        print("; gh is not installed (apt-get install gh), so no comparison with it")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="cold processes per command (default 15)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    scratch = Path(tempfile.mkdtemp(prefix="tokendeck-bench-"))
    try:
        home = scratch / "home"
        env = child_env(home, scratch)
        make_vault(home, env)

        tokendeck = tokendeck_command()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            IMPORTS_LABEL: [sys.executable, "-c", IMPORTS],
            "tokendeck token gh": [*tokendeck, "token", "gh"],
            "tokendeck list": [*tokendeck, "list"],
        }
        samples = time_cold(commands, env, args.runs)
        med = {name: statistics.median(values) for name, values in samples.items()}
        floor = med["python -c pass"]

        print(f"tokendeck cold-start latency: {args.runs} runs per command, round-robin")
        print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]})")
        print("milliseconds are this machine's and noisy; compare the ratios\n")
        print_table(samples, med, floor)

        full, by_passphrase, by_raw, iterations = kdf_cost(home, scratch, args.runs)
        kdf = by_passphrase - by_raw
        token_ms = med["tokendeck token gh"]
        imports_ms = med[IMPORTS_LABEL] - floor
        print(f"\nunlock + first read, in-process (median of {args.runs}):")
        print(f"  open_vault(passphrase=...)        {full:7.1f} ms")
        print(f"  Store.open, passphrase key        {by_passphrase:7.1f} ms  (PBKDF2 iterations: {iterations})")
        print(f"  Store.open, raw key (same data)   {by_raw:7.1f} ms")
        print(
            f"KDF share: {kdf:.1f} ms of tokendeck token's {token_ms:.1f} ms = {kdf / token_ms:.0%} "
            f"(imports beyond the floor: {imports_ms:.1f} ms)"
        )

        agent_vs_plaintext(env, scratch, args.runs)

        print("\nmodules loaded by an in-process `tokendeck token gh` (passphrase vault, static token):")
        probe = import_probe(env, ["token", "gh"])
        loaded = probe["loaded"]
        token_ok = probe["out"] == TOKEN + "\n"
        assert isinstance(loaded, list)  # noqa: S101 - shape of our own child's JSON
        for package in WATCHED:
            state = "LOADED" if package in loaded else "not loaded"
            flag = "  <-- should not be" if package in loaded and package in MUST_NOT_LOAD else ""
            print(f"  {package:<13} {state}{flag}")
        print(f"  ({probe['modules']} modules in sys.modules; token printed correctly: {token_ok})")
        leaks = [p for p in MUST_NOT_LOAD if p in loaded]
        if leaks or probe["code"] != 0 or not token_ok:
            print(f"FINDING: `tokendeck token` loaded {', '.join(leaks) or 'nothing extra'}; exit {probe['code']}")
            return 1
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
