"""The shell examples of the README and the manual, run as written in a terminal (issue 31).

Every command line of every ```sh block in README.md and in each page of docs/ is either run
here, in a real pty (its controlling terminal), by ``/bin/sh`` exactly as the page spells it,
against a passphrase vault in a temporary ``TOKENDECK_HOME`` with no passphrase in the
environment (it is typed at the ``Vault passphrase:`` prompt, as a person would), or listed in
:data:`SKIPPED` with the reason it cannot run here and the test that covers it instead.  A new
example fails :func:`test_every_example_is_run_or_skipped_for_a_reason` until it is one or the
other.  Examples are keyed by the heading they are under, which is unique across the pages.

Each run example has an entry in :data:`CHECKS`: its exit code, and what it must have done
to the vault (or to the files it writes), read back afterwards: not only what it printed.
Placeholders are not substituted: an example runs as it is written, or it is skipped.

Only the tools the examples call are stubbed: ``gh`` (a script on ``PATH`` that prints a
token, as ``gh auth token`` does). The keyring is keyring's ``fail`` backend, as on a
headless Linux box, so ``tokendeck init`` makes a passphrase vault.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import vault
from tests.support.terminal import Shown, in_a_pty, without_a_terminal

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
PAGES = (README, *sorted((REPO / "docs").glob("*.md")))
"""The README and every page of the manual: each one's ```sh examples run here."""
BIN = os.path.dirname(sys.executable)
TOKENDECK = shutil.which("tokendeck", path=BIN) or "tokendeck"
PASS = "readme example passphrase"
GH_TOKEN = "ghp_fromGhAuthToken1234"  # noqa: S105 - what the stub `gh auth token` prints
TYPED_TOKEN = "jira-typed-pat-5678"  # noqa: S105 - typed at the hidden "Token for jira:" prompt
CLIENT_SECRET = "typed-client-secret"  # noqa: S105
ECHOED_TOKEN = "ghp_exampleToken1234"  # noqa: S105 - the README's first session echoes it into add
ECHOED_ADD = f"echo {ECHOED_TOKEN} | tokendeck add github --provider github-pat --account alice"
"""The README's first session's pipe into ``add``, as the README spells it (issue 31's example)."""
ANSWERS = {
    "New vault passphrase: ": PASS,
    "Repeat the passphrase: ": PASS,
    "Vault passphrase: ": PASS,
    "Token for jira: ": TYPED_TOKEN,
    "Client secret for github: ": CLIENT_SECRET,
    "Backup passphrase: ": "...",  # TOKENDECK_NEW_PASSPHRASE=... as the README writes it
    "into the vault? [y/N] ": "y",
    "Shred it now? [y/N] ": "n",
    "The current vault is kept beside it. [y/N] ": "y",
}


# ----------------------------------------------------------------------------- the pages


@dataclass(frozen=True)
class Example:
    section: str
    """The heading the block is under (``Using it``, ``The agent``, ...)."""
    command: str
    """One command line, continuation lines joined, its trailing comment dropped."""
    page: str = "README.md"
    """The page it is on, relative to the repository (``docs/agent.md``)."""


def examples(text: str | None = None, page: str = "README.md") -> list[Example]:
    """Every command line of the ```sh blocks of ``text`` (else of every page in :data:`PAGES`),
    in order."""
    if text is None:
        return [e for path in PAGES for e in examples(path.read_text(), str(path.relative_to(REPO)))]
    found: list[Example] = []
    section, fence, logical = "", None, ""
    for line in text.splitlines():
        if fence is None:
            if line.startswith("```"):
                fence = line[3:].strip()
            elif line.startswith("#"):
                section = line.lstrip("#").strip()
            continue
        if line.startswith("```"):
            fence = None
            continue
        if fence != "sh":
            continue
        code = re.sub(r"\s+#\s.*$", "", line).rstrip()
        if code.lstrip().startswith("#"):
            code = ""
        if code.endswith("\\"):
            logical += code[:-1].rstrip() + " "
            continue
        command = (logical + code.strip()).strip()
        logical = ""
        if command:
            found.append(Example(section, re.sub(r"\s+", " ", command), page))
    return found


SANDBOXED = (
    "tokendeck exec --session -e GH_TOKEN=github -- sh -c 'sock=$TOKENDECK_AGENT_SOCK; exec bwrap --ro-bind / / "
    '--dev /dev --proc /proc --tmpfs /tmp --bind "$PWD" "$PWD" '
    '--tmpfs "${TOKENDECK_HOME:-$HOME/.local/share/tokendeck}" '
    '--perms 0700 --tmpfs "${sock%/*}" --bind "$sock" "$sock" --unshare-pid --die-with-parent -- agent\''
)
"""The README's bubblewrap session (its continuation lines joined)."""
SKIPPED: dict[tuple[str, str], str] = {
    ("Quick start", "make run"): "builds .venv and opens the TUI; tests/test_packaging.py installs from a clone",
    ("Quick start", "make test"): "is the whole test suite",
    ("Development", "make test"): "is the whole test suite, as CI runs it (.ci/run)",
    ("Install", "pipx install ."): "installs into the user's pipx; tests/test_packaging.py does it in a venv",
    ("Two commands", "tokendeck"): (
        "opens the TUI until it is quit; tests/test_packaging.py opens the installed one, tests/test_tui*.py drive it"
    ),
    ("A first session", "tokendeck login github"): "a browser and GitHub; tests/test_signin.py, on loopback",
    ("Coding agents: placeholders, not tokens", "tokendeck proxy run --allow github -- claude"): (
        "starts Claude Code; tests/test_proxy_clients.py runs curl, git, gh, requests and httpx through the same "
        "command against loopback stand-ins for GitHub's hosts"
    ),
    ("Finding leaked copies: `tokendeck scan`", "tokendeck scan"): (
        "reads the usual places of the user's own home; tests/test_scan.py scans a seeded home as a process"
    ),
    ("Finding leaked copies: `tokendeck scan`", "tokendeck scan ~/src ~/Downloads"): (
        "folders this machine does not have; tests/test_scan.py scans named files and folders"
    ),
    ("Finding leaked copies: `tokendeck scan`", "tokendeck scan --json ~/src"): (
        "a folder this machine does not have; tests/test_scan.py reads --json"
    ),
    ("Fixing what it found", "tokendeck scan --fix"): (
        "asks at a terminal and changes the user's files and tokens; tests/test_scan_fix.py runs it in a pty "
        "against the loopback authorization server"
    ),
    ("Fixing what it found", "tokendeck scan --fix ~/src"): (
        "as the line above, for named folders (tests/test_scan_fix.py)"
    ),
    ("Coding agents: placeholders, not tokens", SANDBOXED): (
        "starts a coding agent in bubblewrap; tests/test_sandbox.py runs this line from README.md with a script in "
        "the agent's place that tries every way to a token"
    ),
    ("Using it", 'curl -H "Authorization: Bearer $(tokendeck token github)" https://api.github.com/user'): (
        "calls api.github.com (no network to real providers); `tokendeck token` runs in Keeping tokens alive"
    ),
    ("Using it", "tokendeck passphrase change --keyring"): "needs a real OS keyring; tests/test_cli.py, in memory",
    ("Importing tokens from where they live today", "tokendeck import token-storage tokens.db"): (
        "needs the original plaintext TokenStorage database; tests/test_imports.py makes one"
    ),
    ("Signing in with OAuth", "tokendeck login github"): "a browser and GitHub; tests/test_signin.py, on loopback",
    ("Signing in with OAuth", "tokendeck login github --device"): "GitHub's device flow; tests/test_device.py",
    ("Signing in with OAuth", "tokendeck login github --no-browser"): "GitHub; tests/test_signin.py",
    (
        "Signing in with OAuth",
        "tokendeck provider add corp --issuer https://id.example.com --client-id ID",
    ): "discovers id.example.com over the network; tests/test_registration.py, on loopback",
    ("Keeping tokens alive", "tokendeck refresh github"): (
        "needs an OAuth credential signed in at GitHub; tests/test_lifecycle_cli.py, on loopback"
    ),
    ("Checking tokens at their providers", "tokendeck verify"): (
        "asks api.github.com and the other providers; tests/test_verify.py, against a loopback /user and Authlib"
    ),
    ("Checking tokens at their providers", "tokendeck verify github gitlab-work --json"): (
        "asks the providers; tests/test_verify.py runs verify NAME --json on loopback"
    ),
    ("Checking tokens at their providers", "tokendeck verify --refresh"): (
        "refreshes at the providers; tests/test_verify.py::test_oidc_userinfo, on the loopback Authlib server"
    ),
    ("Keeping tokens alive", "tokendeck revoke github"): "revokes at GitHub; tests/test_lifecycle_cli.py, on loopback",
    ("MCP servers", "tokendeck login --mcp https://mcp.example.com/mcp --name tools"): (
        "signs in at a real MCP server; tests/test_mcp_login.py, on loopback"
    ),
    ("MCP servers", "tokendeck mcp-bridge tools"): "is started by an MCP client; tests/test_mcp_bridge.py",
    ("Remote machines", "tokendeck agent start"): (
        "run as the README's first session's last example; this block's others need an ssh server"
    ),
    ("Remote machines", "tokendeck ssh --only github,linear --ttl 8h -- devbox"): (
        "needs an ssh server called devbox; tests/test_ssh.py, through a real sshd on loopback"
    ),
    ("Remote machines", "tokendeck token github"): "runs on devbox through the forward; tests/test_ssh.py",
    ("Remote machines", "tokendeck exec -e GH_TOKEN=github -- gh repo list"): "runs on devbox; tests/test_ssh.py",
    ("Backups", "tokendeck restore --resume"): (
        "finishes a restore a disk error cut short; tests/test_restore_faults.py cuts one short"
    ),
}


# ----------------------------------------------------------------------------- the runs


@dataclass
class Ran:
    """One example's run, and where to look at its effects."""

    shown: Shown
    home: Path
    cwd: Path
    user: Path


def credentials(home: Path, passphrase: str = PASS) -> dict[str, str]:
    """Every credential's name and token, read back with the passphrase."""
    with vault.open_vault(home, passphrase) as v:
        return {c.name: c.access_token.reveal() if c.access_token else "" for c in v.credentials()}


def opens_with(home: Path, passphrase: str) -> bool:
    try:
        vault.open_vault(home, passphrase).close()
    except vault.VaultError:
        return False
    return True


def agent_state(home: Path) -> str | None:
    from vault.agent.remedy import agent_state as state

    return state(home)


def is_asked_once(ran: Ran) -> None:
    assert ran.shown.asked["Vault passphrase: "] == 1, ran.shown.text


def created(ran: Ran) -> None:
    with vault.open_vault(ran.home, PASS) as v:
        assert v.records.mode == "passphrase"
    assert opens_with(ran.home, PASS) and credentials(ran.home) == {}


def piped_add(ran: Ran) -> None:
    """The README's pipe into ``add``: the token from stdin, stored; the passphrase asked on
    the terminal (once); no prompt for the token."""
    is_asked_once(ran)
    assert "Token for" not in ran.shown.text
    assert credentials(ran.home)["github"] == GH_TOKEN
    with vault.open_vault(ran.home, PASS) as v:
        github = v.get("github")
        assert github.account == "alice" and github.expires_at is not None


def typed_add(ran: Ran) -> None:
    assert ran.shown.asked["Token for jira: "] == 1 and TYPED_TOKEN not in ran.shown.text  # hidden
    assert credentials(ran.home)["jira"] == TYPED_TOKEN


def listed(ran: Ran) -> None:
    names = [line.split()[0] for line in ran.shown.lines if not line.startswith(("Vault", "NAME", "tokendeck:"))]
    assert names == sorted(credentials(ran.home))


def shown_json(ran: Ran) -> None:
    body = ran.shown.text[ran.shown.text.index("{") :]
    assert json.loads(body)["name"] == "github" and GH_TOKEN not in ran.shown.text


def renamed(ran: Ran) -> None:
    assert set(credentials(ran.home)) == {"github-work", "jira"}


def removed(ran: Ran) -> None:
    assert set(credentials(ran.home)) == {"github-work"}


def audited(ran: Ran) -> None:
    assert " rename " in ran.shown.text and " rm " in ran.shown.text
    assert GH_TOKEN not in ran.shown.text and TYPED_TOKEN not in ran.shown.text


def rekeyed(ran: Ran) -> None:
    """Asked for the old passphrase, then the new one twice (the same, typed again): it still
    opens with it, the credentials kept."""
    assert ran.shown.asked == {"Vault passphrase: ": 1, "New vault passphrase: ": 1, "Repeat the passphrase: ": 1}
    assert set(credentials(ran.home)) == {"github-work"}


def imported(name: str, token: str) -> Callable[[Ran], None]:
    def check(ran: Ran) -> None:
        assert credentials(ran.home).get(name) == token, ran.shown.text
        assert ran.shown.asked["into the vault? [y/N] "] == 1 and ran.shown.asked["Shred it now? [y/N] "] == 1

    return check


def registered(name: str) -> Callable[[Ran], None]:
    def check(ran: Ran) -> None:
        with vault.open_vault(ran.home, PASS) as v:
            assert name in {r.provider for r in v.records.clients()}, ran.shown.text

    return check


def github_secret_asked(ran: Ran) -> None:
    assert ran.shown.asked["Client secret for github: "] == 1 and CLIENT_SECRET not in ran.shown.text
    registered("github")(ran)


def providers_listed(ran: Ran) -> None:
    rows = {line.split()[0]: line.split()[-1] for line in ran.shown.lines if line.startswith(("github ", "gitlab-"))}
    assert rows == {"github": "yes", "gitlab-work": "yes"}


def helped(ran: Ran) -> None:
    """``--help`` lists the commands, then the exit codes and the environment variables."""
    assert "exit codes:" in ran.shown.text and "TOKENDECK_HOME" in ran.shown.text, ran.shown.text


def echoed_add(ran: Ran) -> None:
    """The echoed token is stored; the passphrase is asked on the terminal, once; the token never."""
    is_asked_once(ran)
    assert "Token for" not in ran.shown.text and ECHOED_TOKEN not in ran.shown.text
    assert credentials(ran.home) == {"github": ECHOED_TOKEN}


def echoed_token(ran: Ran) -> None:
    assert ran.shown.lines[-1] == ECHOED_TOKEN


def agent_up(ran: Ran) -> None:
    """Started, unlocked, with the vault's own idle rule (the default hour)."""
    from vault.agent import wire

    is_asked_once(ran)
    answer = wire.call("ping", home=ran.home, opt_out=False)
    assert answer is not None and answer[2] == "unlocked" and "lock_after=3600" in answer[4], answer


def printed_token(ran: Ran) -> None:
    assert ran.shown.lines[-1] == GH_TOKEN


def nothing_due(ran: Ran) -> None:
    assert credentials(ran.home) == {"github": GH_TOKEN}


def agent_started(ran: Ran) -> None:
    from vault.agent import wire

    answer = wire.call("ping", home=ran.home, opt_out=False)
    assert answer is not None and answer[2] == "unlocked" and "lock_after=28800" in answer[4]


def from_the_agent(ran: Ran) -> None:
    assert ran.shown.asked["Vault passphrase: "] == 0 and ran.shown.lines == [GH_TOKEN]


def agent_running(ran: Ran) -> None:
    assert "unlocked" in ran.shown.text and agent_state(ran.home) == "unlocked"


def agent_locked(ran: Ran) -> None:
    assert agent_state(ran.home) == "locked"
    assert ran.shown.lines == ["tokendeck: the agent is locked; tokendeck unlock unlocks it again"]


def agent_unlocked(ran: Ran) -> None:
    is_asked_once(ran)
    assert agent_state(ran.home) == "unlocked"


def agent_gone(ran: Ran) -> None:
    assert agent_state(ran.home) is None


def git_mapped(ran: Ran) -> None:
    with vault.open_vault(ran.home, PASS) as v:
        assert [(host, name) for host, name, _ in v.records.links.git_hosts()] == [("github.com", "github")]


def git_configured(ran: Ran) -> None:
    assert "helper = !tokendeck git-credential" in (ran.user / ".gitconfig").read_text()


def git_listed(ran: Ran) -> None:
    assert ran.shown.lines[-1].split() == ["github.com", "github", "(default)"]


def mcp_json(server: str, check: Callable[[dict[str, object]], bool]) -> Callable[[Ran], None]:
    def look(ran: Ran) -> None:
        entry = json.loads((ran.cwd / ".mcp.json").read_text())["mcpServers"][server]
        assert check(entry), entry
        assert GH_TOKEN not in (ran.cwd / ".mcp.json").read_text()

    return look


def shell_line(ran: Ran) -> None:
    assert ran.shown.lines[-1] == 'export GH_TOKEN="$(tokendeck token github)"'


def dotenv_written(ran: Ran) -> None:
    assert (ran.cwd / ".env").read_text() == "OPENAI_API_KEY='sk-openai-1'\n"
    with vault.open_vault(ran.home, PASS) as v:
        assert [b.credential for b in v.records.links.export_bindings()] == ["openai"]


def netrc_written(ran: Ran) -> None:
    assert (ran.user / ".netrc").read_text() == "machine gitlab.com login oauth2 password glpat-1\n"


def bindings_listed(ran: Ran) -> None:
    assert [line.split()[:2] for line in ran.shown.lines[-2:]] == [["gitlab", "netrc"], ["openai", "dotenv"]]


def unexported(ran: Ran) -> None:
    with vault.open_vault(ran.home, PASS) as v:
        assert [b.credential for b in v.records.links.export_bindings()] == ["gitlab"]
    assert (ran.cwd / ".env").exists()  # the file is left as it is


def backed_up(where: str) -> Callable[[Ran], None]:
    def check(ran: Ran) -> None:
        path = Path(where.replace("~", str(ran.user))) if where.startswith("~") else ran.cwd / where
        assert path.is_file() and path.stat().st_mode & 0o077 == 0

    return check


def restored(ran: Ran) -> None:
    """The backup from before ``extra`` was added replaced the vault (it was added after); it
    was encrypted under the backup's passphrase, which now opens the vault."""
    assert set(credentials(ran.home, "...")) == {"github"} and not opens_with(ran.home, PASS)
    assert ran.shown.asked["Backup passphrase: "] == 1
    assert any(p.name.startswith("before-restore-") for p in ran.home.iterdir())


def folder_made(*parts: str) -> Callable[[Ran], None]:
    def check(ran: Ran) -> None:
        assert ran.user.joinpath(*parts).is_dir(), parts

    return check


def script_written(line: str, *parts: str) -> Callable[[Ran], None]:
    def check(ran: Ran) -> None:
        assert line in ran.user.joinpath(*parts).read_text().splitlines(), parts

    return check


def bashrc_loads_completion(ran: Ran) -> None:
    """A new bash that reads ``~/.bashrc`` completes ``tokendeck``, with no bash-completion
    package (this machine has none: nothing reads the folder by itself)."""
    done = subprocess.run(
        ["bash", "-c", "source ~/.bashrc && complete -p tokendeck"],
        env={"HOME": str(ran.user), "PATH": os.environ["PATH"]},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "tokendeck" in done.stdout, done.stderr


COMPLETIONS = ".local/share/bash-completion/completions"

CHECKS: dict[tuple[str, str], tuple[int, Callable[[Ran], None]]] = {
    ("Shell completion", f"mkdir -p ~/{COMPLETIONS}"): (0, folder_made(COMPLETIONS)),
    ("Shell completion", f"tokendeck completion bash > ~/{COMPLETIONS}/tokendeck"): (
        0,
        script_written("complete -o bashdefault -F _shtab_tokendeck tokendeck", COMPLETIONS, "tokendeck"),
    ),
    ("Shell completion", f"echo 'source ~/{COMPLETIONS}/tokendeck' >> ~/.bashrc"): (0, bashrc_loads_completion),
    ("Shell completion", "mkdir -p ~/.zfunc"): (0, folder_made(".zfunc")),
    ("Shell completion", "tokendeck completion zsh > ~/.zfunc/_tokendeck"): (
        0,
        script_written("#compdef tokendeck", ".zfunc", "_tokendeck"),
    ),
    ("Shell completion", "mkdir -p ~/.config/fish/completions"): (0, folder_made(".config/fish/completions")),
    ("Shell completion", "tokendeck completion fish > ~/.config/fish/completions/tokendeck.fish"): (
        0,
        script_written("complete -c tokendeck -f", ".config/fish/completions", "tokendeck.fish"),
    ),
    ("Two commands", "tokendeck --help"): (0, helped),
    ("A first session", "tokendeck init"): (0, created),
    ("A first session", ECHOED_ADD): (0, echoed_add),
    ("A first session", "tokendeck list"): (0, listed),
    ("A first session", "tokendeck token github"): (0, echoed_token),
    ("A first session", "tokendeck provider add github --client-id Iv1.abc123"): (0, github_secret_asked),
    ("A first session", "tokendeck agent start"): (0, agent_up),
    ("Using it", "tokendeck init"): (0, created),
    ("Using it", "gh auth token | tokendeck add github --provider github-pat --account alice --expires 90d"): (
        0,
        piped_add,
    ),
    ("Using it", "tokendeck add jira --provider jira-dc --server-url https://jira.example.com --username alice"): (
        0,
        typed_add,
    ),
    ("Using it", "tokendeck list"): (0, listed),
    ("Using it", "tokendeck show github --json"): (0, shown_json),
    ("Using it", "tokendeck rename github github-work"): (0, renamed),
    ("Using it", "tokendeck rm jira --yes"): (0, removed),
    ("Using it", "tokendeck audit"): (0, audited),
    ("Using it", "tokendeck passphrase change"): (0, rekeyed),
    ("Importing tokens from where they live today", "tokendeck import gh"): (0, imported("github-alice", "gho_1")),
    (
        "Importing tokens from where they live today",
        "tokendeck import dotenv .env --only GITHUB_TOKEN,OPENAI_API_KEY",
    ): (0, imported("openai-api-key", "sk-2")),
    ("Importing tokens from where they live today", "tokendeck import netrc"): (0, imported("example-com", "n-3")),
    ("Signing in with OAuth", "tokendeck provider add github --client-id Iv1.abc123"): (0, github_secret_asked),
    (
        "Signing in with OAuth",
        "tokendeck provider add gitlab-work --base gitlab --param base_url=https://git.example.com --client-id ID",
    ): (0, registered("gitlab-work")),
    ("Signing in with OAuth", "tokendeck provider list"): (0, providers_listed),
    ("Keeping tokens alive", "tokendeck token github"): (0, printed_token),
    ("Keeping tokens alive", "tokendeck refresh --due --within 10m"): (0, nothing_due),
    ("The agent", "tokendeck agent start --lock-after 8h"): (0, agent_started),
    ("The agent", "tokendeck token github"): (0, from_the_agent),
    ("The agent", "tokendeck agent status"): (0, agent_running),
    ("The agent", "tokendeck lock"): (0, agent_locked),
    ("The agent", "tokendeck unlock"): (0, agent_unlocked),
    ("The agent", "tokendeck agent stop"): (0, agent_gone),
    ("Git", "tokendeck git-credential map github.com github"): (0, git_mapped),
    ("Git", "git config --global credential.https://github.com.helper '!tokendeck git-credential'"): (
        0,
        git_configured,
    ),
    ("Git", "tokendeck git-credential list"): (0, git_listed),
    ("Backups", "tokendeck backup ~/tokendeck-2026-12-02.zip"): (0, backed_up("~/tokendeck-2026-12-02.zip")),
    ("Backups", "TOKENDECK_NEW_PASSPHRASE=... tokendeck backup --passphrase FILE"): (0, backed_up("FILE")),
    ("Backups", "tokendeck restore FILE"): (0, restored),
    (
        "Exporting to tools",
        "tokendeck export claude-code --name github --var GITHUB_TOKEN --server github --command npx -y "
        "@modelcontextprotocol/server-github",
    ): (0, mcp_json("github", lambda e: e["args"][:3] == ["exec", "-e", "GITHUB_TOKEN=github"])),  # type: ignore[index]
    (
        "Exporting to tools",
        "tokendeck export claude-code --name linear --var LINEAR_TOKEN --server linear --url "
        "https://mcp.example.com/mcp",
    ): (0, mcp_json("linear", lambda e: e["headers"] == {"Authorization": "Bearer ${LINEAR_TOKEN}"})),
    ("Exporting to tools", "tokendeck export shell --name github --var GH_TOKEN"): (0, shell_line),
    ("Exporting to tools", "tokendeck export dotenv --name openai --var OPENAI_API_KEY --plaintext"): (
        0,
        dotenv_written,
    ),
    ("Exporting to tools", "tokendeck export netrc --name gitlab --host gitlab.com --login oauth2 --plaintext"): (
        0,
        netrc_written,
    ),
    ("Exporting to tools", "tokendeck export --list"): (0, bindings_listed),
    ("Exporting to tools", "tokendeck unexport dotenv --name openai"): (0, unexported),
}
"""Each example run here: its exit code, and what it must have done (read back afterwards)."""


def seed_vault(home: Path, tokens: dict[str, tuple[str, str]]) -> None:
    """A passphrase vault (at the tests' KDF cost) holding static ``name: (provider, token)``."""
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        for name, (provider, token) in tokens.items():
            v.records.add_static(name, provider=provider, token=token)


def import_sources(home: Path, cwd: Path, user: Path) -> None:
    """An empty vault, and what gh, a .env file and ~/.netrc hold."""
    seed_vault(home, {})
    (user / ".config" / "gh").mkdir(parents=True)
    (user / ".config" / "gh" / "hosts.yml").write_text(
        "github.com:\n    users:\n        alice:\n            oauth_token: gho_1\n    user: alice\n"
        "    oauth_token: gho_1\n    git_protocol: https\n"
    )
    (cwd / ".env").write_text("GITHUB_TOKEN=ghp-2\nOPENAI_API_KEY=sk-2\nOTHER=x\n")
    (user / ".netrc").write_text("machine example.com login bob password n-3\n")
    (user / ".netrc").chmod(0o600)


SETUPS: dict[str, Callable[[Path, Path, Path], None]] = {
    "Two commands": lambda home, cwd, user: None,  # --help needs no vault
    "Shell completion": lambda home, cwd, user: None,  # writes into $HOME only
    "A first session": lambda home, cwd, user: None,  # its first example is tokendeck init
    "Using it": lambda home, cwd, user: None,  # its first example is tokendeck init
    "Importing tokens from where they live today": import_sources,
    "Signing in with OAuth": lambda home, cwd, user: seed_vault(home, {}),
    "Keeping tokens alive": lambda home, cwd, user: seed_vault(home, {"github": ("github-pat", GH_TOKEN)}),
    "The agent": lambda home, cwd, user: seed_vault(home, {"github": ("github-pat", GH_TOKEN)}),
    "Git": lambda home, cwd, user: seed_vault(home, {"github": ("github-pat", GH_TOKEN)}),
    "Backups": lambda home, cwd, user: seed_vault(home, {"github": ("github-pat", GH_TOKEN)}),
    "Exporting to tools": lambda home, cwd, user: seed_vault(
        home,
        {
            "github": ("github-pat", GH_TOKEN),
            "linear": ("api-key", "lin-1"),
            "openai": ("api-key", "sk-openai-1"),
            "gitlab": ("api-key", "glpat-1"),
        },
    ),
}
"""What each section's examples start from (a section not here is not run)."""


@pytest.fixture
def terminal_env(home: Path, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, Path]]:
    """The environment of a shell at a terminal: its own ``$HOME``, ``tokendeck`` and a stub
    ``gh`` on ``PATH``, no passphrase anywhere in it, no OS keyring.  Yields it, the working
    directory and ``$HOME``."""
    user, cwd, stubs = tmp_path / "user", tmp_path / "cwd", tmp_path / "stubs"
    for path in (user, cwd, stubs):
        path.mkdir()
    gh = stubs / "gh"
    gh.write_text(f'#!/bin/sh\n[ "$1 $2" = "auth token" ] && echo {GH_TOKEN} && exit 0\nexit 1\n')
    gh.chmod(0o755)
    env = {
        "HOME": str(user),
        "PATH": os.pathsep.join([str(stubs), BIN, "/usr/local/bin", "/usr/bin", "/bin"]),
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_RUNTIME_DIR": os.environ["TOKENDECK_RUNTIME_DIR"],
        "XDG_CONFIG_HOME": str(user / ".config"),
        "XDG_DATA_HOME": str(user / ".local" / "share"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "TERM": "xterm",
        "LANG": "C.UTF-8",
    }
    yield env, cwd, user
    without_a_terminal([TOKENDECK, "agent", "stop"], env)


# ----------------------------------------------------------------------------- the tests


def test_every_example_is_run_or_skipped_for_a_reason() -> None:
    found = {(e.section, e.command) for e in examples()}
    unknown = sorted(found - set(CHECKS) - set(SKIPPED))
    assert not unknown, f"examples neither run nor skipped with a reason: {unknown}"
    assert not set(CHECKS) & set(SKIPPED)
    assert not (set(CHECKS) | set(SKIPPED)) - found, "entries for examples the README no longer has"
    assert set(SETUPS) == {section for section, _ in CHECKS}


def test_every_page_of_the_manual_is_read() -> None:
    """The pages are the README and docs/*.md; a section's examples are on one page only, so a
    heading names them (an example moved to another page keeps its entry, under its new heading)."""
    assert README in PAGES and len(PAGES) > 1
    pages: dict[str, set[str]] = {}
    for example in examples():
        pages.setdefault(example.section, set()).add(example.page)
    assert all(len(on) == 1 for on in pages.values()), pages


def test_examples_are_read_as_a_shell_reads_them() -> None:
    text = "## A\n\n```sh\ntokendeck a \\\n    --b c   # note\n# a comment\nx '#not'  # y\n```\n\n```text\nno\n```\n"
    assert examples(text) == [Example("A", "tokendeck a --b c"), Example("A", "x '#not'")]
    assert examples(text, "docs/a.md")[0].page == "docs/a.md"


@pytest.mark.parametrize("section", sorted(SETUPS))
def test_the_readme_examples_run_as_written_in_a_terminal(
    section: str, terminal_env: tuple[dict[str, str], Path, Path], home: Path
) -> None:
    """Each example of ``section``, in the README's order, in a pty: its exit code and its effect."""
    if section == "Git" and shutil.which("git") is None:
        pytest.skip("git is not installed")
    env, cwd, user = terminal_env
    SETUPS[section](home, cwd, user)
    ran_any = False
    for example in examples():
        if example.section != section or (section, example.command) in SKIPPED:
            continue
        code, check = CHECKS[section, example.command]
        shown = in_a_pty(example.command, env, answers=ANSWERS, cwd=cwd)
        assert shown.code == code, f"{example.page}: $ {example.command}\n{shown.text}"
        check(Ran(shown, home, cwd, user))
        if section == "Backups" and example.command.startswith("TOKENDECK_NEW_PASSPHRASE"):
            with vault.open_vault(home, PASS) as v:  # after the backup: the restore must drop it
                v.records.add_static("extra", provider="api-key", token="later")
        ran_any = True
    assert ran_any


# ------------------------------------------------ must show: the piped token, in a terminal and in none


def test_a_token_echoed_into_add_is_stored_with_the_passphrase_asked_on_the_terminal(
    terminal_env: tuple[dict[str, str], Path, Path], home: Path
) -> None:
    """Issue 31's example as the user typed it in tmux, which the README's first session keeps:
    stdin is the pipe, the passphrase is asked on the terminal (no agent runs), the token is
    never asked for; stored, exit 0."""
    assert Example("A first session", ECHOED_ADD) in examples()
    env, cwd, _ = terminal_env
    seed_vault(home, {})
    shown = in_a_pty(
        ECHOED_ADD,
        env,
        answers={"Vault passphrase: ": PASS, "Token for github: ": "not this"},
        cwd=cwd,
    )
    assert shown.code == 0, shown.text
    assert shown.asked == {"Vault passphrase: ": 1}
    assert shown.lines == ["Vault passphrase: ", "tokendeck: stored github"]
    assert credentials(home) == {"github": ECHOED_TOKEN}


def test_a_token_echoed_into_add_with_an_unlocked_agent_asks_nothing(
    terminal_env: tuple[dict[str, str], Path, Path], home: Path
) -> None:
    """The same example with an unlocked agent running: no prompt at all, stored, exit 0."""
    env, cwd, _ = terminal_env
    seed_vault(home, {})
    assert without_a_terminal([TOKENDECK, "agent", "start"], env, stdin=f"{PASS}\n".encode()).returncode == 0
    shown = in_a_pty(
        ECHOED_ADD,
        env,
        answers={"Vault passphrase: ": PASS, "Token for github: ": "not this"},
        cwd=cwd,
    )
    assert shown.code == 0, shown.text
    assert credentials(home) == {"github": ECHOED_TOKEN}
    assert not shown.asked and shown.lines == ["tokendeck: stored github"]


def test_a_wrong_passphrase_typed_on_the_terminal_stores_nothing(
    terminal_env: tuple[dict[str, str], Path, Path], home: Path
) -> None:
    env, cwd, _ = terminal_env
    seed_vault(home, {})
    shown = in_a_pty(
        "echo ghp_x | tokendeck add github --provider github-pat", env, answers={"Vault passphrase: ": "wrong"}, cwd=cwd
    )
    assert shown.code == 3 and "wrong passphrase" in shown.text
    assert credentials(home) == {}


def files(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.is_file()}


NO_TERMINAL_COMMANDS = {
    "add": (["add", "github", "--provider", "github-pat"], b"ghp_neverStored\n"),
    "token": (["token", "kept"], b""),
    "exec": (["exec", "-e", "T=kept", "--", "true"], b""),
    "git-credential": (["git-credential", "get"], b"protocol=https\nhost=github.com\n\n"),
}


@pytest.mark.parametrize("command", sorted(NO_TERMINAL_COMMANDS))
@pytest.mark.parametrize("agent", ["none", "locked"])
def test_with_no_terminal_at_all_one_line_names_the_remedy_and_the_vault_is_untouched(
    terminal_env: tuple[dict[str, str], Path, Path], home: Path, agent: str, command: str
) -> None:
    """CI, cron, an MCP client, git run by an IDE: no controlling terminal (a new session),
    stdin a pipe, no passphrase in the environment.  One line says what to do for the agent's
    actual state and what to set; exit 3; the vault's files are byte for byte as they were."""
    env, cwd, _ = terminal_env
    seed_vault(home, {"kept": ("api-key", "kept-1")})
    if agent == "locked":
        started = without_a_terminal([TOKENDECK, "agent", "start"], env, stdin=f"{PASS}\n".encode())
        assert started.returncode == 0, started.stderr
        assert without_a_terminal([TOKENDECK, "lock"], env).returncode == 0
    before = files(home)
    argv, stdin = NO_TERMINAL_COMMANDS[command]
    done = without_a_terminal([TOKENDECK, *argv], env, stdin=stdin, cwd=cwd)
    remedy = {
        "none": "no agent runs: tokendeck agent start (in a terminal)",
        "locked": "the agent is locked: tokendeck unlock (in a terminal)",
    }[agent]
    assert done.returncode == 3
    assert done.stdout == b""
    assert done.stderr.decode() == (
        f"tokendeck: {remedy}, or set TOKENDECK_PASSPHRASE_COMMAND, TOKENDECK_PASSPHRASE_FILE or "
        "TOKENDECK_PASSPHRASE; no terminal to ask for the passphrase\n"
    )
    assert files(home) == before
    assert credentials(home) == {"kept": "kept-1"}


def test_a_running_agent_kept_out_by_no_agent_is_named(
    terminal_env: tuple[dict[str, str], Path, Path], home: Path
) -> None:
    """An unlocked agent runs, but ``TOKENDECK_NO_AGENT`` keeps this command from it: that is
    what the line says to change."""
    env, cwd, _ = terminal_env
    seed_vault(home, {"kept": ("api-key", "kept-1")})
    assert without_a_terminal([TOKENDECK, "agent", "start"], env, stdin=f"{PASS}\n".encode()).returncode == 0
    done = without_a_terminal([TOKENDECK, "token", "kept"], {**env, "TOKENDECK_NO_AGENT": "1"}, cwd=cwd)
    assert (done.returncode, done.stdout) == (3, b"")
    assert done.stderr.decode() == (
        "tokendeck: no terminal to ask for the passphrase, and TOKENDECK_NO_AGENT keeps the running agent out: "
        "unset it, or set TOKENDECK_PASSPHRASE_COMMAND, TOKENDECK_PASSPHRASE_FILE or TOKENDECK_PASSPHRASE\n"
    )
    assert without_a_terminal([TOKENDECK, "token", "kept"], env).stdout == b"kept-1\n"  # and without it: served


def test_unlock_with_no_agent_says_to_start_one(terminal_env: tuple[dict[str, str], Path, Path], home: Path) -> None:
    env, cwd, _ = terminal_env
    seed_vault(home, {})
    shown = in_a_pty("tokendeck unlock", env, answers={"Vault passphrase: ": PASS}, cwd=cwd)
    assert (shown.code, shown.lines) == (5, ["tokendeck: no agent runs: tokendeck agent start"])
    assert shown.asked["Vault passphrase: "] == 0 and agent_state(home) is None


def test_unlock_of_an_unlocked_agent_asks_nothing(terminal_env: tuple[dict[str, str], Path, Path], home: Path) -> None:
    env, cwd, _ = terminal_env
    seed_vault(home, {})
    assert without_a_terminal([TOKENDECK, "agent", "start"], env, stdin=f"{PASS}\n".encode()).returncode == 0
    shown = in_a_pty("tokendeck unlock", env, answers={"Vault passphrase: ": PASS}, cwd=cwd)
    assert shown.code == 0 and shown.asked["Vault passphrase: "] == 0 and "already unlocked" in shown.text
    assert agent_state(home) == "unlocked"


@pytest.mark.parametrize(
    ("command", "asked"),
    [
        (f"echo '{PASS}' | tokendeck agent start", 0),  # documented: the passphrase on a pipe (the TUI's way)
        ("tokendeck agent start < /dev/null", 1),  # an empty pipe: the terminal is asked
    ],
)
def test_agent_start_takes_a_piped_passphrase_and_else_asks_the_terminal(
    terminal_env: tuple[dict[str, str], Path, Path], home: Path, command: str, asked: int
) -> None:
    env, cwd, _ = terminal_env
    seed_vault(home, {})
    shown = in_a_pty(command, env, answers={"Vault passphrase: ": PASS}, cwd=cwd)
    assert shown.code == 0, shown.text
    assert shown.asked["Vault passphrase: "] == asked
    assert agent_state(home) == "unlocked"


def test_a_confirmation_is_asked_on_the_terminal_while_stdin_is_a_pipe(
    terminal_env: tuple[dict[str, str], Path, Path], home: Path
) -> None:
    """``rm`` without ``--yes``, its stdin a pipe (``yes |`` would otherwise answer it): the
    question goes to the terminal, and what is typed there decides."""
    env, cwd, _ = terminal_env
    seed_vault(home, {"a": ("api-key", "a-1"), "b": ("api-key", "b-1")})
    kept = in_a_pty("yes | tokendeck rm a", env, answers={"Vault passphrase: ": PASS, "[y/N] ": "n"}, cwd=cwd)
    assert kept.code == 1 and kept.asked["[y/N] "] == 1 and set(credentials(home)) == {"a", "b"}
    gone = in_a_pty("true | tokendeck rm a", env, answers={"Vault passphrase: ": PASS, "[y/N] ": "y"}, cwd=cwd)
    assert gone.code == 0 and set(credentials(home)) == {"b"}
