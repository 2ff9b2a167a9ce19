"""Fake but realistic tokens (the right prefix, length and alphabet; random from a fixed seed),
and the check that none of one reached some text: for the tests of what may be repeated back."""

from __future__ import annotations

import random
import string

_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "-_"
_HEX = "0123456789abcdef"


def _fakes() -> dict[str, str]:
    rnd = random.Random(33)  # noqa: S311 (fakes, not secrets: the same every run)

    def r(n: int, alphabet: str = _ALNUM) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(n))

    return {
        "github classic PAT": "ghp_" + r(36),
        "github oauth": "gho_" + r(36),
        "github user-to-server": "ghu_" + r(36),
        "github server-to-server": "ghs_" + r(36),
        "github refresh": "ghr_" + r(76),
        "github fine-grained PAT": "github_pat_" + r(22) + "_" + r(59),
        "gitlab PAT": "glpat-" + r(20, _URLSAFE),
        "slack user": f"xoxp-{r(11, string.digits)}-{r(12, string.digits)}-{r(13, string.digits)}-{r(32, _HEX)}",
        "slack bot": f"xoxb-{r(12, string.digits)}-{r(13, string.digits)}-{r(24)}",
        "slack app": f"xoxa-2-{r(12, string.digits)}-{r(40)}",
        "slack refresh": f"xoxe-1-{r(120)}",
        "openai project": "sk-proj-" + r(156, _URLSAFE),
        "openai legacy": "sk-" + r(48),
        "anthropic": "sk-ant-api03-" + r(93, _URLSAFE) + "AA",
        "google access": "ya29." + r(150, _URLSAFE),
        "google refresh": "1//0" + r(99, _URLSAFE),
        "google api key": "AIza" + r(35, _URLSAFE),
        "linear": "lin_api_" + r(40),
        "notion new": "ntn_" + r(46),
        "notion legacy": "secret_" + r(43),
        "atlassian api token": "ATATT3xFfGF0" + r(170, _URLSAFE) + "=" + r(8, string.ascii_uppercase + string.digits),
        "dropbox short-lived": "sl." + r(138, _URLSAFE),
        "dropbox": "dp." + r(60, _URLSAFE),
        "aws access key id": "AKIA" + r(16, string.ascii_uppercase + string.digits),
        "aws secret key": r(40, _ALNUM + "+/"),
        "jwt": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + r(120, _URLSAFE) + "." + r(342, _URLSAFE),
        "bearer header": "Bearer " + r(40, _URLSAFE),
        "hex client secret": r(40, _HEX),
        "base62 api key": r(32),
        "npm": "npm_" + r(36),
    }


FAKE_TOKENS: dict[str, str] = _fakes()
"""About thirty token shapes, by what they are."""


def leaked(token: str, *texts: str, window: int = 8) -> str | None:
    """The first ``window``-character piece of ``token`` found in any of ``texts``, else ``None``."""
    joined = "\n".join(texts)
    for start in range(len(token) - window + 1):
        piece = token[start : start + window]
        if piece in joined:
            return piece
    return None
