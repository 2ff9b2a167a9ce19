"""The streaming masker (:mod:`vault.core.redact`): every occurrence of a secret, however the
stream is cut, comes out as the marker; what holds no secret passes on at once."""

from __future__ import annotations

import json
import random
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from vault.core.redact import MARKER, Masker

SECRET = "ghp_" + "Ab1/" * 9  # a fake token with a character URL and JSON encodings change
OTHER = "sk-" + "z9" * 20


def run(masker: Masker, pieces: list[bytes]) -> bytes:
    out = b"".join(masker.feed(p) for p in pieces)
    return out + masker.flush()


def test_a_secret_whole_in_one_read_is_masked() -> None:
    text = f"token={SECRET} and {OTHER}.\n".encode()
    assert run(Masker([SECRET, OTHER]), [text]) == b"token=" + MARKER + b" and " + MARKER + b".\n"


def test_a_secret_written_three_bytes_at_a_time_is_masked() -> None:
    text = f"a {SECRET} b\n".encode()
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    assert run(Masker([SECRET]), pieces) == b"a " + MARKER + b" b\n"


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=12), st.integers(0, 3))
def test_any_cut_of_the_stream_gives_the_same_output(cuts: list[int], copies: int) -> None:
    text = ("x" * 7 + SECRET + "\n" + OTHER[:9] + "y") * copies + OTHER + "end"
    data = text.encode()
    points = sorted({min(c, len(data)) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    out = run(Masker([SECRET, OTHER]), pieces)
    assert out == data.replace(SECRET.encode(), MARKER).replace(OTHER.encode(), MARKER)


def test_output_without_a_secret_is_not_held_back() -> None:
    masker = Masker([SECRET])
    assert masker.feed(b"name? ") == b"name? "
    assert masker.held == 0


def test_only_a_tail_that_could_begin_a_secret_is_held() -> None:
    masker = Masker([SECRET])
    assert masker.feed(b"prompt gh") == b"prompt "
    assert masker.held == 2
    assert masker.feed(b"p_nope") == b"ghp_nope"


def test_flushing_a_held_start_still_masks_the_rest_when_it_comes() -> None:
    masker = Masker([SECRET])
    first = masker.feed(SECRET[:10].encode())
    first += masker.flush()  # the program went quiet halfway through its token
    rest = masker.feed(SECRET[10:].encode() + b"\n") + masker.flush()
    assert first == SECRET[:10].encode()  # only what was out before the quiet shows
    assert rest == MARKER + b"\n"
    assert SECRET[10:].encode() not in first + rest


def test_url_encoded_and_json_escaped_copies_are_masked() -> None:
    for form in (quote(SECRET, safe=""), quote(SECRET, safe="").replace("%2F", "%2f"), json.dumps(SECRET)[1:-1]):
        assert run(Masker([SECRET]), [f"[{form}]".encode()]) == b"[" + MARKER + b"]", form
    escaped = json.dumps(SECRET)[1:-1].replace("/", "\\/")
    assert run(Masker([SECRET]), [escaped.encode()]) == MARKER


def test_the_longest_secret_wins_where_two_begin_alike() -> None:
    short, long = "abcd1234", "abcd1234efgh"
    assert run(Masker([short, long]), [b"abcd", b"1234ef", b"gh!"]) == MARKER + b"!"


def test_very_short_values_and_no_values_mask_nothing() -> None:
    masker = Masker(["abc", ""])
    assert not masker.active
    assert run(masker, [b"abc abc"]) == b"abc abc"


def test_large_random_output_passes_unchanged() -> None:
    rng = random.Random(37)  # noqa: S311 - test data, not a secret
    data = bytes(rng.getrandbits(8) for _ in range(300_000))
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    assert run(Masker([SECRET, OTHER]), pieces) == data
