"""``vault.compat.TokenStorage`` against a stand-in for the original (:mod:`tests.support.
original_storage`, which behaves as a run of the real class on real SQLAlchemy did: issue 29):
the same call sequence on both, equal results call for call, except the differences in
:data:`DIFFERENT` (docs/library.md, "Replacing plaintext token stores", lists them), each asserted to be exactly that.

Also: the id-to-name mapping is injective over adversarial ids (Hypothesis), a crafted id
cannot overwrite another user's record, and a plaintext ``tokens.db`` is imported once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

import vault
from tests.support.original_storage import OriginalTokenStorage
from vault.compat import TokenStorage
from vault.integrations.keyed import GDRIVE_PREFIX, JIRA_PREFIX, credential_name

START = 1_800_000_000.0
URL = "https://jira.example.test"
TOKEN_URI = "https://oauth2.googleapis.com/token"
CLIENT = "1234-desktop.apps.googleusercontent.com"
SECRET = "GOCSPX-differential"  # noqa: S105 - a test fixture
SCOPES = ["https://www.googleapis.com/auth/drive.file", "openid"]

IDS = [
    "alice", "Alice@x.test", "alice@x.test", "ユーザー", "ü", "a b", "a-b-c8687a08aa", "-x", "a--b",
    "x" * 300, "", "../etc/passwd", "tab\there", "new\nline", "user-1", "jira-user-alice", "Zoë", "Zoe", "42",
]  # fmt: skip
"""Unicode, email, case variants, long, empty, digits, and ids crafted to collide under a naive slug."""

DIFFERENT: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {
    "refresh token only": (
        "stored (the original's token column was NOT NULL): the vault renews it into an access token",
        lambda ours, theirs: (ours, theirs) == (True, False),
    ),
    "client secret without its client id": (
        "not kept: the vault keeps a client secret only in a client registration, which needs the id",
        lambda ours, theirs: ours == {**theirs, "client_secret": None} and theirs["client_secret"] == SECRET,
    ),
}
"""Each difference: why, and what it is exactly (our result, the original's)."""


@pytest.fixture
def clock() -> vault.FrozenClock:
    return vault.FrozenClock(START)


@pytest.fixture
def pair(home: Path, tmp_path: Path, clock: vault.FrozenClock) -> Iterator[tuple[OriginalTokenStorage, TokenStorage]]:
    original = OriginalTokenStorage(tmp_path / "original.db", lambda: _naive(clock.now()))
    with vault.init_vault(home, mode="keyring", clock=clock) as v:
        yield original, TokenStorage(vault=v)
    original.close()


def _naive(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def drive(token: str | None = "ya29.a0-differential-access-1", **changes: Any) -> Credentials:
    fields: dict[str, Any] = {
        "token": token,
        "refresh_token": "1//differential-refresh-1",
        "token_uri": TOKEN_URI,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "scopes": SCOPES,
        "expiry": _naive(START + 3600),
        **changes,
    }
    return Credentials(**fields)


def seen(result: Any) -> Any:
    """A result in comparable form: a Credentials' fields; a Drive info's 8-character preview
    (the one documented difference in shape: tokendeck shows 8 characters, the original 20)."""
    if isinstance(result, Credentials):
        return {
            "token": result.token,
            "refresh_token": result.refresh_token,
            "token_uri": result.token_uri,
            "client_id": result.client_id,
            "client_secret": result.client_secret,
            "id_token": result.id_token,
            "scopes": result.scopes,
            "expiry": result.expiry,
            "expired": result.expired,
        }
    if isinstance(result, dict) and isinstance(result.get("token"), str) and "has_refresh_token" in result:
        return {**result, "token": result["token"][:8]}
    return result


def calls(clock: vault.FrozenClock) -> Iterator[tuple[str | None, str, tuple[Any, ...]]]:
    """(expected difference or None, method, arguments), in order; the clock moves between them."""
    for i, user in enumerate(IDS):
        yield None, "get_jira_token", (user,)
        yield None, "delete_jira_token", (user,)
        yield None, "upsert_jira_token", (user, f"jira-pat-{i}", URL)
        yield None, "get_jira_token", (user,)
        clock.advance(7)
        yield None, "upsert_jira_token", (user, f"jira-pat-{i}-new", URL, "someone")
        yield None, "get_jira_token", (user,)
    yield None, "list_users_with_jira_tokens", ()
    yield None, "delete_jira_token", (IDS[0],)
    yield None, "delete_jira_token", (IDS[1],)
    yield None, "upsert_jira_token", (IDS[0], "jira-pat-again", URL)
    yield None, "list_users_with_jira_tokens", ()  # byte order: re-adding a user does not move it
    # What the original stored though it is odd (tokendeck stores it too, with a warning line):
    for user, token, server in (("odd-1", "", URL), ("odd-2", "two words", URL), ("odd-3", "jira-pat-odd", "")):
        yield None, "upsert_jira_token", (user, token, server)
        yield None, "get_jira_token", (user,)
    yield None, "upsert_jira_token", ("odd-2", "jira-pat-fixed", URL)  # and a good token replaces it
    yield None, "get_jira_token", ("odd-2",)
    # ... and what it could not store (its columns were NOT NULL):
    yield None, "upsert_jira_token", ("odd-4", None, URL)
    yield None, "upsert_jira_token", ("odd-5", "jira-pat-odd", None)
    yield None, "upsert_jira_token", (None, "jira-pat-odd", URL)
    # An integer id is kept as its text, and found by either:
    yield None, "upsert_jira_token", (7, "jira-pat-seven", URL)
    yield None, "get_jira_token", ("7",)
    yield None, "get_jira_token", (7,)
    yield None, "upsert_jira_token", (42, "jira-pat-int", URL)  # the record of "42" (in IDS)
    yield None, "get_jira_token", ("42",)
    yield None, "list_users_with_jira_tokens", ()
    yield None, "delete_jira_token", (7,)
    yield None, "get_jira_token", ("7",)
    yield None, "list_users_with_jira_tokens", ()

    for i, user in enumerate(IDS[:8]):
        yield None, "get_gdrive_credentials", (user,)
        yield None, "get_gdrive_token_info", (user,)
        yield None, "upsert_gdrive_token", (user, drive(f"ya29.a0-differential-access-{i}"))
        yield None, "get_gdrive_credentials", (user,)
        yield None, "get_gdrive_token_info", (user,)
    clock.advance(60)
    yield None, "upsert_gdrive_token", (IDS[0], drive(scopes=None, expiry=None))  # no scopes, no expiry
    yield None, "get_gdrive_token_info", (IDS[0],)
    yield None, "get_gdrive_credentials", (IDS[0],)
    yield None, "upsert_gdrive_token", (IDS[1], drive(expiry=_naive(START - 3600)))  # expired
    yield None, "get_gdrive_credentials", (IDS[1],)  # returned as it is: expired, not refreshed
    yield None, "get_gdrive_token_info", (IDS[1],)
    yield None, "upsert_gdrive_token", (8, drive("ya29.a0-differential-int"))  # kept as "8"
    yield None, "get_gdrive_token_info", ("8",)
    yield None, "get_gdrive_credentials", (8,)
    yield None, "list_users_with_gdrive_tokens", ()
    yield None, "delete_gdrive_token", (8,)
    yield "refresh token only", "upsert_gdrive_token", ("drive-odd", drive(None))
    # What the original stored though it is odd (tokendeck stores it too, with a warning line):
    for user, odd in (
        ("drive-odd-2", drive(client_id=None, client_secret=None)),  # no client id
        ("drive-odd-3", drive(client_id=None, client_secret=None, token_uri=None)),
        ("drive-odd-4", drive("")),  # an empty access token
        ("drive-odd-5", drive(refresh_token="")),  # an empty refresh token
    ):
        yield None, "upsert_gdrive_token", (user, odd)
        yield None, "get_gdrive_credentials", (user,)
        yield None, "get_gdrive_token_info", (user,)
    yield None, "upsert_gdrive_token", ("drive-odd-6", drive(client_id=None))  # a client secret, but no id
    yield "client secret without its client id", "get_gdrive_credentials", ("drive-odd-6",)
    yield None, "get_gdrive_token_info", ("drive-odd-6",)
    yield None, "upsert_gdrive_token", ("drive-odd-7", drive(None, refresh_token=None))  # neither: False
    yield None, "upsert_gdrive_token", ("drive-odd-8", drive(None, refresh_token=""))
    yield None, "delete_gdrive_token", (IDS[2],)
    yield None, "delete_gdrive_token", (IDS[2],)
    yield None, "list_users_with_gdrive_tokens", ()


def test_the_compat_store_answers_every_call_as_the_original_did(
    pair: tuple[OriginalTokenStorage, TokenStorage], clock: vault.FrozenClock
) -> None:
    original, compat = pair
    compared = differing = 0
    for difference, method, args in calls(clock):
        theirs = seen(getattr(original, method)(*args))
        ours = seen(getattr(compat, method)(*args))
        if difference is None:
            assert ours == theirs, f"{method}{args!r}"
            compared += 1
        else:
            why, exactly = DIFFERENT[difference]
            assert exactly(ours, theirs), f"{method}{args!r}: {why}"
            differing += 1
            if method.startswith("upsert_"):  # so that what follows starts alike again
                forget = method.replace("upsert_", "delete_")
                getattr(original, forget)(args[0]), getattr(compat, forget)(args[0])
    assert (compared, differing) == (209, len(DIFFERENT))
    for table in ("jira_tokens", "gdrive_tokens"):  # the stand-in's order is the one SQLite gave the original
        assert original.original_query(table) == getattr(original, f"list_users_with_{table}")()


def test_the_odd_rows_the_original_kept_are_imported_with_a_warning_line_each(
    home: Path, tmp_path: Path, clock: vault.FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    plaintext = tmp_path / "tokens.db"
    original = OriginalTokenStorage(plaintext, lambda: _naive(clock.now() - 86400))
    assert original.upsert_jira_token("odd-1", "", URL)
    assert original.upsert_jira_token("odd-2", "two words", URL)
    assert original.upsert_jira_token("odd-3", "jira-pat-odd", "")
    assert original.upsert_jira_token(7, "jira-pat-seven", URL)  # type: ignore[arg-type]  # callers passed ints
    assert original.upsert_gdrive_token("drive-odd", drive(client_id=None, client_secret=None))
    original.close()
    caplog.set_level(logging.WARNING, logger="vault.compat")
    with vault.init_vault(home, mode="keyring", clock=clock) as v:
        storage = TokenStorage(db_file=plaintext, vault=v)
        assert storage.list_users_with_jira_tokens() == ["7", "odd-1", "odd-2", "odd-3"]
        assert [storage.get_jira_token(u)["token"] for u in ("odd-1", "odd-2", 7)] == [  # type: ignore[index]
            "",
            "two words",
            "jira-pat-seven",
        ]
        assert [v.get(f"jira-user-odd-{i}").stored_status for i in (1, 2, 3)] == ["error", "error", "active"]
        drive_odd = storage.get_gdrive_credentials("drive-odd")
        assert drive_odd is not None and drive_odd.client_id is None and drive_odd.token_uri == TOKEN_URI
    odd = [m.split(",")[0] for m in caplog.messages if ", but " in m]
    names = [f"jira-user-odd-{i}" for i in (1, 2, 3)] + ["gdrive-user-drive-odd"]
    assert odd == [f"TokenStorage: imported {name}" for name in names]
    assert "imported 5 records" in caplog.text and "(0 skipped)" in caplog.text and "two words" not in caplog.text


def test_a_crafted_id_never_overwrites_another_users_record(v_compat: TokenStorage) -> None:
    """The review's case: ``"a b"`` and the id its naive slug was (``a-b-<hash>``)."""
    assert v_compat.upsert_jira_token("a b", "jira-pat-spaced", URL)
    assert v_compat.upsert_jira_token("a-b-c8687a08aa", "jira-pat-crafted", URL)
    token = v_compat.get_jira_token("a b")
    assert token is not None and token["token"] == "jira-pat-spaced"
    assert v_compat.list_users_with_jira_tokens() == ["a b", "a-b-c8687a08aa"]


@pytest.fixture
def v_compat(home: Path) -> Iterator[TokenStorage]:
    with vault.init_vault(home, mode="keyring") as v:
        yield TokenStorage(vault=v)


ADVERSARIAL = st.one_of(
    st.text(max_size=120),
    st.text(alphabet="ab-.-_@+ ", max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=60, max_size=200),
    st.from_regex(r"[a-z-]{1,20}-[0-9a-f]{10}", fullmatch=True),
    st.from_regex(r"-{0,3}[0-9a-f-]{0,12}h?[0-9a-f]{0,40}", fullmatch=True),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(ADVERSARIAL, min_size=2, max_size=6, unique=True))
def test_different_ids_never_share_a_name(ids: list[str]) -> None:
    for prefix in (JIRA_PREFIX, GDRIVE_PREFIX):
        names = [credential_name(prefix, i) for i in ids]
        assert len(set(names)) == len(ids), dict(zip(ids, names, strict=True))
        assert all(len(n) <= 100 and vault.core.model.check_name(n) == n for n in names)


def test_a_plaintext_store_is_imported_once_and_the_file_is_named_for_shredding(
    home: Path, tmp_path: Path, clock: vault.FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    plaintext = tmp_path / "work" / "tokens.db"
    plaintext.parent.mkdir()
    original = OriginalTokenStorage(plaintext, lambda: _naive(clock.now() - 86400))
    assert original.upsert_jira_token("alice", "jira-pat-plain", URL, "alice")
    assert original.upsert_gdrive_token("bob", drive())
    original.close()
    before = plaintext.read_bytes()
    caplog.set_level(logging.WARNING, logger="vault.compat")
    with vault.init_vault(home, mode="keyring", clock=clock) as v:
        storage = TokenStorage(db_file=plaintext, vault=v)
        assert storage.list_users_with_jira_tokens() == ["alice"]
        jira = storage.get_jira_token("alice")
        assert jira is not None and jira["token"] == "jira-pat-plain"
        assert jira["created_at"] == _naive(START - 86400)  # its own times came along
        bob = storage.get_gdrive_credentials("bob")
        assert bob is not None and bob.refresh_token == "1//differential-refresh-1"
        assert storage.delete_jira_token("alice")
        TokenStorage(db_url=f"sqlite:///{plaintext}", vault=v)  # the same file again: not imported again
        assert storage.list_users_with_jira_tokens() == []
    assert plaintext.read_bytes() == before  # never written
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("imported 2 records" in w for w in warnings) == 1
    assert sum(f"shred -u {plaintext}" in w for w in warnings) == 2
    assert not any("jira-pat-plain" in w or "differential" in w for w in warnings)
