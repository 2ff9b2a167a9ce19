"""A placeholder per allowed credential: random per run, shaped like the real thing so client
libraries accept it, worthless anywhere but through this run's proxy.

A client that checks a token's shape before sending it (``gh`` warns on a value that is no
GitHub token; some SDKs insist on ``sk-``) must take the placeholder as it would take the token.
So the shape follows the provider (GitHub's documented prefixes, GitLab's ``glpat-``), else the
prefix of the stored token when it is a well-known one (``sk-``, ``xoxb-``...), else an opaque
``tdk_`` string, or a JWT-looking one when the real token is a JWT.  The random part is at
least 36 characters of base62 (over 200 bits): never guessed, never equal to a real token (that
is checked too), and distinct between credentials, so the engine can find each one exactly.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Callable, Iterable, Mapping

BASE62 = string.ascii_letters + string.digits

PROVIDER_SHAPES: Mapping[str, tuple[str, int]] = {
    "github-pat": ("ghp_", 36),  # a classic personal access token
    "github": ("gho_", 36),  # an OAuth App's user token
    "github-app": ("ghu_", 36),  # a GitHub App's user-to-server token
    "gitlab": ("glpat-", 20),
}
"""The catalog entry a credential builds on -> (prefix, random characters after it): GitHub's
documented token formats (``ghp_``/``gho_``/``ghu_`` + 36 base62) and GitLab's (``glpat-`` + 20)."""

KNOWN_PREFIXES: tuple[str, ...] = (
    "github_pat_",
    "sk-ant-api03-",
    "sk-proj-",
    "sk-ant-",
    "sk-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "ya29.",
    "lin_api_",
    "ntn_",
    "secret_",
)
"""Prefixes of well-known token formats, longest first where one begins another: an ``api-key``
credential's placeholder keeps its token's prefix, so an SDK that checks it is satisfied."""

OPAQUE_PREFIX = "tdk_"
RANDOM_LENGTH = 36


def random_part(length: int, choice: Callable[[str], str] = secrets.choice) -> str:
    return "".join(choice(BASE62) for _ in range(length))


def shape_for(provider: str, token: str | None) -> tuple[str, int] | None:
    """The prefix and length of random characters for a credential of ``provider`` whose token is
    ``token`` (only its prefix is read); ``None`` for a JWT-looking placeholder."""
    if provider in PROVIDER_SHAPES:
        return PROVIDER_SHAPES[provider]
    if token is not None:
        if token.startswith("github_pat_"):
            return ("github_pat_", 82)  # shaped below as 22 + "_" + 59
        if token.startswith("eyJ") and token.count(".") == 2:
            return None
        for prefix in KNOWN_PREFIXES:
            if token.startswith(prefix):
                return (prefix, max(RANDOM_LENGTH, len(token) - len(prefix)))
    return (OPAQUE_PREFIX, RANDOM_LENGTH)


def _jwt_looking(choice: Callable[[str], str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()

    header = part({"alg": "none", "typ": "JWT"})
    claims = part({"iss": "tokendeck-proxy", "jti": random_part(RANDOM_LENGTH, choice)})
    return f"{header}.{claims}.{random_part(43, choice)}"


def make_placeholder(provider: str, token: str | None = None, *, choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh placeholder for a credential of ``provider`` (its catalog entry's key) whose current
    token is ``token`` (read for its shape only; never part of the result)."""
    shape = shape_for(provider, token)
    if shape is None:
        return _jwt_looking(choice)
    prefix, length = shape
    if prefix == "github_pat_":
        return f"github_pat_{random_part(22, choice)}_{random_part(59, choice)}"
    return prefix + random_part(length, choice)


def placeholders_for(
    credentials: Iterable[tuple[str, str, str | None]], *, choice: Callable[[str], str] = secrets.choice
) -> dict[str, str]:
    """``(name, provider, token)`` -> ``{name: placeholder}``: one each, none found inside any of
    the tokens given (so never equal to one), none inside another placeholder."""
    given = list(credentials)
    tokens = [token for _, _, token in given if token]
    made: dict[str, str] = {}
    for name, provider, token in given:
        while True:
            candidate = make_placeholder(provider, token, choice=choice)
            inside_token = any(candidate in real for real in tokens)
            overlaps = any(candidate in other or other in candidate for other in made.values())
            if not inside_token and not overlaps:
                break
        made[name] = candidate
    return made
