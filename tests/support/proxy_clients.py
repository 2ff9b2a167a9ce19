"""Real clients through the real `tokendeck proxy run` (issue 35), against loopback stand-ins.

A `Stage` holds a vault made by `tokendeck init` and `tokendeck add` (a GitHub PAT named `gh`, its
token `TOKEN`), HTTPS stand-ins for GitHub's hosts (which answer 401 unless they get `TOKEN`, and
serve a bare repository over git's smart HTTP) and for `elsewhere.test`, and the stand-in variables
(`TOKENDECK_PROXY_RESOLVE`, `TOKENDECK_PROXY_UPSTREAM_CA`) that make the proxy connect to them.

`Stage.run(script)` runs `tokendeck proxy run --allow gh -- AGENT`, AGENT a shell script that saves
its environment and then runs `script` with its output saved: what the child held and said, and
what tokendeck itself printed, come back separately, so a test can look for the real token in each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.proxy_servers import StandIn, StandInCA, bare_repository, make_ca, serve, write_bundle

PASS = "proxy clients test passphrase"
TOKEN = "ghp_" + "RealTokenOfTheVault0" + "1" * 16
"""The real token: only the stand-ins may ever see it."""
TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
GITHUB_HOSTS = ("api.github.com", "github.com")


def vault_env(home: Path) -> dict[str, str]:
    """The environment `tokendeck` runs in: this vault home and passphrase, a user home beside it,
    no agent, no keyring, and nothing of the caller's proxy or CA settings."""
    keep = ("PATH", "LANG", "TOKENDECK_RUNTIME_DIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    user_home = home.parent / "user-home"
    user_home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(user_home),
        TOKENDECK_HOME=str(home),
        TOKENDECK_PASSPHRASE=PASS,
        TOKENDECK_NO_AGENT="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def make_vault(home: Path) -> Path:
    """A passphrase vault at home holding `gh` (github-pat, `TOKEN`), made by the real commands."""
    env = vault_env(home)
    for argv, stdin in ((["init"], ""), (["add", "gh", "--provider", "github-pat"], TOKEN + "\n")):
        done = subprocess.run(
            [TOKENDECK, *argv], input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
    return home


@dataclass
class Proxied:
    """One `tokendeck proxy run`: its exit code and its own output; the child's environment and output."""

    code: int
    out: str
    err: str
    env: dict[str, str]
    output: str

    @property
    def placeholder(self) -> str:
        return self.env["GITHUB_TOKEN"]

    def assert_only_placeholders(self) -> None:
        """The child held and printed the placeholder, never the token; tokendeck printed no token."""
        assert self.placeholder.startswith("ghp_") and self.placeholder != TOKEN
        assert self.env["GH_TOKEN"] == self.placeholder
        assert [var for var, value in self.env.items() if TOKEN in value] == []
        assert TOKEN not in self.output
        assert TOKEN not in self.out + self.err


@dataclass
class Stage:
    tmp: Path
    home: Path
    upstream: StandInCA
    github: StandIn
    elsewhere: StandIn
    extra_resolve: dict[str, int] = field(default_factory=dict)
    runs: int = 0

    @property
    def repository(self) -> Path:
        return self.tmp / "git" / "octo" / "repo.git"

    def env(self, **extra: str) -> dict[str, str]:
        resolve = {host: self.github.port for host in GITHUB_HOSTS}
        resolve["elsewhere.test"] = self.elsewhere.port
        resolve.update(self.extra_resolve)
        env = vault_env(self.home)
        user_home = Path(env["HOME"])
        env.update(
            TOKENDECK_PROXY_RESOLVE=",".join(f"{host}={port}" for host, port in resolve.items()),
            TOKENDECK_PROXY_UPSTREAM_CA=str(self.tmp / "upstream-ca.pem"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            GH_CONFIG_DIR=str(user_home / "gh"),
            GH_NO_UPDATE_NOTIFIER="1",
            GH_PROMPT_DISABLED="1",
        )
        env.update(extra)
        return env

    def run(self, script: str, *, allow: tuple[str, ...] = ("gh",), **extra: str) -> Proxied:
        """`tokendeck proxy run --allow A... -- AGENT`, AGENT running `script` (sh) in a directory of its own."""
        self.runs += 1
        out = self.tmp / f"run-{self.runs}"
        out.mkdir()
        agent = out / "agent"
        agent.write_text(f'#!/bin/sh\nenv -0 > "{out}/env"\ncd "{out}"\n{{\n{script}\n}} > "{out}/output" 2>&1\n')
        agent.chmod(0o755)
        argv = [TOKENDECK, "proxy", "run"]
        for name in allow:
            argv += ["--allow", name]
        done = subprocess.run(
            [*argv, "--", str(agent)], capture_output=True, text=True, env=self.env(**extra), timeout=120, check=False
        )
        env_file, output_file = out / "env", out / "output"
        env = {}
        if env_file.exists():
            for entry in env_file.read_bytes().split(b"\0"):
                name, sep, value = entry.decode(errors="replace").partition("=")
                if sep:
                    env[name] = value
        output = output_file.read_text(errors="replace") if output_file.exists() else ""
        return Proxied(done.returncode, done.stdout, done.stderr, env, output)

    def audit(self, action: str) -> list[tuple[str, str, str]]:
        """(credential, outcome, detail) of each row `tokendeck audit` shows for action."""
        done = subprocess.run(
            [TOKENDECK, "audit"], capture_output=True, text=True, env=vault_env(self.home), timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        rows = [line.split("  ") for line in done.stdout.splitlines()]
        return [(row[1], row[3], row[4]) for row in rows if len(row) == 5 and row[2] == action]

    def stop(self) -> None:
        self.github.stop()
        self.elsewhere.stop()


def stage(tmp: Path, template: Path) -> Stage:
    """A copy of the template vault, and the stand-ins, started (call `.stop()` after)."""
    home = tmp / "home"
    shutil.copytree(template, home)
    upstream = make_ca("test upstream CA")
    write_bundle(tmp / "upstream-ca.pem", upstream.cert_pem)
    github = serve(upstream, list(GITHUB_HOSTS), git_root=bare_repository(tmp / "git"), token=TOKEN)
    elsewhere = serve(upstream, ["elsewhere.test"])
    return Stage(tmp, home, upstream, github, elsewhere)
