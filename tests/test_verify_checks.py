"""What ``verify`` sends to each provider and how it reads the answer (issue 33, item 7), on
``httpx2.MockTransport``: the catalog's check per provider (its URL, method and headers),
Slack's refusals with HTTP 200, a 403 that is no refusal, a network failure, and what is
never sent (an MCP server's token, a static key of an unknown provider).  Each test's vault
is a fresh in-memory-keyring one; what it holds afterwards is asserted."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import httpx2
import pytest

import vault
from tests.support.tui import new_vault
from vault.core.model import MCP_URL_EXTRA, ClientRegistration, Credential
from vault.core.secret import Secret
from vault.services.verify import exit_code, verify

TOKEN = "tok_value_123456"


@pytest.fixture
def v(home: object) -> Iterator[vault.Vault]:
    opened, _clock = new_vault()
    with opened:
        yield opened


def oauth(v: vault.Vault, base: str, name: str = "c", **params: str) -> None:
    """An OAuth credential ``name`` at a registration of ``base`` (no expiry)."""
    v.records.set_client(
        ClientRegistration(provider=f"my-{base}", base=base, client_id="cid", client_secret=Secret("s"), params=params)
    )
    now = v.clock.now()
    v.records.save(Credential(name=name, provider=f"my-{base}", kind="oauth", access_token=Secret(TOKEN),
                              created_at=now, updated_at=now))  # fmt: skip


def answering(v: vault.Vault, answer: Callable[[httpx2.Request], httpx2.Response]) -> list[httpx2.Request]:
    seen: list[httpx2.Request] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return answer(request)

    v.http_transport = httpx2.MockTransport(handle)
    return seen


@pytest.mark.parametrize(
    ("base", "method", "url", "body", "account"),
    [
        ("github", "GET", "https://api.github.com/user", {"login": "octocat"}, "octocat"),
        ("gitlab", "GET", "https://gitlab.com/api/v4/user", {"username": "gl-user"}, "gl-user"),
        ("google", "GET", "https://openidconnect.googleapis.com/v1/userinfo", {"email": "a@b.test"}, "a@b.test"),
        ("linear", "POST", "https://api.linear.app/graphql", {"data": {"viewer": {"email": "l@b.test"}}}, "l@b.test"),
        ("atlassian", "GET", "https://api.atlassian.com/me", {"email": "at@b.test"}, "at@b.test"),
        ("microsoft", "GET", "https://graph.microsoft.com/v1.0/me", {"userPrincipalName": "m@b.test"}, "m@b.test"),
        ("dropbox", "POST", "https://api.dropboxapi.com/2/users/get_current_account", {"email": "d@b.test"},
         "d@b.test"),
        ("bitbucket", "GET", "https://api.bitbucket.org/2.0/user", {"account_id": "557058:x"}, "557058:x"),
        ("slack", "GET", "https://slack.com/api/auth.test", {"ok": True, "user": "sl"}, "sl"),
        ("notion", "GET", "https://api.notion.com/v1/users/me",
         {"bot": {"owner": {"user": {"person": {"email": "n@b.test"}}}}}, "n@b.test"),
    ],
)  # fmt: skip
def test_each_providers_check(
    v: vault.Vault, base: str, method: str, url: str, body: dict[str, object], account: str
) -> None:
    """Vault after: the credential active, one ``verify ok`` audit entry."""
    oauth(v, base)
    seen = answering(v, lambda r: httpx2.Response(200, json=body))
    (found,) = verify(v)
    assert (found.outcome, found.account, found.status) == ("ok", account, "active"), found
    (request,) = seen
    assert (request.method, str(request.url)) == (method, url)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    if base == "notion":
        assert request.headers["Notion-Version"] == "2025-09-03"
    assert [e.outcome for e in v.records.audit_log(credential="c") if e.action == "verify"] == ["ok"]


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive"])
def test_slack_refuses_with_http_200(v: vault.Vault, error: str) -> None:
    """Vault after: revoked, its token kept, the reason in its last error."""
    oauth(v, "slack")
    answering(v, lambda r: httpx2.Response(200, json={"ok": False, "error": error}))
    (found,) = verify(v)
    assert found.outcome == "refused" and found.status == "revoked"
    stored = v.get("c")
    assert stored.access_token is not None and error in (stored.last_error or "")
    assert exit_code([found]) == 4


def test_slack_other_errors_are_not_refusals(v: vault.Vault) -> None:
    """Vault after: unchanged (``ratelimited`` says nothing about the token)."""
    oauth(v, "slack")
    answering(v, lambda r: httpx2.Response(200, json={"ok": False, "error": "ratelimited"}))
    (found,) = verify(v)
    assert found.outcome == "could_not_check" and v.get("c").stored_status == "active"


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx2.Response(403, json={"message": "API rate limit exceeded"}),
        lambda r: httpx2.Response(429),
        lambda r: httpx2.Response(502, text="bad gateway"),
        lambda r: (_ for _ in ()).throw(httpx2.ConnectError("down", request=r)),
        lambda r: (_ for _ in ()).throw(httpx2.ReadTimeout("slow", request=r)),
    ],
    ids=["403-rate-limit", "429", "502", "connect", "timeout"],
)
def test_could_not_check_leaves_the_status(v: vault.Vault, answer: Callable[[httpx2.Request], httpx2.Response]) -> None:
    """Vault after: unchanged but for a ``could_not_check`` audit entry."""
    oauth(v, "github")
    answering(v, answer)
    (found,) = verify(v)
    assert found.outcome == "could_not_check" and found.status == "active" and exit_code([found]) == 7
    assert v.get("c").last_error is None
    assert [e.outcome for e in v.records.audit_log(credential="c") if e.action == "verify"] == ["could_not_check"]


def test_static_tokens(v: vault.Vault) -> None:
    """A GitHub PAT is checked at /user (its scopes from X-OAuth-Scopes), a Jira DC PAT at its
    server's /myself, an API key never.  Vault after: the PAT revoked, the others unchanged."""
    v.records.add_static("pat", provider="github-pat", token=TOKEN)
    v.records.add_static("jira", provider="jira-dc", token="jira_pat_123456",
                         extras={"server_url": "https://jira.example.test", "username": "u"})  # fmt: skip
    v.records.add_static("key", provider="api-key", token="sk-1234567890")

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "jira.example.test":
            return httpx2.Response(200, json={"name": "jdoe"})
        return httpx2.Response(401, json={"message": "Bad credentials"})

    seen = answering(v, answer)
    found = {f.name: f for f in verify(v)}
    assert sorted(str(r.url) for r in seen) == ["https://api.github.com/user",
                                                "https://jira.example.test/rest/api/2/myself"]  # fmt: skip
    assert found["pat"].outcome == "refused" and v.get("pat").stored_status == "revoked"
    assert found["jira"].outcome == "ok" and found["jira"].account == "jdoe"
    assert found["key"].outcome == "cannot_check" and "no check known" in found["key"].detail


def test_an_mcp_servers_token_is_not_sent(v: vault.Vault) -> None:
    """Vault after: unchanged, nothing sent."""
    oauth(v, "oidc")
    v.records.save(dataclasses.replace(v.get("c"), extras={MCP_URL_EXTRA: "https://mcp.example.test/mcp"}))
    seen = answering(v, lambda r: httpx2.Response(500))
    (found,) = verify(v)
    assert found.outcome == "cannot_check" and seen == []


def test_a_token_that_changed_during_the_check_is_not_marked(v: vault.Vault) -> None:
    """A refresh stored a new token while the old one was refused. Vault after: active."""
    oauth(v, "github")

    def answer(request: httpx2.Request) -> httpx2.Response:
        v.records.save(dataclasses.replace(v.get("c"), access_token=Secret("tok_newer_654321")))
        return httpx2.Response(401)

    answering(v, answer)
    (found,) = verify(v)
    assert found.outcome == "could_not_check" and "changed while it was checked" in found.detail
    assert v.get("c").stored_status == "active"


def test_a_token_about_to_expire_is_not_sent(v: vault.Vault) -> None:
    """A 401 for a token expiring now would be its expiry, not a revocation. Vault after: unchanged."""
    oauth(v, "dropbox")
    v.records.save(dataclasses.replace(v.get("c"), expires_at=v.clock.now() + 30))
    seen = answering(v, lambda r: httpx2.Response(401))
    (found,) = verify(v)
    assert (found.outcome, found.detail) == ("not_checked", "expires within a minute (not checked)") and seen == []


def test_checks_not_started_in_time_are_not_sent(v: vault.Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's client stops waiting after a while: what was not started by then is said,
    not sent. Vault after: unchanged, nothing audited."""
    monkeypatch.setattr("vault.services.verify.VERIFY_START_BY", -1.0)
    oauth(v, "github")
    seen = answering(v, lambda r: httpx2.Response(401))
    (found,) = verify(v)
    assert found.outcome == "could_not_check" and "out of time" in found.detail and seen == []
    assert v.get("c").stored_status == "active"
    assert [e for e in v.records.audit_log(credential="c") if e.action == "verify"] == []


def test_what_a_provider_says_never_repeats_the_token(v: vault.Vault) -> None:
    """A server that echoes the token in its error or account. Vault after: revoked, the
    token in no message, last error or audit entry."""
    oauth(v, "slack")
    answering(v, lambda r: httpx2.Response(200, json={"ok": False, "error": f"invalid_auth {TOKEN}"}))
    (found,) = verify(v)
    assert found.outcome == "could_not_check" and TOKEN not in found.detail  # not a known refusal word
    oauth(v, "github", name="d")
    answering(v, lambda r: httpx2.Response(200, json={"login": TOKEN}))
    found = {f.name: f for f in verify(v, ["d"])}["d"]
    assert found.outcome == "ok" and TOKEN not in found.detail and TOKEN not in str(found.account)
    assert all(TOKEN not in (e.detail or "") for e in v.records.audit_log())


def test_a_refused_refresh_says_refused_not_revoked(v: vault.Vault) -> None:
    """``--refresh`` on an expired token whose refresh token is dead. Vault after: needs_login."""
    oauth(v, "github")
    v.records.save(
        dataclasses.replace(v.get("c"), refresh_token=Secret("ghr_dead_refresh"), expires_at=v.clock.now() - 5)
    )
    answering(v, lambda r: httpx2.Response(200, json={"error": "bad_refresh_token"}))
    (found,) = verify(v, refresh=True)
    assert (found.outcome, found.status, found.words) == ("refused", "needs_login", "refused")
    assert exit_code([found]) == 4
