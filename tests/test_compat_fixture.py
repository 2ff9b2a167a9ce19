"""A vault written by an earlier tokendeck (``tests/fixtures/compat-v1``, built by
``tests/support/compat_fixture.py``) opens with today's code, reads back everything it
holds, and takes a write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.compat_fixture import AT, EXPECTED, PASSPHRASE
from vault import Vault, open_vault
from vault.core.clock import FrozenClock

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "compat-v1"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A private copy of the fixture home (the checked-in files are never opened for writing)."""
    home = tmp_path / "compat-home"
    home.mkdir(mode=0o700)
    for name in ("vault.db", "vault.json"):
        shutil.copyfile(FIXTURE / name, home / name)
        (home / name).chmod(0o600)
    return home


def opened(home: Path) -> Vault:
    return open_vault(home, PASSPHRASE, env={}, clock=FrozenClock(AT + 60))


def test_the_fixture_is_a_passphrase_vault_at_the_test_kdf_cost() -> None:
    assert '"kdf_iter": 2' in (FIXTURE / "vault.json").read_text()


def test_everything_in_the_fixture_reads_back(copy: Path) -> None:
    s, o, c, b = EXPECTED["static"], EXPECTED["oauth"], EXPECTED["client"], EXPECTED["binding"]
    with opened(copy) as v:
        assert v.records.mode == "passphrase"
        assert [x.name for x in v.credentials()] == ["github", "openai"]
        static = v.get("openai")
        assert (static.kind, static.provider, static.account) == ("static", s["provider"], s["account"])
        assert static.access_token is not None and static.access_token.reveal() == s["token"]
        assert static.expires_at == s["expires_at"] and static.created_at == AT
        assert v.token("openai") == s["token"]

        oauth = v.get("github")
        assert (oauth.kind, oauth.provider, oauth.account) == ("oauth", o["provider"], o["account"])
        assert oauth.access_token is not None and oauth.access_token.reveal() == o["access_token"]
        assert oauth.refresh_token is not None and oauth.refresh_token.reveal() == o["refresh_token"]
        assert oauth.id_token is None and oauth.token_type == o["token_type"]
        assert oauth.scopes == o["scopes"]
        assert (oauth.expires_at, oauth.refresh_expires_at) == (o["expires_at"], o["refresh_expires_at"])
        assert dict(oauth.extras) == o["extras"]
        assert oauth.last_refreshed_at == AT and oauth.stored_status == "active"
        assert v.token("github") == o["access_token"]  # not due yet: no refresh, no network

        registration = v.records.get_client("github")
        assert (registration.base, registration.client_id) == (c["base"], c["client_id"])
        assert registration.client_secret is not None and registration.client_secret.reveal() == c["client_secret"]
        assert [r.provider for r in v.records.clients()] == ["github"]

        (binding,) = v.records.links.export_bindings()
        assert (binding.credential, binding.target, binding.path, binding.key) == (
            b["credential"], b["target"], b["path"], b["key"],
        )  # fmt: skip
        assert v.records.links.git_hosts() == [EXPECTED["git_host"]]

        events = [(e.action, e.outcome, e.credential) for e in v.records.audit_log()]
        assert events[: len(EXPECTED["audit"])] == EXPECTED["audit"]  # then this test's reads
        assert all("gho_" not in (e.detail or "") for e in v.records.audit_log())


def test_the_fixture_takes_a_write(copy: Path) -> None:
    with opened(copy) as v:
        v.rename("github", "github-work")
    with opened(copy) as v:
        assert [x.name for x in v.credentials()] == ["github-work", "openai"]
        assert v.records.links.git_hosts() == [("github.com", "github-work", "x-access-token")]
        assert [x.credential for x in v.records.links.export_bindings()] == ["github-work"]
        assert v.records.audit_log(limit=1)[0].detail == "from=github"
        assert v.token("github-work") == EXPECTED["oauth"]["access_token"]
