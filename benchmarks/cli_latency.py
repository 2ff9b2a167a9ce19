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
and ``tokendeck token``, ``list``, ``exec`` and ``completion names`` (what a shell's TAB
runs) answered through the agent, and ``completion names`` without one.  The
headline: an encrypted vault through the agent against a plaintext file, and
against the bare interpreter.

Last, the command as a user installs it: a non-editable ``pip install .`` of this checkout
into a fresh virtualenv (in a temporary directory, with the pip that virtualenv comes with),
and that virtualenv's agent: ``tokendeck token gh`` through the installed command, against
``python -c pass`` of the same virtualenv, and against the wrapper that pip generates for a
``[project.scripts]`` entry point (written beside it by that pip's own script maker: what the
command was before it became a plain script; some pips' wrapper imports ``re``).  Target
through the agent: <= 1.2x.

Milliseconds are this machine's and noisy; the ratios to the floor, measured in
the same run, are what to compare between runs.  Separately, in this process,
it times unlocking the vault with its passphrase against unlocking an identical
copy re-keyed to a raw 256-bit key (what keyring mode uses): the difference is
the KDF.  Finally a child process runs ``token`` in-process and reports whether
heavy packages that a static-token read must not need were imported.

Nothing here asserts a time; it prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CHILD_TIMEOUT,
    REPO,
    child_env,
    kdf_cost,
    medians,
    parse_runs,
    print_preamble,
    print_table,
    run_checked,
    scratch_dir,
    time_cold,
    tokendeck_command,
)

TOKEN = "ghp_" + "b" * 36  # noqa: S105 - a fake GitHub PAT
IMPORTS = "import vault.cli.parser, vault.services.opening"
"""What ``tokendeck token`` imports before it opens the vault: the parser (every command group) and unlocking."""
IMPORTS_LABEL = f"python -c '{IMPORTS}'"

WATCHED = ("textual", "rich", "screens", "httpx", "httpx2", "authlib", "google", "keyring", "platformdirs")
"""Packages a ``token`` read of a static token from a passphrase vault has no use for."""

MUST_NOT_LOAD = ("textual", "rich", "screens", "httpx", "httpx2", "authlib", "google", "keyring")

IMPORT_PROBE = """
import contextlib, io, json, sys
from vault.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.stdin.read())))
print(json.dumps({"code": code, "out": out.getvalue(), "loaded": loaded, "modules": len(sys.modules)}))
"""


def make_vault(home: Path, env: dict[str, str]) -> None:
    tokendeck = tokendeck_command()
    run_checked([*tokendeck, "init", "--passphrase"], env)
    run_checked([*tokendeck, "add", "gh", "--provider", "github-pat"], env, stdin=TOKEN + "\n")
    if run_checked([*tokendeck, "token", "gh"], env) != TOKEN + "\n":
        sys.exit("benchmark setup failed: tokendeck token gh did not print the token it was given")


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
    env = {**env, "TOKENDECK_RUNTIME_DIR": str(scratch / "run" / "tokendeck")}  # never the developer's agent
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
            "tokendeck completion names (agent)": [*tokendeck, "completion", "names"],
            "tokendeck completion names (no agent)": [*tokendeck, "completion", "names"],
        }
        envs = {"tokendeck token gh (no agent)": agentless, "tokendeck completion names (no agent)": agentless}
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
    med = medians(samples)
    floor, agent = med["python -c pass"], med["tokendeck token gh (agent)"]
    print(f"\nthrough the agent ({runs} runs per command, round-robin):")
    print_table(samples, med, floor)
    print(f"tokendeck token through the agent: {agent / floor:.2f}x the bare interpreter (target <= 1.5)", end="")
    if "gh auth token" in med:
        print(f", {agent / med['gh auth token']:.2f}x gh auth token (target <= 1.0)")
    else:
        print("; gh is not installed (apt-get install gh), so no comparison with it")
    names, none = med["tokendeck completion names (agent)"], med["tokendeck completion names (no agent)"]
    print(
        f"a TAB's credential names: {names / floor:.2f}x the bare interpreter through the agent, "
        f"{none / floor:.2f}x without one (it unlocks nothing)"
    )


WRAPPER = """
import sys
from pip._internal.operations.install.wheel import PipScriptMaker
maker = PipScriptMaker(None, sys.argv[1])
maker.clobber, maker.variants, maker.set_mode = True, {""}, True
print(maker.make("tokendeck-wrapper = vault.cli:run")[0])
"""
"""Writes, with the virtualenv's own pip, the wrapper it generates for ``tokendeck = vault.cli:run``."""


FLOOR = "python -c pass (installed venv)"
PLAIN = "tokendeck token gh (agent; plain script)"
WRAPPED = "tokendeck token gh (agent; pip's wrapper)"


def install_fresh(scratch: Path) -> tuple[Path, str]:
    """A fresh virtualenv with this checkout installed the README's way (not editable), and its
    pip's version.  The interpreter is the one this venv was made from."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    venv = scratch / "installed"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")}
    run_checked([base, "-m", "venv", str(venv)], env)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    constraints = REPO / "requirements" / "ci-constraints.txt"  # the same versions as the dev venv
    extra = ["--constraint", str(constraints)] if constraints.exists() else []
    done = subprocess.run(
        [*pip, "install", "--quiet", "--disable-pip-version-check", *extra, str(REPO)],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"benchmark setup failed: pip install . exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    version = run_checked([*pip, "--version"], env).split()[1]
    return venv, version


def installed_vs_floor(env: dict[str, str], scratch: Path, runs: int) -> None:
    """``tokendeck token`` as a user installs it, through its agent, against that venv's floor."""
    started = time.monotonic()
    venv, pip_version = install_fresh(scratch)
    python, command = venv / "bin" / "python", venv / "bin" / "tokendeck"
    wrapper = Path(run_checked([str(python), "-c", WRAPPER, str(venv / "bin")], env).strip())
    imports_re = "import re" in wrapper.read_text()
    env = {**env, "TOKENDECK_RUNTIME_DIR": str(scratch / "run-installed" / "tokendeck")}
    (scratch / "run-installed").mkdir(mode=0o700)
    run_checked([str(command), "agent", "start"], env)
    try:
        unlocked = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}
        for script in (command, wrapper):
            if run_checked([str(script), "token", "gh"], unlocked) != TOKEN + "\n":
                sys.exit(f"benchmark setup failed: {script.name} token gh did not answer through the agent")
        commands = {
            FLOOR: [str(python), "-c", "pass"],
            PLAIN: [str(command), "token", "gh"],
            WRAPPED: [str(wrapper), "token", "gh"],
            "tokendeck list (agent; plain script)": [str(command), "list"],
        }
        samples = time_cold(commands, unlocked, runs)
    finally:
        run_checked([str(command), "agent", "stop"], env)
    med = medians(samples)
    floor, plain, generated = med[FLOOR], med[PLAIN], med[WRAPPED]
    print(f"\ninstalled as a user installs it (pip install . into a fresh venv: pip {pip_version}; ", end="")
    print(f"setup {time.monotonic() - started:.0f} s; {runs} runs per command, round-robin):")
    said = "imports re" if imports_re else "does not import re"
    print(f"pip's generated wrapper {said} (before: the command was it)")
    print_table(samples, med, floor)
    low = {name: min(values) for name, values in samples.items()}
    low_floor, plain_low, generated_low = low[FLOOR], low[PLAIN], low[WRAPPED]
    print(f"installed tokendeck token through the agent: {plain / floor:.2f}x its venv's bare interpreter ", end="")
    print(f"(target <= 1.2); with pip's wrapper {generated / floor:.2f}x")
    print(f"  by the fastest run of each (less noise on a busy machine): {plain_low / low_floor:.2f}x; ", end="")
    print(f"with pip's wrapper {generated_low / low_floor:.2f}x")


def main(argv: Sequence[str] | None = None) -> int:
    runs = parse_runs(__doc__, argv, default=15, what="cold processes per command")

    with scratch_dir("latency") as scratch:
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
        samples = time_cold(commands, env, runs)
        med = medians(samples)
        floor = med["python -c pass"]

        print_preamble(f"tokendeck cold-start latency: {runs} runs per command, round-robin")
        print_table(samples, med, floor)

        full, by_passphrase, by_raw, iterations = kdf_cost(home, scratch, runs)
        kdf = by_passphrase - by_raw
        token_ms = med["tokendeck token gh"]
        imports_ms = med[IMPORTS_LABEL] - floor
        print(f"\nunlock + first read, in-process (median of {runs}):")
        print(f"  open_vault(passphrase=...)        {full:7.1f} ms")
        print(f"  Store.open, passphrase key        {by_passphrase:7.1f} ms  (PBKDF2 iterations: {iterations})")
        print(f"  Store.open, raw key (same data)   {by_raw:7.1f} ms")
        print(
            f"KDF share: {kdf:.1f} ms of tokendeck token's {token_ms:.1f} ms = {kdf / token_ms:.0%} "
            f"(imports beyond the floor: {imports_ms:.1f} ms)"
        )

        agent_vs_plaintext(env, scratch, runs)
        installed_vs_floor(env, scratch, runs)

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


if __name__ == "__main__":
    sys.exit(main())
