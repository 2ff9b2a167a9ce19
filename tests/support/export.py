"""Shared set-up for the export tests: a vault holding one GitHub PAT, and a work
directory to export into."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.support.cli import CliRunner

TOKEN = "ghp_exportTEST123"


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A passphrase vault with ``gh`` (a PAT), run from an empty work directory."""
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin=TOKEN + "\n").code == 0
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
