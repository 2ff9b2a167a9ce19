"""services.static_tokens: the one set of rules for storing a static token, which
``tokendeck add`` and the TUI's "add a token" form both follow.  The CLI used to accept
what the TUI refused (docs/cli.md, "Rules both front ends share"); it refuses it now, before
it asks for the token, and leaves the vault as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vault
from tests.support.cli import CliRunner
from vault.errors import InvalidInput
from vault.services import static_tokens

NOW = 1_780_000_000.0


@pytest.fixture
def ready(cli: CliRunner, home: Path) -> CliRunner:
    with vault.init_vault(home, mode="keyring") as v:
        v.records.add_static("kept", provider="api-key", token="tok_kept")
    return cli


def names(home: Path) -> list[str]:
    with vault.open_vault(home) as v:
        return [c.name for c in v.credentials()]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["gh", "--provider", "github"],
            "github signs in with OAuth: tokendeck login github; "
            "a token you already have goes in as provider github-pat",
        ),
        (
            ["sl", "--provider", "slack"],
            "slack signs in with OAuth: tokendeck login slack; a token you already have goes in as provider api-key",
        ),
        (["jira", "--provider", "jira-dc"], "jira-dc needs the server URL and your username on it."),
        (["jira", "--provider", "jira-dc", "--server-url", "https://jira.example.com"], "your username on it"),
        (
            ["jira", "--provider", "jira-dc", "--server-url", "http://jira.example.com", "--username", "ada"],
            "must be an https URL",
        ),
        (["k", "--provider", "api-key", "--account", ""], "the account must be 1-200 printable characters"),
        (["k", "--provider", "api-key", "--expires", "2001-01-01"], "The expiry is in the past."),
    ],
)
def test_the_cli_refuses_what_the_rules_refuse_before_reading_the_token(
    ready: CliRunner, home: Path, argv: list[str], message: str
) -> None:
    r = ready("add", *argv, stdin="tok_never_read\n")
    assert r.code == 2 and message in r.err, r.err
    assert "tok_never_read" not in r.out + r.err
    assert names(home) == ["kept"]


def test_labels_lose_their_surrounding_spaces(ready: CliRunner) -> None:
    r = ready("add", "k", "--provider", "api-key", "--account", "  alice  ", stdin="tok\n")
    assert r.code == 0, r.err
    assert json.loads(ready("show", "k", "--json").out)["account"] == "alice"


def test_a_jira_token_with_everything_it_needs(ready: CliRunner) -> None:
    r = ready("add", "jira", "--provider", "jira-dc", "--server-url", " https://jira.example.com ",
              "--username", " ada ", stdin="NjM0\n")  # fmt: skip
    assert r.code == 0, r.err
    shown = json.loads(ready("show", "jira", "--json").out)
    assert shown["extras"] == {"server_url": "https://jira.example.com", "username": "ada"}
    assert shown["account"] == "ada"  # the list's Account column shows who it is, not "-"


def test_each_front_end_says_how_it_signs_in() -> None:
    expected = (
        "github signs in with OAuth: press escape, then s to sign in; "
        "a token you already have goes in as provider github-pat"
    )
    with pytest.raises(InvalidInput) as refused:
        static_tokens.check("gh", "github", now=NOW, sign_in_hint="press escape, then s to sign in")
    assert refused.value.message == expected


def test_a_provider_outside_the_catalog_is_fine() -> None:
    checked = static_tokens.check("corp", "corp-api", now=NOW, expires="90d", username="svc")
    assert (checked.provider, checked.expires_at, checked.extras) == ("corp-api", NOW + 90 * 86400, {"username": "svc"})


def test_add_checks_the_token_and_stores_nothing_bad(home: Path) -> None:
    with vault.init_vault(home, mode="keyring") as v:
        checked = static_tokens.check("k", "api-key", now=v.clock.now())
        with pytest.raises(InvalidInput, match="whitespace"):
            static_tokens.add(v.records, checked, "two words")
        assert v.credentials() == []
        static_tokens.add(v.records, checked, "one-word")
        assert v.token("k") == "one-word"


def test_add_replace_keeps_the_account_expiry_and_extras_unless_given_again(ready: CliRunner, home: Path) -> None:
    jira = ["--provider", "jira-dc", "--server-url", "https://jira.example.com", "--username", "ada"]
    assert ready("add", "jira", *jira, "--account", "ada@example.com", "--expires", "90d", stdin="pat-1\n").code == 0
    with vault.open_vault(home) as v:
        first = v.get("jira")
    r = ready("add", "jira", "--provider", "jira-dc", "--replace", stdin="pat-2\n")  # the token alone
    assert r.code == 0, r.err
    with vault.open_vault(home) as v:
        second = v.get("jira")
        assert v.token("jira") == "pat-2"
    assert (second.account, second.expires_at, dict(second.extras)) == (
        first.account,
        first.expires_at,
        dict(first.extras),
    )
    r = ready(
        "add", "jira", "--provider", "jira-dc", "--replace", "--account", "ada2", "--username", "ada2", stdin="p3"
    )
    assert r.code == 0
    with vault.open_vault(home) as v:
        third = v.get("jira")
    assert third.account == "ada2" and third.extras["username"] == "ada2"
    assert third.extras["server_url"] == "https://jira.example.com" and third.expires_at == first.expires_at
    before = third
    r = ready("add", "fresh", "--provider", "jira-dc", "--replace", stdin="p4")  # nothing to keep: still required
    assert r.code == 2 and "needs the server URL" in r.err
    with vault.open_vault(home) as v:
        assert not v.records.exists("fresh") and v.get("jira") == before
