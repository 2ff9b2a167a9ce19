"""What uses a credential, in words (vault.services.usage), for the detail screen and the revoke question."""

from __future__ import annotations

from pathlib import Path

from vault import Vault
from vault.core.clock import FrozenClock
from vault.services.usage import used_by, where


def test_nothing_recorded_says_nothing(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    assert used_by(vault.records, vault.get("gitlab"), now=clock.now()) == []


def test_every_use_the_vault_records(samples: tuple[Vault, FrozenClock], tmp_path: Path) -> None:
    vault, clock = samples
    records = vault.records
    env = tmp_path / "proj" / ".env"
    records.links.add_export_binding("github", target="dotenv", path=str(env), key="GH_TOKEN", options={})
    mcp = tmp_path / "proj" / ".mcp.json"
    for _ in range(2):  # written twice: one use
        records.record("export", "ok", credential="github", detail=f"target=claude-code path={mcp} reference")
    records.links.map_git_host("github.com", "github")
    records.links.map_git_host("gitlab.com", "gitlab")
    records.record("forward", "served", credential="github", detail="host=devbox op=token")
    records.touch(vault.get("github"), clock.now())
    clock.advance(180)
    forwards = [{"host": "devbox", "names": ["github", "openai"]}, {"host": "ci", "names": ["gitlab"]}]
    folder = str(tmp_path / "proj")
    assert used_by(records, vault.get("github"), now=clock.now(), forwards=forwards) == [
        f".env in {folder} (GH_TOKEN)",
        f".mcp.json in {folder} (a reference)",
        "git host github.com",
        "forwarded to devbox",
        "last read 3m ago by devbox (a forward)",
    ]


def test_a_path_under_home_reads_with_a_tilde() -> None:
    home = str(Path.home())
    assert where(f"{home}/proj/.env") == ".env in ~/proj"
    assert where("/etc/app/.env") == ".env in /etc/app"


def test_the_last_reader_is_named_when_the_agent_audited_it(samples: tuple[Vault, FrozenClock]) -> None:
    """A read the agent handed out (issue 36: who read what), or a session's, names its program."""
    vault, clock = samples
    records = vault.records
    records.record("read", "served", credential="github", detail="op=token reader=python sync.py (pid 4242)")
    records.touch(vault.get("github"), clock.now())
    clock.advance(120)
    assert used_by(records, vault.get("github"), now=clock.now()) == ["last read 2m ago by python sync.py (pid 4242)"]
    detail = "session=ab12cd command=claude op=token reader=node cli.js (pid 77)"
    records.record("session", "served", credential="github", detail=detail)
    assert used_by(records, vault.get("github"), now=clock.now()) == [
        "last read 2m ago by node cli.js (pid 77) in session ab12cd (claude)"
    ]
