"""``tokendeck scan``'s matching (:mod:`vault.services.scan_match`): every form a current value is
found in, the same for a previous value by its keyed hash alone, and nothing near a miss."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

import pytest

from vault.core.superseded import digest
from vault.services.scan_match import Matcher

KEY = b"scan-key-for-tests-0123456789abc"
LIVE = "ghp_Live/Value+With=Specials0123456789"
OLD = "ghp_Old/Value+With=Specials01234567890"


@pytest.fixture
def matcher() -> Matcher:
    return Matcher([("gh", "static token", LIVE)], KEY, [("gh", "static token", len(OLD), digest(KEY, OLD))])


def json_u(value: str, upper: bool = False) -> str:
    return "".join(
        c if c.isalnum() or c in "_-." else (f"\\u{ord(c):04X}" if upper else f"\\u{ord(c):04x}") for c in value
    )


def url_lower(value: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(value, safe=""))


FORMS = {
    "raw": lambda v: f"export GITHUB_TOKEN={v}",
    "raw-end-of-sentence": lambda v: f"my token is {v}.",
    "json-slash": lambda v: '{"t": "' + v.replace("/", "\\/") + '"}',
    "json-u": lambda v: '{"t": "' + json_u(v) + '"}',
    "json-U": lambda v: '{"t": "' + json_u(v, upper=True) + '"}',
    "url": lambda v: "https://x.example/?t=" + quote(v, safe=""),
    "url-lower": lambda v: (
        "https://x.example/?t=" + re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(v, safe=""))
    ),
    "base64-0": lambda v: "Authorization: Basic " + base64.b64encode(f"u:{v}".encode()).decode(),
    "base64-1": lambda v: "Authorization: Basic " + base64.b64encode(f"us:{v}".encode()).decode(),
    "base64-2": lambda v: "Authorization: Basic " + base64.b64encode(f"use:{v}".encode()).decode(),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_live_value_is_found_in_every_form(matcher: Matcher, form: str) -> None:
    text = f"first line\n{FORMS[form](LIVE)}\n"
    hits = matcher.find(text.encode())
    assert [(h.who.credential, h.who.live, h.line) for h in hits] == [("gh", True, 2)], form
    assert hits[0].form == form.split("-")[0]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_an_old_value_is_found_by_its_hash(matcher: Matcher, form: str) -> None:
    hits = matcher.find(f"first line\n{FORMS[form](OLD)}\n".encode())
    assert [(h.who.credential, h.who.live, h.line) for h in hits] == [("gh", False, 2)], form


@pytest.mark.parametrize(
    "near",
    [
        LIVE[:-1],  # one character short
        LIVE[1:],
        LIVE + "X",  # inside a longer token
        "X" + LIVE,
        OLD[:-1],
        OLD + "X",
        LIVE.replace("Value", "VALUE"),
    ],
)
def test_a_near_miss_is_no_finding(matcher: Matcher, near: str) -> None:
    text = f"a {near} b\n{base64.b64encode(('u:' + near).encode()).decode()}\n"
    found = [(h.who.live, h.form) for h in matcher.find(text.encode())]
    if near in (LIVE + "X", "X" + LIVE):
        assert found == [(True, "raw"), (True, "base64")]  # the exact bytes are there: found, in both lines
    else:
        assert found == []


def test_short_values_are_not_looked_for() -> None:
    matcher = Matcher([("x", "static token", "short1")], KEY, [("x", "static token", 6, digest(KEY, "short2"))])
    assert matcher.find(b"short1 short2\n") == []
