"""The built-in provider catalog: every entry has what its flow needs, and the
facts that break generic OAuth code are in the data (checked against
shared/PROVIDERS.md)."""

from __future__ import annotations

import pytest

from vault.core.model import ClientRegistration
from vault.core.providers import Provider, builtin, catalog, check_endpoint, resolve
from vault.errors import InvalidInput

OAUTH = sorted(k for k, p in catalog().items() if p.kind == "oauth" and not p.template)
STATIC = sorted(k for k, p in catalog().items() if p.kind == "static")
REQUIRED_BUILTINS = {
    "google", "github", "github-app", "gitlab", "linear", "atlassian", "slack", "microsoft", "notion",
    "dropbox", "bitbucket", "oidc", "github-pat", "jira-dc", "api-key",
}  # fmt: skip


def concrete(key: str) -> Provider:
    return resolve(ClientRegistration(provider=key, base=key, client_id="client-123"))


def test_every_required_builtin_is_there() -> None:
    assert set(catalog()) >= REQUIRED_BUILTINS


@pytest.mark.parametrize("key", OAUTH)
def test_oauth_entry_has_what_its_flow_needs(key: str) -> None:
    p = concrete(key)
    assert p.authorize_url and p.token_url
    for name, url in p.endpoints().items():
        if name != "issuer":
            assert url.startswith("https://"), (name, url)
            assert "{" not in url, (name, url)
    assert p.identity is not None and p.identity.account
    assert p.revoke.style in ("rfc7009", "github", "gitlab", "linear", "slack", "notion", "dropbox", "none")
    assert p.revoke.url or (p.revoke.style == "none" and p.revoke.manual_url), "no way to revoke, and no page for it"
    assert p.register_url and p.register_help
    assert 0 <= p.redirect_port <= 65535
    assert p.help is not None and "{" not in p.help
    if not p.redirect_to_register().unregistered:  # Google's Desktop-app clients register none
        assert p.redirect_to_register().uri in p.help, "the help names the redirect URI to register"
    if p.client_secret == "none":
        assert p.token_auth == "none"
    assert p.scope_separator in (" ", ",")


@pytest.mark.parametrize("key", STATIC)
def test_static_entries_have_no_oauth_endpoints(key: str) -> None:
    p = builtin(key)
    assert p.authorize_url is None and p.token_url is None and p.register_help


@pytest.mark.parametrize(
    ("key", "check"),
    [
        ("google", lambda p: p.client_secret == "required" and p.authorize_params["access_type"] == "offline"),
        ("google", lambda p: p.client_library == "google-auth-oauthlib" and p.revoke.client_auth is False),
        ("github", lambda p: p.token_headers["Accept"] == "application/json" and not p.device_needs_secret),
        ("github", lambda p: p.revoke.style == "github" and p.revoke.url.endswith("/applications/client-123/token")),
        ("github-app", lambda p: p.rotates_refresh_token and "bad_refresh_token" in p.dead_grant_errors),
        (
            "gitlab",
            lambda p: p.refresh_sends_redirect_uri and p.rotates_refresh_token and p.client_secret == "optional",
        ),
        ("linear", lambda p: p.scope_separator == "," and p.identity.method == "POST"),
        ("atlassian", lambda p: p.authorize_params["audience"] == "api.atlassian.com" and p.revoke.style == "none"),
        ("atlassian", lambda p: "offline_access" in p.default_scopes and p.accessible_resources_url),
        ("slack", lambda p: p.token_path == "authed_user" and p.scope_param == "user_scope"),
        ("slack", lambda p: p.scope_separator == "," and p.revoke.style == "slack"),
        ("microsoft", lambda p: "/common/" in p.token_url and p.client_secret == "none" and p.revoke.style == "none"),
        ("microsoft", lambda p: "offline_access" in p.default_scopes and p.has_device_flow),
        ("notion", lambda p: p.token_request_format == "json" and "Notion-Version" in p.token_headers),
        ("notion", lambda p: p.token_auth == "client_secret_basic" and p.authorize_params["owner"] == "user"),
        ("dropbox", lambda p: p.authorize_params["token_access_type"] == "offline" and p.redirect_port),
        ("dropbox", lambda p: p.default_scopes == ()),
        ("dropbox", lambda p: p.identity.method == "POST" and p.revoke.style == "dropbox"),
        ("bitbucket", lambda p: p.pkce == "none" and p.token_auth == "client_secret_basic"),
    ],
)
def test_quirks_are_data(key: str, check: object) -> None:
    assert check(concrete(key))  # type: ignore[operator]


def test_placeholders_take_params() -> None:
    gitlab = resolve(
        ClientRegistration(
            provider="gitlab-work", base="gitlab", client_id="c", params={"base_url": "https://git.example.com"}
        )
    )
    assert gitlab.token_url == "https://git.example.com/oauth/token"
    assert gitlab.key == "gitlab-work"
    tenant = resolve(ClientRegistration(provider="ms", base="microsoft", client_id="c", params={"tenant": "contoso"}))
    assert tenant.authorize_url == "https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize"


@pytest.mark.parametrize(
    "url",
    [
        "http://gitlab.example.com",
        "http://127.evil.example/t",  # starts like a loopback address, is a real host
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://x.example",
        "https://",
        "//x",
    ],
)
def test_unsafe_endpoints_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_endpoint(url, "endpoint")
    with pytest.raises(InvalidInput):
        resolve(ClientRegistration(provider="g", base="gitlab", client_id="c", params={"base_url": url}))


@pytest.mark.parametrize(
    "url",
    [
        "https://id.example.com/x",
        "http://127.0.0.1:8080/t",
        "http://127.5.6.7/t",
        "http://[::1]:80/t",
        "http://localhost/t",
    ],
)
def test_safe_endpoints(url: str) -> None:
    assert check_endpoint(url, "endpoint") == url


def test_overrides_replace_catalog_fields() -> None:
    p = resolve(
        ClientRegistration(
            provider="ms",
            base="microsoft",
            client_id="c",
            overrides={
                "default_scopes": ["User.Read"],
                "redirect_port": 9999,
                "revoke": {"manual_url": "https://x.io"},
            },
        )
    )
    assert p.default_scopes == ("User.Read",) and p.redirect_port == 9999 and p.revoke.manual_url == "https://x.io"
    with pytest.raises(InvalidInput, match="unknown provider settings"):
        resolve(ClientRegistration(provider="ms", base="microsoft", client_id="c", overrides={"colour": "red"}))


@pytest.mark.parametrize("key", sorted(catalog()))
def test_proxy_hosts_and_variables_are_well_formed(key: str) -> None:
    """What ``tokendeck proxy run`` reads from an entry: host names its rule takes, variable names
    a shell takes."""
    from vault.services.proxy_hosts import check_host

    entry = builtin(key)
    assert all(check_host(host) == host for host in entry.proxy_hosts)
    assert all(var.isidentifier() and var.isupper() for var in entry.variables)
