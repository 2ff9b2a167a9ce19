"""Learning the account after sign-in, per the catalog's identity entry, over
httpx2.MockTransport: GitHub's /user, Linear's GraphQL, Dropbox's POST, Notion's
token response, Atlassian's cloud id.  A failed lookup never loses the sign-in."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import pytest

from vault.core.model import ClientRegistration, Credential
from vault.core.providers import resolve
from vault.core.secret import Secret
from vault.errors import Declined
from vault.oauth.identity import dig, learn_identity
from vault.oauth.tokens import TokenSet
from vault.services.signin import SignedIn, account_change

TOKEN = TokenSet(access_token=Secret("at-123"))


def provider(key: str):  # type: ignore[no-untyped-def]
    return resolve(ClientRegistration(provider=key, base=key, client_id="c"))


def answer(routes: dict[str, Callable[[httpx2.Request], httpx2.Response]], seen: list[httpx2.Request]):  # type: ignore[no-untyped-def]
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return routes[str(request.url)](request)

    return httpx2.MockTransport(handler)


def test_github_login() -> None:
    seen: list[httpx2.Request] = []
    routes = {"https://api.github.com/user": lambda r: httpx2.Response(200, json={"login": "octocat", "id": 1})}
    account, extras, warning = learn_identity(provider("github"), TOKEN, transport=answer(routes, seen))
    assert (account, warning) == ("octocat", None)
    assert seen[0].headers["authorization"] == "Bearer at-123" and seen[0].method == "GET"


def test_linear_graphql_with_organization() -> None:
    seen: list[httpx2.Request] = []
    body = {"data": {"viewer": {"id": "u-1", "email": "ada@example.com", "organization": {"id": "org-9"}}}}
    routes = {"https://api.linear.app/graphql": lambda r: httpx2.Response(200, json=body)}
    account, extras, _ = learn_identity(provider("linear"), TOKEN, transport=answer(routes, seen))
    assert account == "ada@example.com" and extras == {
        "organization_id": "org-9",
        "user_id": "u-1",
        "account_subject": "u-1",
    }
    assert seen[0].method == "POST" and "viewer" in json.loads(seen[0].content)["query"]


def test_dropbox_post_without_body() -> None:
    seen: list[httpx2.Request] = []
    url = "https://api.dropboxapi.com/2/users/get_current_account"
    routes = {url: lambda r: httpx2.Response(200, json={"email": "d@example.com"})}
    account, _, _ = learn_identity(provider("dropbox"), TOKEN, transport=answer(routes, seen))
    assert account == "d@example.com" and seen[0].method == "POST" and seen[0].content == b""


def test_notion_reads_the_token_response() -> None:
    tokens = TokenSet(access_token=Secret("n"), extras={"owner": {"user": {"person": {"email": "n@example.com"}}}})
    account, _, warning = learn_identity(provider("notion"), tokens)
    assert (account, warning) == ("n@example.com", None)


def test_atlassian_cloud_id() -> None:
    seen: list[httpx2.Request] = []
    sites = [{"id": "cloud-1", "name": "acme", "url": "https://acme.atlassian.net"}]
    routes = {
        "https://api.atlassian.com/me": lambda r: httpx2.Response(200, json={"email": "j@example.com"}),
        "https://api.atlassian.com/oauth/token/accessible-resources": lambda r: httpx2.Response(200, json=sites),
    }
    account, extras, _ = learn_identity(provider("atlassian"), TOKEN, transport=answer(routes, seen))
    assert account == "j@example.com" and extras["cloud_id"] == "cloud-1"
    assert extras["sites"][0]["url"] == "https://acme.atlassian.net"


@pytest.mark.parametrize(
    "reply",
    [
        lambda r: httpx2.Response(401, json={"message": "Bad credentials"}),
        lambda r: httpx2.Response(200, text="<html>"),
        lambda r: httpx2.Response(200, json={"no_login": True}),
    ],
    ids=["401", "html", "no-field"],
)
def test_failures_are_a_warning_not_an_error(reply: Callable[[httpx2.Request], httpx2.Response]) -> None:
    routes = {"https://api.github.com/user": reply}
    account, _, warning = learn_identity(provider("github"), TOKEN, transport=answer(routes, []))
    assert account is None and warning and "at-123" not in warning


def test_dig() -> None:
    assert dig({"a": {"b": [1]}}, "a.b") == [1]
    assert dig({"a": 1}, "a.b") is None


def _jwt(claims: dict[str, object]) -> str:
    import base64

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("id_token", "account"),
    [
        (_jwt({"sub": "1", "email": "carol@acceptance.test"}), "carol@acceptance.test"),
        (_jwt({"sub": "1", "preferred_username": "carol"}), "carol"),
        (_jwt({"sub": "1"}), None),
        ("not-a-jwt", None),
        ("a.!!!.c", None),
        (None, None),
    ],
)
def test_an_mcp_credential_s_account_comes_from_its_id_token_and_nothing_is_asked(
    id_token: str | None, account: str | None
) -> None:
    """An MCP server's token is for that server (RFC 8707): no userinfo call is made with it,
    and no warning is given when there is no ID token to read the account from."""
    from vault.services.mcp_signin import IDENTITY

    registration = ClientRegistration(
        provider="mcp-x",
        base="oidc",
        client_id="c",
        overrides={
            "authorize_url": "https://as.example/authorize",
            "token_url": "https://as.example/token",
            "userinfo_url": "https://as.example/userinfo",
            "identity": IDENTITY,
        },
    )
    seen: list[httpx2.Request] = []
    tokens = TokenSet(access_token=Secret("at-123"), id_token=Secret(id_token) if id_token else None)
    found = learn_identity(resolve(registration), tokens, transport=answer({}, seen))
    subject = {"account_subject": "1"} if id_token and id_token.count(".") == 2 and "!" not in id_token else {}
    assert found == (account, subject, None) and seen == []  # the ID token's sub, when it has one


# ------------------------------------------------------------------ another account over a name


def _stored(provider: str = "acme", account: str | None = "alice@x.test", subject: str | None = "1") -> Credential:
    extras = {} if subject is None else {"account_subject": subject}
    return Credential(name="work", provider=provider, kind="oauth", access_token=Secret("at-old"), account=account,
                      extras=extras)  # fmt: skip


def _signed(provider: str = "acme", account: str | None = "alice@x.test", subject: str | None = "1") -> SignedIn:
    extras = {} if subject is None else {"account_subject": subject}
    return SignedIn(provider, TokenSet(access_token=Secret("at-new")), account, extras)


@pytest.mark.parametrize(
    ("before", "signed", "change"),
    [
        (None, _signed(), None),  # nothing there
        (_stored(), _signed(), None),  # the same subject and account
        (_stored(), _signed(account="alice@new-domain.test"), None),  # the subject decides: renamed account
        (_stored(subject=None), _signed(account="Alice@X.test"), None),  # stored by older code: the account, any case
        (_stored(account=None, subject=None), _signed(account="bob@x.test", subject="2"), None),  # named no one
        (_stored(), _signed(account=None), None),  # the lookup failed, the ID token's sub is the same
        (_stored(), _signed(account="alice@x.test", subject="2"), ("alice@x.test", "alice@x.test", True)),
        (_stored(), _signed(account="bob@x.test", subject="2"), ("alice@x.test", "bob@x.test", True)),
        (_stored(subject=None), _signed(account="bob@x.test"), ("alice@x.test", "bob@x.test", True)),
        (_stored(), _signed(account=None, subject=None), ("alice@x.test", "an unnamed account", False)),
        (_stored(account=None), _signed(account=None, subject="2"), ("acme user 1", "acme user 2", True)),
        (_stored(provider="other"), _signed(), ("alice@x.test", "alice@x.test", False)),  # may share a grant
    ],
)
def test_which_sign_ins_replace_another_account(
    before: Credential | None, signed: SignedIn, change: tuple[str, str, bool] | None
) -> None:
    found = account_change(before, signed)
    assert (None if found is None else (found.stored, found.signed, found.known)) == change
    if found is not None:
        refusal = found.refusal()
        assert refusal.exit_code == 1 and isinstance(refusal, Declined)
        assert refusal.message == f"work holds {change[0]}, but this sign-in is {change[1]}: nothing was stored"  # type: ignore[index]
        assert "at-" not in refusal.message
