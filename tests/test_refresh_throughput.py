"""What makes a run of many refreshes cheap without bending a rule (issue 15): saves handed in
side by side share one durable commit, each still all or nothing; a refresh for a read stamps
the use in its own commit; every provider call of a vault goes through one pool of keep-alive
connections, closed with the vault; a registration is resolved once, and anew when it changes."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.json_handler import JsonHandler, serving
from vault.core import store
from vault.core.model import ClientRegistration, Credential
from vault.core.providers import resolve
from vault.core.secret import Secret
from vault.errors import VaultBusy
from vault.services.refreshing import refresh

PASS = "correct horse battery staple"


@pytest.fixture
def v(home: Path) -> Iterator[vault.Vault]:
    opened = vault.init_vault(home, mode="passphrase", passphrase=PASS)
    yield opened
    opened.close()


def audit_rows(v: vault.Vault, action: str) -> list[str]:
    return [
        r["outcome"]
        for r in v.records._store.query("SELECT outcome FROM audit WHERE action = ? ORDER BY id", (action,))
    ]


def insert(outcome: str) -> Callable[[Any], str]:
    def part(conn: Any) -> str:
        conn.execute("INSERT INTO audit (at, action, outcome) VALUES (0, 'part', ?)", (outcome,))
        return f"stored {outcome}"

    return part


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the other threads never queued"
        time.sleep(0.005)


def first_part_holds_the_connection(v: vault.Vault, release: threading.Event) -> threading.Thread:
    """A thread whose part stays inside its transaction until ``release``: the parts handed in
    meanwhile queue for the next commit."""
    entered = threading.Event()

    def held(conn: Any) -> str:
        entered.set()
        release.wait(10)
        return insert("first")(conn)

    thread = threading.Thread(target=v.records._store.grouped, args=(held,))
    thread.start()
    assert entered.wait(10)
    return thread


def test_parts_handed_in_while_another_commits_share_the_next_commit(v: vault.Vault) -> None:
    release = threading.Event()
    first = first_part_holds_the_connection(v, release)
    before = v.records._store.commits
    results: dict[str, object] = {}

    def hand_in(outcome: str) -> None:
        results[outcome] = v.records._store.grouped(insert(outcome))

    others = [threading.Thread(target=hand_in, args=(f"part-{i}",)) for i in range(3)]
    for thread in others:
        thread.start()
    wait_until(lambda: len(v.records._store._queued) == 3)
    release.set()
    for thread in (first, *others):
        thread.join(10)

    assert results == {f"part-{i}": f"stored part-{i}" for i in range(3)}  # each thread, its own answer
    assert sorted(audit_rows(v, "part")) == ["first", "part-0", "part-1", "part-2"]
    assert v.records._store.commits - before == 2  # the first part's commit, then one for the three


def test_a_part_that_fails_is_undone_alone_and_fails_in_its_own_thread(v: vault.Vault) -> None:
    release = threading.Event()
    first = first_part_holds_the_connection(v, release)
    outcomes: dict[str, object] = {}

    def failing(conn: Any) -> str:
        insert("half-done")(conn)
        raise ValueError("this part changed its mind")

    def hand_in(label: str, part: Callable[[Any], str]) -> None:
        try:
            outcomes[label] = v.records._store.grouped(part)
        except ValueError as exc:
            outcomes[label] = exc

    others = [
        threading.Thread(target=hand_in, args=("before", insert("before"))),
        threading.Thread(target=hand_in, args=("failing", failing)),
        threading.Thread(target=hand_in, args=("after", insert("after"))),
    ]
    for queued, thread in enumerate(others, start=1):
        thread.start()
        wait_until(functools.partial(lambda n: len(v.records._store._queued) == n, queued))  # in this order
    release.set()
    for thread in (first, *others):
        thread.join(10)

    assert isinstance(outcomes.pop("failing"), ValueError)
    assert outcomes == {"before": "stored before", "after": "stored after"}
    assert sorted(audit_rows(v, "part")) == ["after", "before", "first"]  # nothing of the failed part


def test_a_commit_that_cannot_start_stores_nothing_and_says_busy(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault.init_vault(home, mode="passphrase", passphrase=PASS).close()
    monkeypatch.setattr(store, "BUSY_TIMEOUT_SECONDS", 0.2)
    mine, other = vault.open_vault(home, PASS), vault.open_vault(home, PASS)  # both wait 0.2 s at most
    try:
        with (
            other.records._store.transaction(),
            pytest.raises(VaultBusy, match="busy"),
        ):  # another writer holds the lock
            mine.records._store.grouped(insert("blocked"))
        assert audit_rows(mine, "part") == []
        assert mine.records._store.grouped(insert("later")) == "stored later"  # nothing left half-open
    finally:
        mine.close()
        other.close()


# ------------------------------------------------------ reads beside a commit


def read_while_another_thread_writes(v: vault.Vault, read: Callable[[], object]) -> object:
    """``read()`` while another thread's transaction holds the store's connection with a change
    not yet committed; fails if the read waits for that thread instead of answering."""
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with v.records._store.transaction() as conn:
            conn.execute("UPDATE credentials SET account = 'not-committed-yet'")
            inside.set()
            release.wait(10)
            conn.execute("UPDATE credentials SET account = 'committed-later'")

    thread = threading.Thread(target=writer)
    thread.start()
    assert inside.wait(10)
    answer: list[object] = []
    reader = threading.Thread(target=lambda: answer.append(read()))
    reader.start()
    reader.join(5)
    answered = not reader.is_alive()
    release.set()
    thread.join(10)
    reader.join(10)
    assert answered, "the read waited for the other thread's transaction"
    return answer[0]


def test_a_read_beside_another_threads_transaction_answers_with_the_last_commit(v: vault.Vault) -> None:
    v.records.add_static("gh", provider="github-pat", token="ghp_before0123456789", account="alice")
    seen = read_while_another_thread_writes(v, lambda: v.get("gh").account)
    assert seen == "alice"  # the last commit, never the other thread's uncommitted change
    assert v.get("gh").account == "committed-later"  # and the commit is seen once it is made


def test_the_second_connection_follows_a_passphrase_change(home: Path, v: vault.Vault) -> None:
    from vault.services.opening import change_to_passphrase

    v.records.add_static("gh", provider="github-pat", token="ghp_before0123456789", account="alice")
    read_while_another_thread_writes(v, lambda: v.get("gh"))  # the second connection is open now
    change_to_passphrase(v, "a brand new passphrase here")
    assert read_while_another_thread_writes(v, lambda: v.token("gh")) == "ghp_before0123456789"
    v.close()
    with vault.open_vault(home, "a brand new passphrase here") as reopened:
        assert reopened.get("gh").account == "committed-later"


# ------------------------------------------------------------- one connection pool


class KeepAliveTokenEndpoint(JsonHandler):
    """An HTTP/1.1 token endpoint that keeps connections open and counts them; every refresh
    gets a new token pair."""

    protocol_version = "HTTP/1.1"
    counts: dict[str, int]
    lock = threading.Lock()

    def handle(self) -> None:
        with self.lock:
            self.counts["opened"] += 1
        try:
            super().handle()
        finally:
            with self.lock:
                self.counts["closed"] += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.lock:
            self.counts["requests"] += 1
            n = self.counts["requests"]
        self.send_json(
            {"access_token": f"at-{n:04d}-kept-alive", "token_type": "Bearer", "expires_in": 3600,
             "refresh_token": f"rt-{n:04d}-kept-alive"}
        )  # fmt: skip


@pytest.fixture
def keep_alive_endpoint() -> Iterator[tuple[str, dict[str, int]]]:
    counts = {"opened": 0, "closed": 0, "requests": 0}
    handler = type("Handler", (KeepAliveTokenEndpoint,), {"counts": counts})
    with serving(handler) as url:
        yield url, counts


def test_a_vaults_refreshes_share_one_keep_alive_connection_closed_with_the_vault(
    home: Path, keep_alive_endpoint: tuple[str, dict[str, int]]
) -> None:
    url, counts = keep_alive_endpoint
    v = vault.init_vault(home, mode="passphrase", passphrase=PASS)
    v.records.set_client(
        ClientRegistration(
            provider="acme", base="oidc", client_id="cid",
            overrides={"issuer": url, "authorize_url": f"{url}/authorize", "token_url": f"{url}/token"},
        )
    )  # fmt: skip
    now = v.clock.now()
    for i in range(3):
        v.records.save(
            Credential(
                name=f"c{i}", provider="acme", kind="oauth", access_token=Secret(f"old-access-{i}"),
                refresh_token=Secret(f"old-refresh-{i}"), expires_at=now - 60, created_at=now, updated_at=now,
            ),
            action="seed",
        )  # fmt: skip
    try:
        commits = v.records._store.commits
        tokens = {v.token(f"c{i}") for i in range(3)}  # each due: refreshed on read, one after another
        assert tokens == {f"at-{n:04d}-kept-alive" for n in (1, 2, 3)}
        assert counts["requests"] == 3 and counts["opened"] == 1  # one connection for the three
        assert v.records._store.commits - commits == 3  # one each: the refresh's commit stamps the use too
        assert all(c.last_used_at is not None and c.last_used_at >= now for c in v.credentials())
        refresh(v, "c0", force=True)
        assert counts["opened"] == 1
    finally:
        v.close()
    wait_until(lambda: counts["closed"] == 1)  # closing the vault closed its pool


def test_a_plugged_in_transport_wins_and_none_goes_back_to_the_pool(v: vault.Vault) -> None:
    import httpx2

    pool = v.http_transport
    assert v.http_transport is pool  # built once
    mock = httpx2.MockTransport(lambda request: httpx2.Response(500))
    v.http_transport = mock
    assert v.http_transport is mock
    v.http_transport = None
    assert v.http_transport is pool


# ------------------------------------------------------------- resolved once


def test_a_registration_is_resolved_anew_when_its_facts_change() -> None:
    one = ClientRegistration(
        provider="acme", base="oidc", client_id="cid",
        overrides={"issuer": "https://a.example.test", "authorize_url": "https://a.example.test/auth",
                   "token_url": "https://a.example.test/token"},
    )  # fmt: skip
    assert resolve(one) is resolve(one)  # kept
    moved = ClientRegistration(
        provider="acme", base="oidc", client_id="cid",
        overrides={**one.overrides, "token_url": "https://b.example.test/token"},
    )  # fmt: skip
    assert resolve(moved).token_url == "https://b.example.test/token"
    assert resolve(one).token_url == "https://a.example.test/token"
    with_secret = ClientRegistration(
        provider="acme", base="oidc", client_id="cid", client_secret=Secret("s3cret-value"), overrides=one.overrides
    )
    assert resolve(with_secret) is resolve(one)  # the secret is no part of the provider
