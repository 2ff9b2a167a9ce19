"""The environment ``tokendeck proxy run`` gives its command (issue 35): placeholders in the
provider's variables, the proxy with this run's credentials, a CA bundle every common runtime
reads, NO_PROXY that lets no token's request around the proxy, and never a real token."""

from __future__ import annotations

import pytest

from vault.proxy.environment import CA_VARIABLES, child_environment, default_variables, without_hosts

BASE = {
    "PATH": "/usr/bin",
    "HOME": "/home/me",
    "TOKENDECK_PASSPHRASE": "the key to everything",
    "NO_PROXY": "localhost,127.0.0.1,.github.com,internal.corp,*",
    "HTTPS_PROXY": "http://corp-proxy:3128",
}
PLACEHOLDER = "ghp_" + "P" * 36


def made(**overrides: object) -> dict[str, str]:
    args: dict[str, object] = {
        "placeholders": {"GITHUB_TOKEN": PLACEHOLDER, "GH_TOKEN": PLACEHOLDER},
        "port": 41234,
        "auth": ("tokendeck", "s3cret-run-pass"),
        "bundle": "/run/user/1/tokendeck/proxy-ca-1.pem",
        "allowed_hosts": ["api.github.com", "github.com"],
    }
    args.update(overrides)
    return child_environment(BASE, **args)  # type: ignore[arg-type]


def test_every_proxy_variable_points_at_this_runs_proxy_with_its_credentials() -> None:
    env = made()
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        assert env[var] == "http://tokendeck:s3cret-run-pass@127.0.0.1:41234"


def test_every_ca_variable_names_the_bundle_and_node_uses_the_proxy() -> None:
    env = made()
    # the five, and what this very machine's environment was seen to set to the system
    # bundle (a Python Google API client reads HTTPLIB2_CA_CERTS, gcloud its own, Nix's OpenSSL its own)
    for var in (
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "GIT_SSL_CAINFO",
        "HTTPLIB2_CA_CERTS",
        "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
        "NIX_SSL_CERT_FILE",
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    ):
        assert var in CA_VARIABLES and env[var] == "/run/user/1/tokendeck/proxy-ca-1.pem"
    assert env["NODE_USE_ENV_PROXY"] == "1"


def test_the_placeholders_are_set_and_the_vaults_key_is_not() -> None:
    env = made()
    assert env["GITHUB_TOKEN"] == env["GH_TOKEN"] == PLACEHOLDER
    assert "TOKENDECK_PASSPHRASE" not in env
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/home/me"


def test_no_proxy_keeps_nothing_that_would_send_an_allowed_host_around_the_proxy() -> None:
    assert made()["NO_PROXY"] == "localhost,127.0.0.1,internal.corp"
    assert without_hosts("googleapis.com,example.org", ["*.googleapis.com"]) == "example.org"
    assert without_hosts("api.github.com:443", ["api.github.com"]) == ""
    assert "no_proxy" not in made()  # not added when the caller had none


def test_no_real_token_is_anywhere_in_the_environment() -> None:
    real = "ghp_" + "R" * 36
    env = made()
    assert not any(real in value for value in env.values())


@pytest.mark.parametrize(
    ("name", "base", "expected"),
    [
        ("work", "github-pat", ("GITHUB_TOKEN", "GH_TOKEN")),
        ("gh", "github", ("GITHUB_TOKEN", "GH_TOKEN")),
        ("lab", "gitlab", ("GITLAB_TOKEN",)),
        ("openai-key", "api-key", ("OPENAI_KEY_TOKEN",)),
        ("9lives", "api-key", ("_9LIVES_TOKEN",)),
    ],
)
def test_default_variables_follow_the_providers_tools_else_the_name(
    name: str, base: str, expected: tuple[str, ...]
) -> None:
    assert default_variables(name, base) == expected
    assert all(v.isidentifier() for v in default_variables(name, base))
