"""Placeholders for ``tokendeck proxy run`` (issue 35): shaped like the provider's tokens, so
clients that check a token's shape take them, random per run, and never a real token."""

from __future__ import annotations

import base64
import json
import re

import pytest

from vault.proxy.placeholders import make_placeholder, placeholders_for

# GitHub's documented token formats (PROVIDERS.md [gh9]; GitHub's "About authentication":
# prefixes ghp_, gho_, ghu_, ghs_, ghr_ and github_pat_), as secret scanning and gh match them.
GITHUB_FORMATS = {
    "github-pat": re.compile(r"ghp_[A-Za-z0-9]{36}"),
    "github": re.compile(r"gho_[A-Za-z0-9]{36}"),
    "github-app": re.compile(r"ghu_[A-Za-z0-9]{36}"),
}
FINE_GRAINED = re.compile(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}")
GITLAB_PAT = re.compile(r"glpat-[A-Za-z0-9_-]{20}")


@pytest.mark.parametrize("provider", sorted(GITHUB_FORMATS))
def test_github_placeholders_match_githubs_documented_formats(provider: str) -> None:
    for _ in range(50):
        assert GITHUB_FORMATS[provider].fullmatch(make_placeholder(provider, None))


def test_a_fine_grained_pat_gets_a_fine_grained_shape() -> None:
    real = "github_pat_" + "A" * 22 + "_" + "b" * 59
    made = make_placeholder("api-key", real)
    assert FINE_GRAINED.fullmatch(made) and made != real


def test_gitlab_placeholders_are_glpat_with_twenty_characters() -> None:
    assert GITLAB_PAT.fullmatch(make_placeholder("gitlab", None))


@pytest.mark.parametrize(
    ("real", "prefix"),
    [("sk-proj-" + "x" * 48, "sk-proj-"), ("sk-" + "y" * 48, "sk-"), ("xoxb-123-abc", "xoxb-"), ("ya29.a0Af", "ya29.")],
)
def test_an_api_key_keeps_its_well_known_prefix(real: str, prefix: str) -> None:
    made = make_placeholder("api-key", real)
    assert made.startswith(prefix) and re.fullmatch(r"[A-Za-z0-9]{36,}", made[len(prefix) :])
    assert made != real


def test_an_unknown_token_gets_an_opaque_placeholder_that_says_what_it_is() -> None:
    made = make_placeholder("api-key", "hunter2-some-vendor-key")
    assert re.fullmatch(r"tdk_[A-Za-z0-9]{36}", made)
    assert "hunter2" not in made


def test_a_jwt_gets_a_jwt_looking_placeholder_that_is_no_real_jwt() -> None:
    real = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    made = make_placeholder("oidc", real)
    header, claims, signature = made.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(header)))["alg"] == "none"
    assert json.loads(base64.urlsafe_b64decode(pad(claims)))["iss"] == "tokendeck-proxy"
    assert signature and made != real


def test_placeholders_are_random_per_run_and_distinct_between_credentials() -> None:
    runs = [placeholders_for([("a", "github-pat", None), ("b", "github-pat", None)]) for _ in range(200)]
    every = [p for run in runs for p in run.values()]
    assert len(set(every)) == len(every) == 400


def test_a_placeholder_is_never_found_inside_a_real_token() -> None:
    """With a rigged random source the first candidate is the real token itself: it is drawn again."""
    real = "ghp_" + "a" * 36
    draws = iter("a" * 36 + "b" * 36)
    made = placeholders_for([("gh", "github-pat", real)], choice=lambda alphabet: next(draws))
    assert made == {"gh": "ghp_" + "b" * 36}
