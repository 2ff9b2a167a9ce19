"""The drop-in replacements in :mod:`vault.compat`, tested from the documented
behaviour of the stores they replace: the SQLite ``TokenStorage`` (Jira and Google
Drive per user) and the Linear organization-token store.  Drive and Linear talk to
the loopback Authlib server; Linear's revoke dialect goes through a small loopback
stand-in of ``/oauth/revoke`` that forwards to the server's RFC 7009 endpoint."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx2
import pytest
from google.oauth2.credentials import Credentials

import vault
import vault.core.model
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from vault.compat import LinearTokenStore, TokenStorage, credential_name
from vault.settings import MIN_REFRESH_SPACING

START = 1_800_000_000.0
GOOGLE_CLIENT = "1234-desktop.apps.googleusercontent.com"
GOOGLE_SECRET = "GOCSPX-loopback-secret"  # noqa: S105 - a test fixture
LINEAR_CLIENT = "linear-app-client"
LINEAR_SECRET = "linear-app-secret"  # noqa: S105 - a test fixture
JIRA_URL = "https://jira.example.test"


@pytest.fixture
def clock() -> vault.FrozenClock:
    return vault.FrozenClock(START)


@pytest.fixture
def v(home: Path, clock: vault.FrozenClock) -> Iterator[vault.Vault]:
    with vault.init_vault(home, mode="keyring", clock=clock) as opened:
        yield opened


@pytest.fixture
def storage(v: vault.Vault) -> TokenStorage:
    return TokenStorage(vault=v)


def no_secret_outside_the_vault(home: Path, *secrets: str) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret[:6]}... found in {path.name}"


# ------------------------------------------------------------------------- Jira


def test_jira_round_trip(storage: TokenStorage, home: Path) -> None:
    assert storage.upsert_jira_token("u-1", "jira-pat-secret-1", "https://jira.example.test", "alice") is True
    got = storage.get_jira_token("u-1")
    assert got == {
        "user_id": "u-1",
        "token": "jira-pat-secret-1",
        "server_url": "https://jira.example.test",
        "username": "alice",
        "created_at": datetime(2027, 1, 15, 8, 0),  # naive UTC, as the original's
        "updated_at": datetime(2027, 1, 15, 8, 0),
    }
    stored = storage.vault.get("jira-user-u-1")
    assert stored.provider == "jira-dc" and stored.kind == "static"
    assert stored.extras["server_url"] == "https://jira.example.test"
    no_secret_outside_the_vault(home, "jira-pat-secret-1")


def test_jira_username_is_optional(storage: TokenStorage) -> None:
    storage.upsert_jira_token("u-2", "tok-2", "https://jira.example.test")
    got = storage.get_jira_token("u-2")
    assert got is not None and got["username"] is None


def test_jira_upsert_keeps_created_at(storage: TokenStorage, clock: vault.FrozenClock) -> None:
    storage.upsert_jira_token("u-1", "old-token", "https://a.example.test", "alice")
    first = storage.get_jira_token("u-1")
    clock.advance(90.5)
    storage.upsert_jira_token("u-1", "new-token", "https://b.example.test", "alice2")
    second = storage.get_jira_token("u-1")
    assert first is not None and second is not None
    assert second["token"] == "new-token" and second["server_url"] == "https://b.example.test"
    assert second["username"] == "alice2"
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] == datetime(2027, 1, 15, 8, 1, 30, 500000) != first["updated_at"]
    assert storage.list_users_with_jira_tokens() == ["u-1"]


def test_jira_listing_and_deletion(storage: TokenStorage) -> None:
    assert storage.list_users_with_jira_tokens() == []
    for user in ("b", "a", "user with spaces/ü"):
        storage.upsert_jira_token(user, f"tok-{len(user)}", "https://jira.example.test")
    assert storage.list_users_with_jira_tokens() == ["a", "b", "user with spaces/ü"]  # byte order
    assert storage.get_jira_token("user with spaces/ü") is not None
    assert storage.delete_jira_token("a") is True
    assert storage.delete_jira_token("a") is False
    assert storage.get_jira_token("a") is None
    assert storage.list_users_with_jira_tokens() == ["b", "user with spaces/ü"]


def test_unknown_users(storage: TokenStorage) -> None:
    assert storage.get_jira_token("nobody") is None
    assert storage.get_gdrive_credentials("nobody") is None
    assert storage.get_gdrive_token_info("nobody") is None
    assert storage.delete_gdrive_token("nobody") is False
    assert storage.list_users_with_gdrive_tokens() == []


def test_names_follow_the_vault_rules() -> None:
    assert credential_name("jira-user-", "alice@example.test") == "jira-user-alice@example.test"
    assert credential_name("jira-user-", "a b") == "jira-user---a-20-b"  # escaped, after "--"
    assert credential_name("jira-user-", "a/b") == "jira-user---a-2f-b"
    assert credential_name("jira-user-", "") == "jira-user---"
    long = credential_name("linear-org-", "x" * 500)
    assert len(long) <= 100 and long.startswith("linear-org----h")
    vault.core.model.check_name(long)
    with pytest.raises(vault.InvalidInput):
        credential_name("jira-user-", None)  # type: ignore[arg-type]


def test_a_record_under_its_pre_injective_name_is_found_and_moved(storage: TokenStorage) -> None:
    old = "jira-user-a-b-c8687a08aa"  # how "a b" was named before
    extras = {"user_id": "a b", "server_url": "https://jira.example.test", "username": None}
    storage.vault.records.add_static(old, provider="jira-dc", token="jira-pat-old", extras=extras)
    got = storage.get_jira_token("a b")
    assert got is not None and got["token"] == "jira-pat-old"
    assert storage.upsert_jira_token("a b", "jira-pat-new", "https://jira.example.test") is True
    assert not storage.vault.records.exists(old) and storage.vault.records.exists("jira-user---a-20-b")
    assert storage.list_users_with_jira_tokens() == ["a b"]


@pytest.mark.parametrize(
    ("token", "server_url", "odd"),
    [
        ("", JIRA_URL, "the token is empty"),
        ("two words", JIRA_URL, "the token contains whitespace or control characters"),
        ("line\nbreak", JIRA_URL, "the token contains whitespace or control characters"),
        ("jira-pat-odd", "", "its server_url is empty"),
    ],
    ids=["empty-token", "space", "line-break", "empty-server-url"],
)
def test_a_jira_record_the_original_stored_is_stored_with_one_warning_line(
    storage: TokenStorage, cli: CliRunner, caplog: pytest.LogCaptureFixture, token: str, server_url: str, odd: str
) -> None:
    """As the original stored it, so a caller that checked nothing loses nothing; the vault
    keeps a token that is no token with status error, and hands it to nothing but this class."""
    caplog.set_level(logging.WARNING, logger="vault.compat")
    assert storage.upsert_jira_token("odd", token, server_url, "alice") is True
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert lines[0].startswith("TokenStorage.upsert_jira_token: stored jira-user-odd, but ") and odd in lines[0]
    assert not token or token not in caplog.text
    got = storage.get_jira_token("odd")
    assert got is not None and (got["token"], got["server_url"], got["username"]) == (token, server_url, "alice")
    assert storage.list_users_with_jira_tokens() == ["odd"]
    shown = json.loads(cli("show", "jira-user-odd", "--json").out)
    assert "jira-user-odd" in cli("list").out
    handed = cli("token", "jira-user-odd")
    if server_url:  # the token is the odd part: kept, marked, handed to nobody
        assert (shown["status"], shown["last_error"]) == ("error", f"stored by vault.compat: {odd}")
        assert handed.code == 4 and handed.out == ""
        assert handed.err == f"tokendeck: jira-user-odd holds no usable token: {odd}; replace it with a new token\n"
    else:  # the token is fine: a Jira record without its server is still its token
        assert (shown["status"], shown["extras"]["server_url"]) == ("active", "")
        assert handed.code == 0 and handed.out == "jira-pat-odd\n"
    assert not token or token not in shown and token not in handed.err
    assert storage.upsert_jira_token("odd", "jira-pat-good", JIRA_URL) is True  # a good one replaces it
    assert cli("token", "jira-user-odd").out == "jira-pat-good\n"
    assert len(caplog.records) == 1  # and says nothing


@pytest.mark.parametrize(
    ("token", "server_url", "why"),
    [
        ("x" * (64 * 1024 + 1), JIRA_URL, "the token is 65537 bytes; the limit is 65536 bytes"),
        (None, JIRA_URL, "no token (None)"),
        ("jira-pat-ok", None, "no server_url (None)"),
    ],
    ids=["over-64KiB", "no-token", "no-server-url"],
)
def test_what_the_jira_record_cannot_be_is_refused_through_the_return_value(
    storage: TokenStorage, caplog: pytest.LogCaptureFixture, token: str | None, server_url: str | None, why: str
) -> None:
    """None: the original's NOT NULL columns refused it too; over 64 KiB: a vault's own limit."""
    assert storage.upsert_jira_token("u", token, server_url) is False  # type: ignore[arg-type]
    assert storage.list_users_with_jira_tokens() == [] and storage.vault.credentials() == []
    assert len(caplog.messages) == 1 and caplog.messages[0].startswith(f"TokenStorage.upsert_jira_token failed: {why}")
    assert "xxxxxxxx" not in caplog.text


def test_an_integer_user_id_is_kept_as_its_text(storage: TokenStorage, caplog: pytest.LogCaptureFixture) -> None:
    """As the original's text column kept it: ``42`` is ``"42"``, found again by either."""
    assert storage.upsert_jira_token(42, "jira-pat-42", JIRA_URL) is True
    assert storage.upsert_gdrive_token(42, Credentials("ya29.int", client_id=GOOGLE_CLIENT)) is True
    assert storage.list_users_with_jira_tokens() == ["42"] == storage.list_users_with_gdrive_tokens()
    jira, info = storage.get_jira_token("42"), storage.get_gdrive_token_info(42)
    assert jira is not None and jira["user_id"] == "42" and jira == storage.get_jira_token(42)
    assert info is not None and info["user_id"] == "42"
    assert storage.vault.get("jira-user-42").extras["user_id"] == "42"
    assert storage.upsert_jira_token("42", "jira-pat-42-new", JIRA_URL) is True  # the same record
    assert [c.name for c in storage.vault.credentials()] == ["gdrive-user-42", "jira-user-42"]
    assert storage.delete_jira_token(42) is True and storage.delete_gdrive_token(42) is True
    assert storage.vault.credentials() == [] and caplog.records == []
    assert storage.upsert_jira_token(4.2, "jira-pat", JIRA_URL) is False  # type: ignore[arg-type]
    assert caplog.messages == ["TokenStorage.upsert_jira_token failed: a user id must be a string or an integer"]


def test_opens_its_own_vault_and_closes_it(v: vault.Vault, home: Path) -> None:
    TokenStorage(vault=v).upsert_jira_token("u-1", "tok-1", "https://jira.example.test")
    with TokenStorage(home=home) as other:
        got = other.get_jira_token("u-1")
        assert got is not None and got["token"] == "tok-1"
    assert v.records.exists("jira-user-u-1")  # the borrowed vault is still open


# ------------------------------------------------------------------ Google Drive


@pytest.fixture
def google_server(auth_server: AuthServer) -> AuthServer:
    auth_server.register_client(
        GOOGLE_CLIENT, client_secret=GOOGLE_SECRET, token_endpoint_auth_method="client_secret_post"
    )
    return auth_server


def google_creds(server: AuthServer, expiry: datetime) -> Credentials:
    minted = server.issue_token(GOOGLE_CLIENT, scope="openid email profile")
    return Credentials(
        token=minted["access_token"],
        refresh_token=minted["refresh_token"],
        token_uri=server.url("/token"),
        client_id=GOOGLE_CLIENT,
        client_secret=GOOGLE_SECRET,
        scopes=["openid", "email", "profile"],
        expiry=expiry.replace(tzinfo=None),  # google-auth's naive UTC
    )


def test_gdrive_round_trip_and_info(storage: TokenStorage, google_server: AuthServer, home: Path) -> None:
    expiry = datetime.fromtimestamp(START + 3600, UTC)
    creds = google_creds(google_server, expiry)
    storage.upsert_gdrive_token("drive-user", creds)
    assert storage.list_users_with_gdrive_tokens() == ["drive-user"]
    info = storage.get_gdrive_token_info("drive-user")
    assert info == {
        "user_id": "drive-user",
        "token": str(creds.token)[:8] + "...",
        "has_refresh_token": True,
        "scopes": ["openid", "email", "profile"],
        "expiry": datetime(2027, 1, 15, 9, 0),
        "created_at": datetime(2027, 1, 15, 8, 0),
        "updated_at": datetime(2027, 1, 15, 8, 0),
    }
    registration = storage.vault.records.get_client(storage.vault.get("gdrive-user-drive-user").provider)
    assert registration.base == "google" and registration.client_id == GOOGLE_CLIENT
    got = storage.get_gdrive_credentials("drive-user")
    assert isinstance(got, Credentials)
    assert got.token == creds.token and got.refresh_token == creds.refresh_token
    assert got.client_id == GOOGLE_CLIENT and got.client_secret == GOOGLE_SECRET
    assert got.token_uri == google_server.url("/token")
    assert google_server.token_request_count("refresh_token") == 0  # not due: no refresh
    no_secret_outside_the_vault(home, str(creds.token), str(creds.refresh_token), GOOGLE_SECRET)


def test_gdrive_registration_is_reused(storage: TokenStorage, google_server: AuthServer) -> None:
    expiry = datetime.fromtimestamp(START + 3600, UTC)
    storage.upsert_gdrive_token("one", google_creds(google_server, expiry))
    storage.upsert_gdrive_token("two", google_creds(google_server, expiry))
    assert [c.provider for c in storage.vault.records.clients()] == ["google"]
    assert storage.list_users_with_gdrive_tokens() == ["one", "two"]


def test_expired_gdrive_credentials_come_back_as_they_are_and_refresh_through_the_vault(
    v: vault.Vault, storage: TokenStorage, google_server: AuthServer, home: Path, clock: vault.FrozenClock
) -> None:
    """As the original: an expired credential is returned, not refreshed.  When google-auth
    refreshes it (``refresh()``, which it also calls by itself on an expired token), the refresh
    goes through the vault against the rotating loopback server: stored, so the vault (and a
    second store, and a second google-auth refresh) can refresh again."""
    from google.auth.transport.requests import Request

    from vault.services.refreshing import refresh

    creds = google_creds(google_server, datetime.fromtimestamp(START - 60, UTC))
    storage.upsert_gdrive_token("drive-user", creds)
    clock.advance(5)
    got = storage.get_gdrive_credentials("drive-user")
    assert got is not None and got.token == creds.token and got.expiry == creds.expiry
    assert google_server.token_request_count("refresh_token") == 0  # returned as it is
    got.refresh(Request())
    assert got.token != creds.token and google_server.token_state(str(got.token)) == "active"
    assert got.refresh_token != creds.refresh_token  # the server rotated the refresh token...
    assert google_server.token_state(creds.refresh_token) != "active"
    stored = v.get("gdrive-user-drive-user")  # ...and the vault holds the new one
    assert stored.refresh_token is not None and stored.refresh_token.reveal() == got.refresh_token
    got.refresh(Request())  # a second refresh: not with a burnt refresh token
    assert google_server.token_request_count("refresh_token") == 2
    assert refresh(v, "gdrive-user-drive-user", force=True).stored_status == "active"  # and the vault's own
    with TokenStorage(home=home) as other:  # a second instance on the same home
        seen = other.get_gdrive_credentials("drive-user")
        held = v.get("gdrive-user-drive-user").refresh_token
        assert seen is not None and held is not None and seen.refresh_token == held.reveal()
        info = other.get_gdrive_token_info("drive-user")
        assert info is not None and info["created_at"] == datetime(2027, 1, 15, 8, 0) != info["updated_at"]
    seen_tokens = (creds.token, creds.refresh_token, got.token, got.refresh_token)
    no_secret_outside_the_vault(home, *(str(t) for t in seen_tokens))


def test_a_dead_gdrive_grant_fails_google_auths_refresh_and_marks_the_credential(
    storage: TokenStorage, google_server: AuthServer
) -> None:
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request

    creds = google_creds(google_server, datetime.fromtimestamp(START - 60, UTC))
    storage.upsert_gdrive_token("drive-user", creds)
    httpx2.post(
        google_server.url("/revoke"),
        data={"token": creds.refresh_token, "client_id": GOOGLE_CLIENT, "client_secret": GOOGLE_SECRET},
    ).raise_for_status()
    got = storage.get_gdrive_credentials("drive-user")
    assert got is not None
    with pytest.raises(RefreshError, match="sign in again"):
        got.refresh(Request())
    assert storage.vault.get("gdrive-user-drive-user").stored_status == "needs_login"


def test_gdrive_deletion(storage: TokenStorage, google_server: AuthServer) -> None:
    storage.upsert_gdrive_token("drive-user", google_creds(google_server, datetime.fromtimestamp(START + 60, UTC)))
    assert storage.delete_gdrive_token("drive-user") is True
    assert storage.delete_gdrive_token("drive-user") is False
    assert storage.get_gdrive_credentials("drive-user") is None
    assert storage.list_users_with_gdrive_tokens() == []


def test_a_drive_credential_holding_only_its_refresh_token_is_renewed_on_its_first_read(
    storage: TokenStorage, google_server: AuthServer, cli: CliRunner, clock: vault.FrozenClock
) -> None:
    """The one case the original could not store (its token column was NOT NULL): tokendeck
    stores it, says it is due, and the first read (here ``tokendeck token``) renews it."""
    minted = google_server.issue_token(GOOGLE_CLIENT, scope="openid email profile")
    creds = Credentials(
        token=None,
        refresh_token=minted["refresh_token"],
        token_uri=google_server.url("/token"),
        client_id=GOOGLE_CLIENT,
        client_secret=GOOGLE_SECRET,
    )
    assert storage.upsert_gdrive_token("u", creds) is True
    stored = storage.vault.get("gdrive-user-u")
    assert stored.status_at(clock.now()) == "refresh_due" and stored.due(clock.now())
    assert stored.renew_at() == START + MIN_REFRESH_SPACING  # at once (as soon as one may be)
    r = cli("token", "gdrive-user-u")
    assert r.code == 0, r.err
    assert google_server.token_state(r.out.strip()) == "active"
    assert google_server.token_request_count("refresh_token") == 1
    info = storage.get_gdrive_token_info("u")
    assert info is not None and info["token"] == r.out.strip()[:8] + "..."


NO_CLIENT = "gdrive-user-u was stored without the OAuth client id its tokens were issued to, so it cannot be refreshed"


def test_drive_credentials_without_a_client_id_are_kept_and_every_refresh_says_why_it_cannot(
    storage: TokenStorage, cli: CliRunner, caplog: pytest.LogCaptureFixture, clock: vault.FrozenClock, home: Path
) -> None:
    """The original stored them; so does tokendeck, with one warning line.  Its access token is
    handed out until it expires; every refresh (the CLI's, google-auth's, a read past its
    expiry) fails with one clear line and leaves the record as it was; the background
    refresher leaves it alone; revoking says why it cannot ask Google."""
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request

    from vault.services.refresher import BackgroundRefresher

    caplog.set_level(logging.WARNING, logger="vault.compat")
    creds = Credentials(
        token="ya29.no-client-access",
        refresh_token="1//no-client-refresh",
        token_uri="https://oauth2.googleapis.com/token",
        client_secret="GOCSPX-orphan",
        scopes=["https://www.googleapis.com/auth/drive.file"],
        expiry=datetime.fromtimestamp(START + 3600, UTC).replace(tzinfo=None),
    )
    assert storage.upsert_gdrive_token("u", creds) is True
    assert caplog.messages == [
        "TokenStorage.upsert_gdrive_token: stored gdrive-user-u, but there is no client id, so the vault can neither"
        " refresh nor revoke it (nor its client secret, which is nothing without it)"
    ]
    stored = storage.vault.get("gdrive-user-u")
    assert storage.vault.records.clients() == []  # no registration made up for it
    assert (stored.provider, stored.no_client_id, stored.renewable, stored.renew_at()) == ("google", True, False, None)
    assert stored.extras == {"user_id": "u", "no_client_id": True, "token_uri": "https://oauth2.googleapis.com/token"}
    assert stored.status_at(clock.now()) == "active" and stored.deadline() == (START + 3600, "access token")
    got = storage.get_gdrive_credentials("u")
    assert got is not None and (got.token, got.refresh_token) == ("ya29.no-client-access", "1//no-client-refresh")
    assert (got.client_id, got.client_secret, got.token_uri) == (None, None, "https://oauth2.googleapis.com/token")

    assert cli("token", "gdrive-user-u").out == "ya29.no-client-access\n"  # valid: handed out
    refreshed = cli("refresh", "gdrive-user-u")
    assert refreshed.code == 4 and refreshed.out == ""
    assert (
        refreshed.err
        == f"tokendeck: {NO_CLIENT}; store it again with its client id (TokenStorage.upsert_gdrive_token)\n"
    )
    with pytest.raises(RefreshError, match=NO_CLIENT):
        got.refresh(Request())
    assert BackgroundRefresher(storage.vault).run_once() == []  # nothing it could renew
    clock.advance(3600)
    assert storage.vault.get("gdrive-user-u").status_at(clock.now()) == "expired"
    with pytest.raises(vault.NeedsSignIn, match=NO_CLIENT):
        storage.vault.token("gdrive-user-u")  # due, so a refresh is tried, and says why it cannot be
    assert BackgroundRefresher(storage.vault).run_once() == []
    revoking = cli("revoke", "gdrive-user-u", "--yes")
    assert revoking.code == 1 and "stored without the OAuth client id its tokens were issued to" in revoking.err
    after = storage.vault.get("gdrive-user-u")  # after all that, as it was stored (but for its use)
    assert dataclasses.replace(after, last_used_at=None) == stored and after.last_used_at is not None
    assert [e.outcome for e in storage.vault.records.audit_log(credential="gdrive-user-u")].count("no_client_id") == 3
    all_output = refreshed.err + revoking.err + caplog.text
    assert "ya29" not in all_output and "1//" not in all_output and "GOCSPX" not in all_output
    no_secret_outside_the_vault(home, "ya29.no-client-access", "1//no-client-refresh", "GOCSPX-orphan")

    with_client = Credentials("ya29.with-client", refresh_token="1//r", client_id=GOOGLE_CLIENT)
    assert storage.upsert_gdrive_token("u", with_client) is True  # stored again with its client: an ordinary one
    again = storage.vault.get("gdrive-user-u")
    assert again.renewable and "no_client_id" not in again.extras and len(caplog.messages) == 1


@pytest.mark.parametrize(
    ("changes", "odd", "status"),
    [
        ({"token": ""}, "the token is empty (kept with status error until a refresh replaces it)", "error"),
        ({"refresh_token": ""}, "the refresh token is empty, so the vault cannot refresh it", "active"),
    ],
    ids=["empty-access-token", "empty-refresh-token"],
)
def test_drive_credentials_with_an_empty_token_are_kept_with_a_warning_line(
    storage: TokenStorage, caplog: pytest.LogCaptureFixture, changes: dict[str, str], odd: str, status: str
) -> None:
    caplog.set_level(logging.WARNING, logger="vault.compat")
    fields = {"token": "ya29.a", "refresh_token": "1//r", "client_id": GOOGLE_CLIENT, **changes}
    assert storage.upsert_gdrive_token("u", Credentials(**fields)) is True
    assert caplog.messages == [f"TokenStorage.upsert_gdrive_token: stored gdrive-user-u, but {odd}"]
    got = storage.get_gdrive_credentials("u")
    assert got is not None and (got.token, got.refresh_token) == (fields["token"], fields["refresh_token"])
    stored = storage.vault.get("gdrive-user-u")
    assert stored.stored_status == status
    if status == "error":  # an access token that is no token is handed to nobody but TokenStorage
        with pytest.raises(vault.NeedsSignIn, match="gdrive-user-u holds no usable token: the token is empty"):
            storage.vault.token("gdrive-user-u")
    else:  # the access token works; refreshing with an empty refresh token is a dead grant, tokens kept
        assert storage.vault.token("gdrive-user-u") == "ya29.a"
        with pytest.raises(vault.NeedsSignIn, match="gdrive-user-u's refresh token is empty"):
            vault.services.refreshing.refresh(storage.vault, "gdrive-user-u", force=True)
        marked = storage.vault.get("gdrive-user-u")
        assert marked.stored_status == "needs_login" and marked.access_token == stored.access_token


def test_the_other_documented_differences(storage: TokenStorage, caplog: pytest.LogCaptureFixture) -> None:
    """docs/library.md's table, beyond the differential: refused where the original kept the text
    (a token URI the vault would send secrets to; a token that is not a string), and an id
    token kept where the original dropped it."""
    bad_uri = Credentials("ya29.a", client_id=GOOGLE_CLIENT, token_uri="http://evil.example/token")
    assert storage.upsert_gdrive_token("u", bad_uri) is False
    assert storage.upsert_jira_token("u", 123, JIRA_URL) is False  # type: ignore[arg-type]
    assert storage.vault.credentials() == [] and storage.vault.records.clients() == []
    assert caplog.messages == [
        "TokenStorage.upsert_gdrive_token failed: token url must be an https URL (http only on loopback):"
        " 'http://evil.example/token'",
        "TokenStorage.upsert_jira_token failed: the token must be a string",
    ]
    with_id = Credentials("ya29.a", client_id=GOOGLE_CLIENT, id_token="eyJ.id.token")
    assert storage.upsert_gdrive_token("u", with_id) is True
    got = storage.get_gdrive_credentials("u")
    assert got is not None and got.id_token == "eyJ.id.token"


# ----------------------------------------------------------------------- Linear


class _LinearRevoke(BaseHTTPRequestHandler):
    """Linear's ``POST /oauth/revoke`` (form ``refresh_token`` or ``access_token``),
    forwarded to the loopback server's RFC 7009 endpoint."""

    server: _LinearStandIn

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        hint = "refresh_token" if "refresh_token" in form else "access_token"
        self.server.seen.append(sorted(form))
        answer = httpx2.post(
            self.server.auth.url("/revoke"),
            data={
                "token": form.get(hint, ""),
                "token_type_hint": hint,
                "client_id": LINEAR_CLIENT,
                "client_secret": LINEAR_SECRET,
            },
        )
        status = 200 if answer.status_code == 200 else 400
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class _LinearStandIn(ThreadingHTTPServer):
    def __init__(self, auth: AuthServer) -> None:
        super().__init__(("127.0.0.1", 0), _LinearRevoke)
        self.auth = auth
        self.seen: list[list[str]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def linear(auth_server: AuthServer) -> Iterator[_LinearStandIn]:
    auth_server.register_client(
        LINEAR_CLIENT, client_secret=LINEAR_SECRET, token_endpoint_auth_method="client_secret_post"
    )
    stand_in = _LinearStandIn(auth_server)
    thread = threading.Thread(target=stand_in.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    stand_in.shutdown()
    stand_in.server_close()
    thread.join()


@pytest.fixture
def linear_store(v: vault.Vault, linear: _LinearStandIn) -> LinearTokenStore:
    overrides = {"token_url": linear.auth.url("/token"), "revoke": {"url": linear.url("/oauth/revoke")}}
    return LinearTokenStore(LINEAR_CLIENT, LINEAR_SECRET, vault=v, overrides=overrides)


def test_linear_registration_is_created_once(v: vault.Vault, linear_store: LinearTokenStore) -> None:
    registration = v.records.get_client("linear")
    assert registration.base == "linear" and registration.client_id == LINEAR_CLIENT
    LinearTokenStore(LINEAR_CLIENT, vault=v)  # reused as is
    assert v.records.get_client("linear").overrides == registration.overrides
    with pytest.raises(vault.InvalidInput, match="another app"):
        LinearTokenStore("someone-else", vault=v)


def test_linear_nothing_stored(linear_store: LinearTokenStore) -> None:
    assert linear_store.get_access_token("org-1") is None
    assert linear_store.revoke_tokens("org-1") is False


def test_linear_valid_token_is_returned_as_is(
    linear_store: LinearTokenStore, linear: _LinearStandIn, home: Path
) -> None:
    minted = linear.auth.issue_token(LINEAR_CLIENT, scope="read write")
    linear_store.store_tokens("org-1", minted["access_token"], minted["refresh_token"], "app-user-1", START + 3600)
    assert linear_store.get_access_token("org-1") == minted["access_token"]
    assert linear.auth.token_request_count("refresh_token") == 0
    assert linear_store.list_organizations() == ["org-1"]
    stored = linear_store.vault.get("linear-org-org-1")
    assert stored.account == "app-user-1" and stored.extras["organization_id"] == "org-1"
    no_secret_outside_the_vault(home, minted["access_token"], minted["refresh_token"], LINEAR_SECRET)


def test_linear_expired_token_is_refreshed(linear_store: LinearTokenStore, linear: _LinearStandIn, home: Path) -> None:
    minted = linear.auth.issue_token(LINEAR_CLIENT, scope="read write")
    past = datetime.fromtimestamp(START, UTC) - timedelta(hours=1)
    linear_store.store_tokens("org-1", minted["access_token"], minted["refresh_token"], "app-user-1", past)
    token = linear_store.get_access_token("org-1")
    assert token is not None and token != minted["access_token"]
    assert linear.auth.token_state(token) == "active"
    assert linear.auth.token_request_count("refresh_token") == 1
    assert linear.auth.token_requests()[-1].auth_method == "client_secret_post"
    assert linear_store.get_access_token("org-1") == token  # stored: no second refresh
    assert linear.auth.token_request_count("refresh_token") == 1
    with LinearTokenStore(LINEAR_CLIENT, home=home) as other:
        assert other.get_access_token("org-1") == token
    stored = linear_store.vault.get("linear-org-org-1")
    assert stored.refresh_token is not None
    no_secret_outside_the_vault(home, token, stored.refresh_token.reveal(), minted["refresh_token"])


def test_linear_revoke(linear_store: LinearTokenStore, linear: _LinearStandIn) -> None:
    minted = linear.auth.issue_token(LINEAR_CLIENT, scope="read write")
    linear_store.store_tokens("org-1", minted["access_token"], minted["refresh_token"], "app-user-1", START + 3600)
    assert linear_store.revoke_tokens("org-1") is True
    assert linear.seen == [["refresh_token"]]  # Linear's dialect: the refresh token, form-encoded
    assert linear.auth.token_state(minted["refresh_token"]) == "revoked"
    assert linear.auth.token_state(minted["access_token"]) == "revoked"
    assert not linear_store.vault.records.exists("linear-org-org-1")
    assert linear_store.get_access_token("org-1") is None
    assert linear_store.revoke_tokens("org-1") is False


def test_linear_revoke_failure_keeps_the_tokens(linear_store: LinearTokenStore, linear: _LinearStandIn) -> None:
    minted = linear.auth.issue_token(LINEAR_CLIENT, scope="read write")
    linear_store.store_tokens("org-1", minted["access_token"], minted["refresh_token"], None, START + 3600)
    linear_store.vault.http_transport = httpx2.MockTransport(lambda r: httpx2.Response(401, json={"error": "nope"}))
    with pytest.raises(vault.VaultError):
        linear_store.revoke_tokens("org-1")
    assert linear_store.vault.records.exists("linear-org-org-1")
    linear_store.vault.http_transport = None
    assert linear_store.get_access_token("org-1") == minted["access_token"]


def test_linear_a_refused_refresh_keeps_the_tokens_and_says_reconnect(
    linear_store: LinearTokenStore, linear: _LinearStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    minted = linear.auth.issue_token(LINEAR_CLIENT, scope="read write")
    past = datetime.fromtimestamp(START, UTC) - timedelta(hours=1)
    linear_store.store_tokens("org-1", minted["access_token"], minted["refresh_token"], "app-user-1", past)
    httpx2.post(  # the app was uninstalled at Linear
        linear.auth.url("/revoke"),
        data={"token": minted["refresh_token"], "client_id": LINEAR_CLIENT, "client_secret": LINEAR_SECRET},
    ).raise_for_status()
    assert linear_store.needs_reconnect("org-1") is False
    assert linear_store.get_access_token("org-1") is None
    assert linear_store.needs_reconnect("org-1") is True
    stored = linear_store.vault.get("linear-org-org-1")
    assert stored.access_token is not None and stored.access_token.reveal() == minted["access_token"]
    assert stored.refresh_token is not None and stored.refresh_token.reveal() == minted["refresh_token"]
    assert "Linear organization org-1 must reconnect" in caplog.text
    assert minted["refresh_token"] not in caplog.text and minted["access_token"] not in caplog.text
    assert linear_store.list_organizations() == ["org-1"]
