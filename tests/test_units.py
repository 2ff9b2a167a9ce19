"""Small pure pieces: time parsing and formatting, Secret, the status model."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from vault.core.model import Credential, StatusPolicy, check_name
from vault.core.secret import Secret
from vault.core.timefmt import iso, parse_duration, parse_when, relative
from vault.errors import InvalidInput, NeedsSignIn
from vault.services.refreshing import usable_token

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", NOW + 90 * 86400),
        ("12h", NOW + 12 * 3600),
        ("1h30m", NOW + 5400),
        ("2w", NOW + 14 * 86400),
        ("2026-12-31", datetime(2026, 12, 31, tzinfo=UTC).timestamp()),
        ("2026-12-31T12:00:00Z", datetime(2026, 12, 31, 12, tzinfo=UTC).timestamp()),
        ("2026-12-31T12:00:00+02:00", datetime(2026, 12, 31, 10, tzinfo=UTC).timestamp()),
        ("2026-12-31T12:00:00", datetime(2026, 12, 31, 12, tzinfo=UTC).timestamp()),
    ],
)
def test_parse_when(text: str, expected: float) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "1x", "d", "-5d", "2026-02-30", "12:00"])
def test_parse_when_rejects(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_when(text, NOW)


def test_parse_duration_rejects_zero() -> None:
    with pytest.raises(InvalidInput, match="positive"):
        parse_duration("0h")


@pytest.mark.parametrize(
    ("offset", "text"),
    [(252, "in 4m 12s"), (-7200, "2h ago"), (3 * 86400 + 3600, "in 3d 1h"), (30 * 86400, "in 30d"), (0, "in 0s")],
)
def test_relative(offset: float, text: str) -> None:
    assert relative(NOW + offset, NOW) == text


def test_iso() -> None:
    assert iso(NOW) == "2026-11-22T12:00:00Z"
    assert iso(None) is None


def test_secret_never_shows_itself() -> None:
    s = Secret("ghp_supersecret")
    assert "supersecret" not in repr(s) + str(s) + f"{s}" + f"{s!r}" + repr([s]) + repr({"k": s})
    assert s.reveal() == "ghp_supersecret"
    assert s == Secret("ghp_supersecret") and s != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_credential_repr_hides_tokens() -> None:
    c = Credential(
        name="gh", provider="github", kind="oauth", access_token=Secret("gho_abc"), refresh_token=Secret("ghr_def")
    )
    assert "gho_abc" not in repr(c) and "ghr_def" not in repr(c)


def _cred(**kw: object) -> Credential:
    defaults: dict[str, object] = {"name": "x", "provider": "p", "kind": "static", "access_token": Secret("t")}
    return Credential(**{**defaults, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "status"),
    [
        ({}, "active"),
        ({"expires_at": NOW - 1}, "expired"),
        ({"expires_at": NOW + 86400}, "expiring"),
        ({"expires_at": NOW + 30 * 86400}, "active"),
        ({"kind": "oauth", "expires_at": NOW + 100}, "expiring"),
        ({"kind": "oauth", "expires_at": NOW + 3600}, "active"),
        # A lapsed access token with a working refresh token is not "active" beside "1s ago".
        ({"kind": "oauth", "expires_at": NOW - 1, "refresh_token": Secret("r")}, "refresh_due"),
        (
            {"kind": "oauth", "expires_at": NOW + 60, "refresh_token": Secret("r"), "last_error": "http_503"},
            "refresh_failing",
        ),
        (
            {"kind": "oauth", "expires_at": NOW - 1, "refresh_token": Secret("r"), "last_error": "http_503"},
            "refresh_failing",
        ),
        ({"kind": "oauth", "expires_at": NOW - 1, "last_error": "http_503"}, "expired"),  # nothing to renew with
        ({"kind": "oauth", "refresh_token": Secret("r"), "refresh_expires_at": NOW + 86400}, "expiring"),
        ({"kind": "oauth", "refresh_token": Secret("r"), "refresh_expires_at": NOW - 1}, "expired"),
        ({"stored_status": "revoked", "access_token": None}, "revoked"),
        ({"stored_status": "needs_login"}, "needs_login"),
        ({"access_token": None}, "needs_login"),
        ({"kind": "oauth", "access_token": None}, "needs_login"),
        ({"kind": "oauth", "access_token": None, "refresh_token": Secret("r")}, "refresh_due"),  # renewed on read
    ],
)
def test_status_model(kw: dict[str, object], status: str) -> None:
    assert _cred(**kw).status_at(NOW) == status


@pytest.mark.parametrize(
    ("kind", "token", "why"),
    [
        ("static", "", "the token is empty; replace it with a new token"),
        ("static", "two words", "the token contains whitespace or control characters; replace it with a new token"),
        ("oauth", "line\nbreak", "the token contains whitespace or control characters; run tokendeck login p --name x"),
    ],
)
def test_a_stored_token_that_is_no_token_is_not_handed_out(kind: str, token: str, why: str) -> None:
    """Only vault.compat stores such a token (the store it replaces did); nothing hands it out."""
    credential = _cred(kind=kind, access_token=Secret(token))
    with pytest.raises(NeedsSignIn) as caught:
        usable_token(credential, NOW)
    assert caught.value.message == f"x holds no usable token: {why}"
    assert credential.access_token_fault is not None and (not token or token not in repr(caught.value))
    assert (
        _cred(access_token=Secret("tok")).access_token_fault is None
        and _cred(access_token=None).access_token_fault is None
    )


@pytest.mark.parametrize(
    ("kw", "due"),
    [
        ({"kind": "oauth", "expires_at": NOW + 59}, True),  # inside a 60 s window
        ({"kind": "oauth", "expires_at": NOW + 60}, True),  # on its edge
        ({"kind": "oauth", "expires_at": NOW + 61}, False),
        ({"kind": "oauth", "expires_at": NOW - 1}, True),  # already expired: refresh it
        ({"kind": "oauth"}, False),  # no expiry: nothing to refresh ahead of
        ({"kind": "oauth", "expires_at": NOW + 1, "stored_status": "needs_login"}, False),
        ({"kind": "oauth", "expires_at": NOW + 1, "stored_status": "revoked"}, False),
        ({"expires_at": NOW + 1}, False),  # a static token is never refreshed
        ({"kind": "oauth", "access_token": None, "refresh_token": Secret("r")}, True),  # only a refresh token
        ({"kind": "oauth", "access_token": None}, False),  # nothing to renew it with
    ],
)
def test_due(kw: dict[str, object], due: bool) -> None:
    assert _cred(**kw).due(NOW, 60) is due


@pytest.mark.parametrize(
    ("kw", "deadline"),
    [
        ({"expires_at": NOW + 5}, (NOW + 5, "token")),
        ({"kind": "oauth", "expires_at": NOW + 5}, (NOW + 5, "access token")),
        (
            {"kind": "oauth", "expires_at": NOW + 5, "refresh_token": Secret("r"), "refresh_expires_at": NOW + 9},
            (NOW + 9, "refresh token"),
        ),
        ({"kind": "oauth", "expires_at": NOW + 5, "refresh_token": Secret("r")}, (None, "refresh token")),
    ],
)
def test_deadline_is_what_runs_out(kw: dict[str, object], deadline: tuple[float | None, str]) -> None:
    assert _cred(**kw).deadline() == deadline


def test_status_policy_is_adjustable() -> None:
    c = _cred(expires_at=NOW + 86400)
    assert c.status_at(NOW, StatusPolicy(long_lived_warning=3600)) == "active"


@pytest.mark.parametrize("name", ["github", "google-work", "alice@example.com", "a.b_c+d", "X1"])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", ".hidden", "a b", "a/b", "é", "a\nb", "x" * 101])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidInput):
        check_name(name)


@pytest.mark.parametrize(
    ("lifetime", "read", "ahead"),
    [
        (3600, 60, 300),  # an hour: the fixed margins
        (1200, 60, 300),  # 20 minutes: still capped
        (480, 60, 120),  # 8 minutes: the read cap, a quarter ahead
        (20, 2.5, 5),  # 20 seconds: an eighth on read, a quarter ahead
        (0, 0, 0),  # issued already expired
        (None, 60, 300),  # no issue time known: the fixed margins
    ],
)
def test_the_refresh_margin_follows_the_lifetime(lifetime: float | None, read: float, ahead: float) -> None:
    issued = 0.0 if lifetime is None else NOW
    c = _cred(kind="oauth", refresh_token=Secret("r"), expires_at=NOW + (lifetime or 0), created_at=issued)
    assert c.refresh_margin() == read and c.refresh_margin(ahead=True) == ahead
    assert not c.due(NOW) if lifetime else c.due(NOW)  # a token just issued is never due


def test_renew_at_is_its_margin_ahead_and_never_within_the_spacing_of_the_last_refresh() -> None:
    from vault.settings import MIN_REFRESH_SPACING

    twenty = _cred(kind="oauth", refresh_token=Secret("r"), expires_at=NOW + 20, last_refreshed_at=NOW)
    assert twenty.renew_at() == NOW + 15
    blink = _cred(kind="oauth", refresh_token=Secret("r"), expires_at=NOW + 1, last_refreshed_at=NOW)
    assert blink.renew_at() == NOW + MIN_REFRESH_SPACING
    assert _cred(kind="oauth", expires_at=NOW + 20, last_refreshed_at=NOW).renew_at() is None  # nothing to renew with
    assert _cred(expires_at=NOW + 20).renew_at() is None  # static
    dead = _cred(kind="oauth", refresh_token=Secret("r"), expires_at=NOW + 20, stored_status="needs_login")
    assert dead.renew_at() is None


def test_the_lifetime_bar_empties_as_the_token_runs_out() -> None:
    from dataclasses import replace

    from screens.logic.countdown import BAR_WIDTH, TRACK, lifetime_bar
    from vault.core.model import Credential
    from vault.core.secret import Secret

    c = Credential(name="g", provider="google", kind="oauth", access_token=Secret("a"), refresh_token=Secret("r"),
                   expires_at=1000.0 + 3600, created_at=1000.0)  # fmt: skip
    assert c.lifetime_left(1000.0) == 1.0 and c.lifetime_left(1000.0 + 1800) == 0.5
    assert lifetime_bar(c, 1000.0) == ("█" * BAR_WIDTH, "")
    assert lifetime_bar(c, 1000.0 + 1800) == ("██▌", TRACK * 2)
    assert lifetime_bar(c, 1000.0 + 3600 + 60) == ("", TRACK * BAR_WIDTH)  # expired: an empty track, still drawn
    assert lifetime_bar(replace(c, expires_at=None), 1000.0) is None
    assert lifetime_bar(replace(c, stored_status="revoked"), 1000.0) is None  # the countdown stopped
    for at in range(1000, 1000 + 3600, 97):  # always the full width
        filled, track = lifetime_bar(c, float(at)) or ("", "")
        assert len(filled) + len(track) == BAR_WIDTH


@pytest.mark.parametrize(
    ("code", "description", "first_line"),
    [
        ("access_denied", "The user denied access", "The sign-in was declined"),
        ("invalid_client", None, "The provider did not accept the app's client ID or secret"),
        ("http_503", "unavailable", "The provider had an error"),
        ("weird_code", "its words", None),  # no sentence: said as the provider said it
    ],
)
def test_provider_errors_in_plain_words(code: str, description: str | None, first_line: str | None) -> None:
    from vault.errors import ProviderError, plain_words

    error = ProviderError("acme", code, description)
    said = plain_words(error)
    if first_line is None:
        assert said == error.message == f"acme: {code}: {description}"
    else:
        sentence, provider_words = said.split("\n")
        assert sentence.startswith(first_line)
        if code.startswith("http_"):  # a status, not the provider's words: said as such, never as a code
            assert provider_words == f"acme: {description} (HTTP {code.removeprefix('http_')})"
        else:
            assert provider_words == f"acme said: {error.detail}"  # the provider's text kept, below


def test_every_code_tokendeck_gives_a_provider_error_is_one_of_its_own_or_has_a_sentence() -> None:
    """No internal code reaches a person: each literal code a ``ProviderError`` (or a subclass) is
    raised with in ``vault/`` is in ``OWN_CODES`` (said by its description) or ``PLAIN_WORDS``."""
    import ast
    from pathlib import Path

    from vault.errors import OWN_CODES, PLAIN_WORDS

    errors = {"ProviderError", "SignInFailed", "RevokeFailed"}
    found: set[str] = set()
    for path in (Path(__file__).parent.parent / "vault").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in errors:
                code = node.args[1] if len(node.args) > 1 else None
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found.add(code.value)
    assert "no_sign_in" in found and "bad_response" in found
    assert found <= OWN_CODES | set(PLAIN_WORDS), found - OWN_CODES - set(PLAIN_WORDS)
