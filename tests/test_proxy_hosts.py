"""Where a credential's token may go through ``tokendeck proxy run`` (issue 35): one rule, from
the catalog and the credential, overridable with ``--allow NAME=HOST,...``."""

from __future__ import annotations

import pytest

from vault.core.model import MCP_URL_EXTRA, ClientRegistration, Credential
from vault.core.providers import builtin, resolve
from vault.core.secret import Secret
from vault.errors import InvalidInput
from vault.services.proxy_hosts import catalog_hosts, host_allowed, parse_allow

GITHUB_HOSTS = (
    "api.github.com",
    "github.com",
    "uploads.github.com",
    "codeload.github.com",
    "gist.github.com",
    "raw.githubusercontent.com",
)


def credential(provider: str, kind: str = "static", **extras: str) -> Credential:
    return Credential(name="c", provider=provider, kind=kind, access_token=Secret("t"), extras=extras)  # type: ignore[arg-type]


@pytest.mark.parametrize("entry", ["github", "github-app", "github-pat"])
def test_github_tokens_go_to_githubs_api_git_and_download_hosts(entry: str) -> None:
    hosts = catalog_hosts(credential(entry), entry, builtin(entry))
    assert hosts == GITHUB_HOSTS
    assert {"api.github.com", "github.com", "uploads.github.com", "codeload.github.com"} <= set(hosts)
    assert not any(h.endswith("github.io") for h in hosts)


def test_the_hosts_are_catalog_data_a_registration_can_replace() -> None:
    """``proxy_hosts`` in assets/providers.toml, like every other fact of an entry: a GitHub
    Enterprise registration built on ``github`` names its own host."""
    assert builtin("github").proxy_hosts == GITHUB_HOSTS
    corp = ClientRegistration(
        provider="ghe", base="github", client_id="id", overrides={"proxy_hosts": ["github.corp.example"]}
    )
    assert catalog_hosts(credential("ghe", "oauth"), "github", resolve(corp)) == ("github.corp.example",)


def test_an_oauth_credential_whose_registration_is_gone_still_goes_to_its_entrys_hosts() -> None:
    assert catalog_hosts(credential("github", "oauth"), "github", None) == GITHUB_HOSTS


def test_gitlab_tokens_go_to_the_registrations_base_url() -> None:
    hosted = resolve(ClientRegistration(provider="gitlab", base="gitlab", client_id="id"))
    assert catalog_hosts(credential("gitlab", "oauth"), "gitlab", hosted) == ("gitlab.com",)
    own = ClientRegistration(
        provider="work", base="gitlab", client_id="id", params={"base_url": "https://gitlab.example.com"}
    )
    assert catalog_hosts(credential("work", "oauth"), "gitlab", resolve(own)) == ("gitlab.example.com",)


def test_google_tokens_go_to_googles_api_hosts_only() -> None:
    hosts = catalog_hosts(credential("google", "oauth"), "google", builtin("google"))
    assert hosts == ("*.googleapis.com",)
    assert host_allowed("www.googleapis.com", hosts) and host_allowed("gmail.googleapis.com", hosts)
    assert not host_allowed("googleapis.com.evil.example", hosts) and not host_allowed("google.com", hosts)


def test_an_mcp_credential_goes_to_its_servers_host() -> None:
    mcp = credential("oidc", "oauth", **{MCP_URL_EXTRA: "https://mcp.example.com:8443/mcp"})
    assert catalog_hosts(mcp, "oidc", None) == ("mcp.example.com",)


def test_jira_data_center_goes_to_its_server() -> None:
    jira = credential("jira-dc", server_url="https://jira.corp.example/")
    assert catalog_hosts(jira, "jira-dc", builtin("jira-dc")) == ("jira.corp.example",)


@pytest.mark.parametrize(
    ("entry", "host"),
    [("linear", "api.linear.app"), ("slack", "slack.com"), ("notion", "api.notion.com")],
)
def test_other_providers_go_to_their_api_hosts(entry: str, host: str) -> None:
    assert host in catalog_hosts(credential(entry, "oauth"), entry, builtin(entry))


def test_an_api_key_has_no_host_until_allow_names_one() -> None:
    assert catalog_hosts(credential("api-key"), "api-key", builtin("api-key")) == ()


def test_allow_parses_names_and_host_lists() -> None:
    assert parse_allow(["gh", "key=API.example.com,*.example.org"]) == [
        ("gh", None),
        ("key", ("api.example.com", "*.example.org")),
    ]


@pytest.mark.parametrize(
    "spec", ["", "=api.example.com", "key=", "key=https://api.example.com", "key=api.example.com:443", "k=a b"]
)
def test_a_bad_allow_is_refused_with_one_line(spec: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_allow([spec])
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("spec", ["key=*.com", "key=*.io", "key=*.com."])
def test_a_wildcard_over_a_whole_top_level_domain_is_refused(spec: str) -> None:
    """``*.com`` would hand the token to every .com site: the one-line refusal says to name the site."""
    with pytest.raises(InvalidInput, match="covers a whole top-level domain"):
        parse_allow([spec])
    assert parse_allow(["key=*.example.com"]) == [("key", ("*.example.com",))]


def test_allow_needs_a_name_and_each_name_once() -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        parse_allow([])
    with pytest.raises(InvalidInput, match="more than once"):
        parse_allow(["gh", "gh=github.com"])


def test_a_wildcard_covers_names_below_it_never_the_name_itself() -> None:
    assert host_allowed("a.b.example.com", ["*.example.com"])
    assert not host_allowed("example.com", ["*.example.com"])
    assert not host_allowed("badexample.com", ["*.example.com"])
    assert host_allowed("API.GitHub.com.", ["api.github.com"])
