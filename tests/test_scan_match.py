"""``tokendeck scan``'s matching (:mod:`vault.services.scan_match`): every form a current value is
found in, the same for a previous value by its keyed hash alone, and nothing near a miss; each
with tokendeck's sampled search (:mod:`vault.core.literals`), with Hyperscan (where it was not
built) and with the Aho-Corasick fallback (a platform with no hyperscan wheel either), which find
the same copies."""

from __future__ import annotations

import base64
import os
import random
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from vault.core import literals
from vault.core.superseded import digest
from vault.services.scan_match import Matcher

KEY = b"scan-key-for-tests-0123456789abc"
LIVE = "ghp_Live/Value+With=Specials0123456789"
OLD = "ghp_Old/Value+With=Specials01234567890"


def without_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    """As where the C side of the sampled search was not built (no compiler at install)."""
    monkeypatch.setattr(literals, "available", lambda: False)


def without_hyperscan(monkeypatch: pytest.MonkeyPatch) -> None:
    """As where there is no hyperscan wheel: import hyperscan raises ImportError."""
    monkeypatch.setitem(sys.modules, "hyperscan", None)


needs_sampled = pytest.mark.skipif(not literals.available(), reason="the C side was not built here (no compiler)")


@pytest.fixture(params=["sampled", "hyperscan", "ahocorasick"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test three times: the sampled search, Hyperscan without it, Aho-Corasick without both."""
    if request.param == "sampled" and not literals.available():
        pytest.skip("the C side was not built here (the test above says why)")
    if request.param != "sampled":
        without_sampled(monkeypatch)
    if request.param == "ahocorasick":
        without_hyperscan(monkeypatch)
    return str(request.param)


@pytest.fixture
def matcher(engine: str) -> Matcher:
    made = Matcher([("gh", "static token", LIVE)], KEY, [("gh", "static token", len(OLD), digest(KEY, OLD))])
    assert made.engine == engine
    return made


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
    "json-gson": lambda v: '{"t": "' + v.replace("=", "\\u003d") + '"}',  # Gson: only = < > & ' escaped
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


def test_the_sampled_search_is_used_where_it_was_built_and_hyperscan_where_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """``make`` installs the venv after the system packages, a C compiler among them, so the C
    side is built wherever there is one (and always in CI); a real token's every form is long
    enough for it."""
    if not literals.available():
        if os.environ.get("CI") or shutil.which("cc") or shutil.which("gcc"):
            pytest.fail("vault/core/libliterals.so.1 was not built: reinstall (make clean test, or pip install -e .)")
        pytest.skip("no C compiler here: scan uses Hyperscan (the test below)")
    assert Matcher([("gh", "static token", LIVE)], KEY, []).engine == "sampled"
    assert Matcher([("gh", "static token", LIVE), ("s", "static token", "short-value")], KEY, []).engine == (
        "sampled + hyperscan"  # a value shorter than 24 bytes is left to the general engine
    )
    without_sampled(monkeypatch)
    assert Matcher([("gh", "static token", LIVE)], KEY, []).engine == "hyperscan"


@needs_sampled
def test_every_engine_says_which_it_is_and_finds_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    text = b"".join(FORMS[form](LIVE).encode() + b"\n" for form in sorted(FORMS))
    sampled = Matcher([("gh", "static token", LIVE)], KEY, [])
    without_sampled(monkeypatch)
    hyperscan = Matcher([("gh", "static token", LIVE)], KEY, [])
    without_hyperscan(monkeypatch)
    aho = Matcher([("gh", "static token", LIVE)], KEY, [])
    assert (sampled.engine, hyperscan.engine, aho.engine) == ("sampled", "hyperscan", "ahocorasick")
    assert sampled.find(text) == hyperscan.find(text) == aho.find(text) and len(aho.find(text)) == len(FORMS)


@needs_sampled
def test_every_engine_reports_the_same_copies_where_values_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Values that hold one another, share ends or repeat back to back, short and long (the
    sampled search takes those of 24 bytes or more, Hyperscan the rest): every engine reports
    every occurrence of every needle, and the matcher keeps what Aho-Corasick's leftmost-longest
    keeps."""
    rng = random.Random(37)  # noqa: S311 - the same text every run, not a secret
    letters = "ab/+="
    values = ["".join(rng.choice(letters) for _ in range(rng.randint(8, 40))) for _ in range(30)]
    values += [values[0] + "ab", "b" + values[1], values[2][:-1], values[3] * 2, values[4][:12] * 3]
    current = [(f"c{i}", "static token", v) for i, v in enumerate(values)]
    text = "\n".join(
        " ".join(
            rng.choice([rng.choice(values), quote(rng.choice(values), safe=""), "".join(rng.choices(letters, k=12))])
            for _ in range(6)
        )
        for _ in range(400)
    ).encode()
    text += b"\n" + base64.b64encode(("u:" + values[5]).encode())
    found = {}
    for leave_out in ((), (without_hyperscan,), (without_sampled,), (without_sampled, without_hyperscan)):
        with monkeypatch.context() as patched:
            for step in leave_out:
                step(patched)
            matcher = Matcher(current, KEY, [])
            found[matcher.engine] = matcher.find(text)
    assert list(found) == ["sampled + hyperscan", "sampled + ahocorasick", "hyperscan", "ahocorasick"]
    first = found["sampled + hyperscan"]
    assert all(copies == first for copies in found.values()) and len(first) > 400


def test_every_run_finder_finds_the_same_previous_values_at_every_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C run finder and Hyperscan's find where runs of the kept lengths end and Python checks
    only those; the Python loop looks at every run: the same copies at the buffer's ends, after
    ``NAME=`` and ``a=b=``, before a full stop, inside longer runs (no copy) and back to back."""
    rng = random.Random(38)  # noqa: S311 - the same text every run, not a secret
    alphabet = "abcAB019._~+/=-"
    old = ["".join(rng.choice(alphabet) for _ in range(n)) for n in (8, 9, 12, 12, 20, 33)]
    old += ["x=" + old[0], old[1] + "."]
    previous = [(f"o{i}", "access token", len(v), digest(KEY, v)) for i, v in enumerate(old)]
    pieces = [*old, *(f"N={v}" for v in old), *(f"{v}." for v in old), *(f"a=b={v}" for v in old)]
    pieces += [f"{v}x" for v in old] + [f"x{v}" for v in old] + ["".join(rng.choices(alphabet, k=12))] * 5
    lines = [" ".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) for _ in range(300)]
    texts = [("\n".join(lines) + "\n").encode(), old[2].encode(), f"{old[3]}\n".encode(), f"q {old[4]}.".encode()]
    found = {}
    for leave_out in ((), (without_sampled,), (without_sampled, without_hyperscan)):
        with monkeypatch.context() as patched:
            for step in leave_out:
                step(patched)
            found[len(leave_out)] = [Matcher([], KEY, previous).find(text) for text in texts]
    c_runs = found[0]
    assert found[1] == c_runs and found[2] == c_runs and len(c_runs[0]) > 100 and all(c_runs[1:])


def test_a_buffer_longer_than_one_hyperscan_block_is_scanned_in_overlapping_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hyperscan takes at most 2 GB at once (a C unsigned length), and ``--max-size`` has no upper
    bound: past that the buffer goes in blocks that overlap by the longest needle. Here blocks of
    300 bytes: every copy is found once, wherever a block edge cuts it, as in one block, and a
    block's end is no edge of a run."""
    from vault.services import scan_engines

    without_sampled(monkeypatch)  # the C side takes any length at once
    made = Matcher([("gh", "static token", LIVE)], KEY, [("gh", "static token", len(OLD), digest(KEY, OLD))])
    lines = [f"{'x' * (n % 37)} {FORMS[form](value)}" for n in range(60) for form in sorted(FORMS)[n % 3 :: 3]
             for value in (LIVE, OLD)]  # fmt: skip
    near = [f"{'y' * (n % 50)} {OLD}XYZ {OLD[:-1]}" for n in range(300)]  # inside a longer run, or cut short: no copy
    text = ("\n".join(lines + near) + "\n").encode()
    whole = made.find(text)
    assert len(whole) == len(lines) == len({h.line for h in whole})  # each copy's line, once
    monkeypatch.setattr(scan_engines, "BLOCK", 300)
    assert made.find(text) == whole


def test_where_the_c_side_was_not_built_scan_uses_hyperscan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An install without a C compiler has no ``libliterals.so.1``: loading it fails quietly, once,
    and the matcher is Hyperscan, finding the same copies."""
    text = b"".join(FORMS[form](LIVE).encode() + b"\n" for form in sorted(FORMS))
    built = Matcher([("gh", "static token", LIVE)], KEY, []).find(text)
    monkeypatch.setattr(literals, "_LIBRARY", tmp_path / "libliterals.so.1")
    monkeypatch.setattr(literals, "_tried", False)
    monkeypatch.setattr(literals, "_loaded", None)
    assert not literals.available()
    with pytest.raises(OSError, match="not built"):
        literals.SampledLiterals([LIVE.encode()])
    matcher = Matcher([("gh", "static token", LIVE)], KEY, [])
    assert matcher.engine == "hyperscan" and matcher.find(text) == built


def test_minified_code_with_escapes_is_read_in_one_pass(engine: str) -> None:
    """A 1 MB line full of ``\\n`` and ``%`` but no escape that decodes to a token character, as
    minified code has, then a line with an old value JSON-escaped: the old value is found on its
    line. (Finding the escaped lines with one pattern per line took time growing with the square
    of the line's length: about six minutes on this line.)"""
    made = Matcher([("gh", "static token", LIVE)], KEY, [("gh", "static token", len(OLD), digest(KEY, OLD))])
    minified = b'var s="' + b"a\\n 100% " * 110_000 + b'";'
    text = minified + b"\n" + FORMS["json-slash"](OLD).encode() + b"\n" + FORMS["url"](OLD).encode() + b"\n"
    assert [(h.who.live, h.form, h.line) for h in made.find(text)] == [(False, "json", 2), (False, "url", 3)]


@pytest.mark.parametrize(
    "line",
    [
        "url = https://{v}@github.com/alice/app.git",  # a git remote with the token as its user
        "https://{v}@github.com",  # ~/.git-credentials
        "curl https://api.example.com/hook/{v}",  # the last segment of a URL's path
        '{{"content":"Your token:\\n{v}\\nKeep it safe"}}',  # after a JSON \n, as agent transcripts hold
        '{{"t": "tab\\t{v}"}}',
        "url=https://x.example/?a=1%0A{v}",  # after a percent-encoded newline
        "\textraheader = AUTHORIZATION: basic {b64}",  # as CI checkouts write into .git/config
    ],
)
def test_an_old_value_is_found_after_a_slash_or_an_escape(matcher: Matcher, line: str) -> None:
    """An old value in a URL (after ``//`` or a ``/``) or right after a JSON or URL escape of a
    newline or a tab: the run of token characters around it is longer than it (``//ghp_…``,
    ``nghp_…``), and it is found all the same (these were missed: the new-user try); and in a
    lower-case ``basic`` header's blob."""
    old = OLD.replace("/", "_")  # a value without a slash of its own, as most tokens are
    made = Matcher([], KEY, [("gh", "access token", len(old), digest(KEY, old))])
    text = ("first line\n" + line.format(v=old, b64=base64.b64encode(f"x:{old}".encode()).decode()) + "\n").encode()
    assert [(h.who.credential, h.who.live, h.line) for h in made.find(text)] == [("gh", False, 2)]


def test_url_forms_are_what_urllib_writes_for_every_byte() -> None:
    """Percent-encoding by table (quote() cost a few ms for 1,000 secrets), byte for byte what
    ``urllib.parse.quote(value, safe="")`` writes, in upper- and lower-case hex."""
    from vault.services.scan_match import url_forms

    for c in range(256):
        value = b"tok" + bytes([c]) + b"en"
        upper = quote(value, safe="").encode()
        lower = re.sub(rb"%[0-9A-F]{2}", lambda m: m.group(0).lower(), upper)
        assert url_forms(value) == [f for f in dict.fromkeys((upper, lower)) if f != value], c
