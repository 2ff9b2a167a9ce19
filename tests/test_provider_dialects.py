"""Provider overrides keep the provider's dialect (issue 14, item 5): a ``--revoke-url`` (or
any endpoint flag) moves the endpoint and nothing else, ``provider show`` prints the effective
dialect and every endpoint, and a revoke through an overridden Linear endpoint speaks Linear."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.json_handler import JsonHandler, serving
from vault.core.providers import builtin


class Recorder(JsonHandler):
    """Answers every POST with 200 ``{}`` and keeps what it was sent."""

    seen: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.seen.append({"path": self.path, "type": self.headers.get("Content-Type", ""), "body": body})
        self.send_json({})


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    with serving(handler) as url:
        yield url, seen


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str) -> CliRunner:
    assert cli("init").code == 0
    return cli


@pytest.mark.parametrize("base", ["linear", "github", "slack", "notion", "dropbox", "gitlab", "google"])
def test_a_revoke_url_override_keeps_the_bases_revoke_format(ready: CliRunner, base: str) -> None:
    url = "https://staging.example.test/revoke"
    params = ["--param", "base_url=https://gitlab.example.test"] if base == "gitlab" else []
    added = ready("provider", "add", f"my-{base}", "--base", base, "--client-id", "cid",
                  "--revoke-url", url, *params, stdin="a-client-secret\n")  # fmt: skip
    assert added.code == 0, added.err
    shown = json.loads(ready("provider", "show", f"my-{base}", "--json").out)
    assert shown["revoke"] == shown["dialect"]["revoke"] == builtin(base).revoke.style
    assert shown["endpoints"]["revoke_url"] == url
    assert shown["dialect"]["revoke_authenticates"] == builtin(base).revoke.client_auth


def test_a_revoke_url_for_a_base_without_one_is_rfc7009(ready: CliRunner) -> None:
    args = ("provider", "add", "my-jira", "--base", "atlassian", "--client-id", "cid", "--with-secret")
    assert ready(*args, "--revoke-url", "https://id.example.test/revoke", stdin="s\n").code == 0
    assert json.loads(ready("provider", "show", "my-jira", "--json").out)["revoke"] == "rfc7009"


def test_every_endpoint_can_be_overridden_and_is_shown(ready: CliRunner) -> None:
    flags = {
        "--authorize-url": "authorize_url",
        "--token-url": "token_url",
        "--device-url": "device_authorization_url",
        "--userinfo-url": "userinfo_url",
        "--identity-url": "identity_url",
        "--resources-url": "accessible_resources_url",
        "--revoke-url": "revoke_url",
    }
    argv = [arg for flag in flags for arg in (flag, f"https://self-hosted.example.test/{flag[2:]}")]
    added = ready("provider", "add", "gh-staging", "--base", "github", "--client-id", "cid", *argv, stdin="s\n")
    assert added.code == 0, added.err
    shown = json.loads(ready("provider", "show", "gh-staging", "--json").out)
    for flag, key in flags.items():
        assert shown["endpoints"][key] == f"https://self-hosted.example.test/{flag[2:]}", key
    assert shown["dialect"]["revoke"] == "github"
    assert shown["dialect"]["identity"] == f"GET {builtin('github').identity.account}"  # type: ignore[union-attr]


def test_a_revoke_through_an_overridden_linear_endpoint_sends_linears_fields(
    ready: CliRunner, home: Path, recorder: tuple[str, list[dict[str, Any]]], passphrase_env: str
) -> None:
    base_url, seen = recorder
    added = ready("provider", "add", "linear-staging", "--base", "linear", "--client-id", "lin-client",
                  "--with-secret", "--revoke-url", f"{base_url}/oauth/revoke", stdin="lin-secret\n")  # fmt: skip
    assert added.code == 0, added.err
    now = time.time()
    with vault.open_vault(home, passphrase_env) as v:
        v.records.save(
            vault.Credential(
                name="lin",
                provider="linear-staging",
                kind="oauth",
                access_token=vault.Secret("lin_oauth_access_1"),
                refresh_token=vault.Secret("lin_oauth_refresh_1"),
                expires_at=now + 3600,
                created_at=now,
                updated_at=now,
            )
        )
    revoked = ready("revoke", "lin", "--yes")
    assert revoked.code == 0, revoked.err
    assert [r["path"] for r in seen] == ["/oauth/revoke"]
    assert seen[0]["type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(seen[0]["body"])
    assert form == {"refresh_token": ["lin_oauth_refresh_1"]}  # Linear's field, not RFC 7009's token/hint
    with vault.open_vault(home, passphrase_env) as v:
        assert not v.records.exists("lin") or v.get("lin").access_token is None
