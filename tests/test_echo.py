"""The one rule for what of a user's input a message may repeat (:mod:`vault.core.masking`)."""

from __future__ import annotations

import pytest

from tests.support.fake_tokens import FAKE_TOKENS, leaked
from vault.core.masking import check_new_name, echo, secret_kind
from vault.errors import InvalidInput

ORDINARY = [
    "github",
    "google-work",
    "corp-sso-bot",
    "api-key",
    "github-pat",
    "jira-dc-prod-2024-account",
    "JiraDataCenterProd01",
    "MyCompanyGitHubEnterpriseServer2",
    "secret_store_for_work",
    "skeleton-key-for-the-build",
    "sk-test",
    "xoxo-friends",
    "2026-12-31",
    "2026-12-31T12:00:00Z",
    "2026-12-31T12:00:00+02:00",
    "90d",
    "1h30m",
    "tomorrow",
    "https://gitlab.example.com/oauth/authorize?client=1",
    "http://127.0.0.1:8080/callback",
    "/home/me/.config/Claude/claude_desktop_config.json",
    "~/.codex/config.toml",
    "./.env",
    "git.example.com:8443",
    "alice@example.com",
    "GITHUB_TOKEN",
    "MY_SERVICE_API_TOKEN_2",
    "claude-desktop",
    "Basic authentication",
    "",
]


@pytest.mark.parametrize("value", ORDINARY)
def test_ordinary_values_are_shown_as_before(value: str) -> None:
    assert secret_kind(value) is None
    assert echo(value) == repr(value)
    assert echo(value, quoted=False) == value


@pytest.mark.parametrize("what", sorted(FAKE_TOKENS))
def test_every_token_shape_is_described_never_quoted(what: str) -> None:
    token = FAKE_TOKENS[what]
    kind = secret_kind(token)
    assert kind is not None, what
    said = echo(token)
    assert said == f"<{kind}, not repeated>"
    assert leaked(token, said) is None
    assert leaked(token, echo(token, quoted=False, limit=200)) is None


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        (FAKE_TOKENS["github classic PAT"], "a GitHub token"),
        (FAKE_TOKENS["slack user"], "a Slack token"),
        (FAKE_TOKENS["openai project"], "an OpenAI API key"),
        (FAKE_TOKENS["anthropic"], "an Anthropic API key"),
        (FAKE_TOKENS["jwt"], "a JWT"),
        (FAKE_TOKENS["aws access key id"], "an AWS key"),
        (FAKE_TOKENS["hex client secret"], "a long secret-looking value"),
    ],
)
def test_the_description_says_what_kind(token: str, kind: str) -> None:
    assert secret_kind(token) == kind


def test_a_token_inside_a_longer_value_is_still_a_token() -> None:
    token = FAKE_TOKENS["github classic PAT"]
    for value in (f"token={token}", f"https://example.com/?access_token={token}", f"{token}\n", f" {token} "):
        assert secret_kind(value) == "a GitHub token", value


def test_a_prefix_inside_a_word_is_not_a_shape() -> None:
    assert secret_kind("xghp_abcdefGHIJ") is None
    assert secret_kind("mask-project") is None


def test_limit_shortens_only_what_is_shown() -> None:
    assert echo("a" * 300, limit=5) == "'aaaaa'"
    assert echo("x" * 300 + "=" + FAKE_TOKENS["linear"], limit=5) == "<a Linear key, not repeated>"


def test_a_name_that_looks_like_a_token_is_refused_without_repeating_it() -> None:
    token = FAKE_TOKENS["jwt"]
    with pytest.raises(InvalidInput) as refused:
        check_new_name(token)
    assert "a JWT" in refused.value.message and leaked(token, refused.value.message) is None
    for name in ("github-work", "corp-sso-bot", "JiraDataCenterProd01"):
        assert check_new_name(name) == name
