"""The storage contract (:class:`vault.core.records.Records`), checked the same way against
every implementation: today the SQLCipher repository.  A new kind of storage joins by
adding itself to :data:`IMPLEMENTATIONS`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from vault.core.clock import FrozenClock
from vault.core.model import ClientRegistration, Credential
from vault.core.records import Records
from vault.core.secret import Secret
from vault.errors import AlreadyExists, InvalidInput, NotFound, RefreshDiscarded

START = 1_800_000_000.0


@contextmanager
def sqlcipher(home: Path, clock: FrozenClock) -> Iterator[Records]:
    from vault.services.opening import init_vault

    vault = init_vault(home, mode="passphrase", passphrase="contract test passphrase", env={}, clock=clock)
    try:
        yield vault.records
    finally:
        vault.close()


IMPLEMENTATIONS: dict[str, Callable[[Path, FrozenClock], AbstractContextManager[Records]]] = {"sqlcipher": sqlcipher}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def records(request: pytest.FixtureRequest, home: Path, clock: FrozenClock) -> Iterator[Records]:
    with IMPLEMENTATIONS[request.param](home, clock) as implementation:
        yield implementation


def oauth(name: str = "github", refresh: str = "rt-1", access: str = "at-1") -> Credential:
    return Credential(
        name=name,
        provider="github",
        kind="oauth",
        access_token=Secret(access),
        refresh_token=Secret(refresh),
        token_type="Bearer",
        scopes=("repo",),
        expires_at=START + 3600,
        created_at=START,
        updated_at=START,
    )


def test_it_is_a_records(records: Records) -> None:
    assert isinstance(records, Records)
    assert records.clock.now() == START
    assert records.paths.home.is_dir()


def test_a_static_token_is_stored_and_read_back(records: Records, clock: FrozenClock) -> None:
    stored = records.add_static("openai", provider="api-key", token="sk-1", account="me", expires_at=START + 60)
    assert (stored.name, stored.kind, stored.provider, stored.account) == ("openai", "static", "api-key", "me")
    assert stored.access_token is not None and stored.access_token.reveal() == "sk-1"
    assert records.get("openai") == stored and records.exists("openai") and not records.exists("nope")
    assert [c.name for c in records.credentials()] == ["openai"]
    with pytest.raises(AlreadyExists):
        records.add_static("openai", provider="api-key", token="sk-2")
    clock.advance(10)
    replaced = records.add_static("openai", provider="api-key", token="sk-2", replace=True)
    assert replaced.created_at == START and replaced.updated_at == START + 10
    with pytest.raises(InvalidInput):
        records.add_static("bad name!", provider="api-key", token="sk-3")
    with pytest.raises(NotFound):
        records.get("nope")


def test_credentials_are_listed_by_name_and_by_first_store(records: Records) -> None:
    for name in ("b-2", "a-1", "b-1"):
        records.add_static(name, provider="api-key", token="t")
    records.add_static("b-2", provider="api-key", token="u", replace=True)  # keeps its place
    assert [c.name for c in records.credentials()] == ["a-1", "b-1", "b-2"]
    assert [c.name for c in records.credentials_stored_in_order("b-")] == ["b-2", "b-1"]


def test_save_writes_a_whole_credential(records: Records) -> None:
    records.save(oauth(), replace=False)
    got = records.get("github")
    assert got.refresh_token is not None and got.refresh_token.reveal() == "rt-1"
    assert got.scopes == ("repo",) and got.expires_at == START + 3600
    with pytest.raises(AlreadyExists):
        records.save(oauth(), replace=False)
    records.save(oauth(access="at-2"))
    assert records.get("github").access_token == Secret("at-2")


def test_a_refresh_is_stored_only_over_the_refresh_token_sent(records: Records) -> None:
    records.save(oauth())
    with pytest.raises(RefreshDiscarded):
        records.save_refreshed(oauth(refresh="rt-9", access="at-9"), sent_refresh_token="rt-0", detail="rotated")
    assert records.get("github").access_token == Secret("at-1")
    assert [(e.action, e.outcome) for e in records.audit_log(limit=1)] == [("refresh", "discarded")]
    records.save_refreshed(oauth(refresh="rt-2", access="at-2"), sent_refresh_token="rt-1", detail="rotated")
    got = records.get("github")
    assert (got.access_token, got.refresh_token, got.stored_status) == (Secret("at-2"), Secret("rt-2"), "active")


def test_rename_moves_the_trail_and_refuses_what_it_cannot_do(records: Records) -> None:
    records.save(oauth())
    records.rename("github", "github-work")
    assert not records.exists("github") and records.exists("github-work")
    assert {e.credential for e in records.audit_log()} >= {"github-work"}
    assert "github" not in {e.credential for e in records.audit_log()}
    records.add_static("other", provider="api-key", token="t")
    with pytest.raises(AlreadyExists):
        records.rename("github-work", "other")
    with pytest.raises(NotFound):
        records.rename("gone", "else")
    with pytest.raises(InvalidInput):
        records.rename("other", "other")


def test_remove_returns_what_was_removed(records: Records) -> None:
    records.save(oauth())
    assert records.remove("github").name == "github"
    with pytest.raises(NotFound):
        records.remove("github")
    assert records.credentials() == []


def test_failures_keep_every_token(records: Records) -> None:
    records.save(oauth())
    records.mark("github", "needs_login", last_error="refused", action="refresh", outcome="dead_grant")
    got = records.get("github")
    assert (got.stored_status, got.last_error, got.refresh_token) == ("needs_login", "refused", Secret("rt-1"))
    records.note_error("github", "timed out", action="refresh", outcome="failed", retry_at=START + 30)
    got = records.get("github")
    assert (got.stored_status, got.last_error, got.refresh_failures, got.retry_at) == (
        "needs_login", "timed out", 1, START + 30,
    )  # fmt: skip
    assert got.access_token == Secret("at-1")


def test_erase_secrets_revokes(records: Records) -> None:
    records.save(oauth())
    records.erase_secrets("github", detail="revoked at the provider")
    got = records.get("github")
    assert (got.access_token, got.refresh_token, got.id_token, got.stored_status) == (None, None, None, "revoked")
    with pytest.raises(NotFound):
        records.erase_secrets("gone")


def test_client_registrations(records: Records) -> None:
    records.set_client(ClientRegistration("github", "github", "id-1", client_secret=Secret("cs")))
    records.set_client(ClientRegistration("gitlab", "gitlab", "id-2"))
    assert records.get_client("github").client_secret == Secret("cs")
    assert [r.provider for r in records.clients()] == ["github", "gitlab"]
    records.remove_client("gitlab")
    with pytest.raises(NotFound):
        records.get_client("gitlab")
    with pytest.raises(NotFound):
        records.remove_client("gitlab")


def test_all_or_nothing(records: Records) -> None:
    with pytest.raises(RuntimeError), records.all_or_nothing():
        records.add_static("one", provider="api-key", token="t")
        records.add_static("two", provider="api-key", token="t")
        raise RuntimeError("undo")
    assert records.credentials() == []
    with records.all_or_nothing():
        records.add_static("one", provider="api-key", token="t")
    assert records.exists("one")


def test_the_audit_log_never_holds_a_token(records: Records, clock: FrozenClock) -> None:
    records.add_static("openai", provider="api-key", token="sk-secret-value")
    records.record("token", "handed-out", credential="openai", detail="it was sk-secret-value")
    assert all("sk-secret-value" not in (e.detail or "") for e in records.audit_log())
    assert records.record_once("warn", "expiring", credential="openai", detail="in 7 days")
    assert not records.record_once("warn", "expiring", credential="openai", detail="in 7 days")
    assert [e.action for e in records.audit_log(credential="openai")][-2:] == ["token", "warn"]


def test_audit_since_and_prune(records: Records, clock: FrozenClock) -> None:
    newest, events = records.audit_since(None)
    assert events == []
    clock.advance(100)
    records.record("one", "ok")
    records.record("two", "ok")
    after, events = records.audit_since(newest)
    assert [e.action for e in events] == ["one", "two"] and after > newest
    assert records.audit_since(after) == (after, [])
    before = len(records.audit_log())
    assert records.prune_audit(START + 50) == before - 2
    assert [e.action for e in records.audit_log()] == ["one", "two"]


def test_touch_and_writable(records: Records, clock: FrozenClock) -> None:
    records.add_static("openai", provider="api-key", token="t")
    records.writable()
    records.touch(records.get("openai"), clock.now())
    assert records.get("openai").last_used_at == START


def test_links_follow_a_rename_and_go_with_a_removal(records: Records) -> None:
    records.save(oauth())
    records.links.add_export_binding("github", target="dotenv", path="/tmp/a.env", key="GH", options={"x": "1"})
    records.links.map_git_host("github.com", "github", "x-access-token")
    with pytest.raises(NotFound):
        records.links.add_export_binding("gone", target="dotenv", path="/tmp/a.env", key="GH", options={})
    with pytest.raises(NotFound):
        records.links.map_git_host("gitlab.com", "gone")
    (binding,) = records.links.export_bindings("github")
    assert (binding.credential, binding.target, binding.path, binding.key, binding.options) == (
        "github", "dotenv", "/tmp/a.env", "GH", {"x": "1"},
    )  # fmt: skip
    records.rename("github", "github-work")
    assert [b.credential for b in records.links.export_bindings()] == ["github-work"]
    assert records.links.git_hosts("github.com") == [("github.com", "github-work", "x-access-token")]
    assert records.links.remove_export_bindings("github-work", target="dotenv", path="/tmp/b.env") == 0
    assert records.links.remove_export_bindings("github-work", target="dotenv", path="/tmp/a.env") == 1
    assert records.links.unmap_git_host("github.com") and not records.links.unmap_git_host("github.com")
    records.links.add_export_binding("github-work", target="dotenv", path="/tmp/a.env", key="GH", options={})
    records.links.map_git_host("github.com", "github-work")
    records.remove("github-work")
    assert records.links.export_bindings() == [] and records.links.git_hosts() == []


def test_an_audit_row_alone_keeps_the_decoded_credentials_and_a_change_does_not(home: Path, clock: FrozenClock) -> None:
    """The SQLCipher repository decodes its credentials once and keeps them until the vault
    changes; an audit row (every read through the agent writes one, and so does every scan) is
    not a change to them, so the next listing does not decode 1,000 credentials again."""
    with sqlcipher(home, clock) as records:
        records.add_static("a", provider="api-key", token="t")
        first = records.credentials()
        records.record("scan", "ok", detail="places=1 files=1 findings=0 live=0")
        records.record_once("warning", "ok", credential="a", detail="once")
        assert records.credentials()[0] is first[0]
        records.add_static("b", provider="api-key", token="u")
        second = records.credentials()
        assert [c.name for c in second] == ["a", "b"] and second[0] is not first[0]
