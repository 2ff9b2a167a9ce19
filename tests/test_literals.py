"""The sampled literal search in C (:mod:`vault.core.literals`), against the plainest search there
is: every needle found with ``bytes.find`` at every offset.  The needles share prefixes, suffixes
and windows, repeat themselves and hold one another; the text has copies at both ends, back to
back, overlapping, cut one byte short, and around every sampled offset; nothing is reported that
is not there, and nothing there is missed."""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core import literals
from vault.core.literals import LONG, WINDOW, SampledLiterals, TokenRuns
from vault.services.scan_match import _STARTS, _TOKEN_CHARS

pytestmark = pytest.mark.skipif(not literals.available(), reason="the C side was not built (no compiler)")


def every_copy(needles: list[bytes], data: bytes) -> set[tuple[int, int, int]]:
    found = set()
    for index, needle in enumerate(needles):
        at = data.find(needle)
        while at >= 0:
            found.add((index, at, at + len(needle)))
            at = data.find(needle, at + 1)
    return found


# Few letters, so windows repeat across needles and copies overlap.
letters = st.sampled_from(b"ab/=").map(lambda c: bytes([c]))
needle = st.lists(letters, min_size=LONG, max_size=LONG + 40).map(b"".join)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    needles = draw(st.lists(needle, min_size=1, max_size=12, unique=True))
    if draw(st.booleans()):  # one holding another, and one that repeats itself
        needles.append(needles[0] + b"ab")
        needles.append(needles[0][: LONG // 2] * 3)
    needles = list(dict.fromkeys(needles))
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(needles),
                st.sampled_from(needles).map(lambda n: n[:-1]),  # one byte short: no copy
                st.lists(letters, max_size=40).map(b"".join),
                st.binary(max_size=20),
            ),
            max_size=30,
        )
    )
    return needles, b"".join(pieces)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_it_finds_every_copy_and_nothing_else(case: tuple[list[bytes], bytes]) -> None:
    needles, data = case
    assert set(SampledLiterals(needles).find_all(data)) == every_copy(needles, data)


def test_each_copy_once_wherever_the_probes_fall() -> None:
    """A copy at every offset from a sampled window, at the buffer's start and flush with its end:
    found once each, never twice (a long needle spans several probes)."""
    needles = [b"ghp_" + bytes(range(65, 65 + 36)), b"x" * 200 + b"tail-of-a-very-long-one"]
    sampled = SampledLiterals(needles)
    stride = min(len(n) for n in needles) - WINDOW + 1
    for n, value in enumerate(needles):
        for shift in range(stride + 2):
            for data in (b"." * shift + value, b"." * shift + value + b"." * 3, value + b"." * shift):
                assert sampled.find_all(data) == [(n, data.index(value), data.index(value) + len(value))], shift


def test_more_copies_than_the_first_room_are_all_returned() -> None:
    value = b"sk-proj-" + b"0123456789abcdef" * 2
    data = b" ".join([value] * 1000)
    found = SampledLiterals([value]).find_all(data)
    assert sorted(start for _, start, _ in found) == [i * (len(value) + 1) for i in range(1000)]


@pytest.mark.parametrize("data", [b"", b"short", b"7 bytes", b"x" * WINDOW, b"\0" * 1000])
def test_buffers_shorter_than_a_needle_hold_nothing(data: bytes) -> None:
    assert SampledLiterals([b"a-needle-of-24-bytes-...", b"z" * 30]).find_all(data) == []


def test_needles_too_short_for_it_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 24 bytes"):
        SampledLiterals([b"a" * 30, b"b" * (LONG - 1)])
    with pytest.raises(ValueError):
        SampledLiterals([])


def test_the_set_is_freed_with_its_object() -> None:
    """Thousands of sets built and dropped (a scan per TUI visit): each one's memory is given back."""
    import resource

    needles = [bytes([65 + i % 26]) * 40 + str(i).encode() for i in range(2000)]
    SampledLiterals(needles)
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(200):
        SampledLiterals(needles)
    gc.collect()
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 20_000  # one set is about 3 MB; 200 kept would be 600 MB


def test_a_copy_cut_by_the_buffers_end_is_not_read_past_it() -> None:
    """The C side reads only the ``n`` bytes it is given: a copy whose last byte lies just past
    them (in memory the caller owns, here the rest of the same bytes) is no copy."""
    import ctypes

    value = b"glpat-" + b"q" * 30
    sampled = SampledLiterals([value])
    data = b"." * 40 + value + b"."
    needles, starts = (ctypes.c_uint32 * 4)(), (ctypes.c_uint64 * 4)()
    search = sampled._library.td_find  # noqa: SLF001 - the C function itself, given a shorter length
    for cut in (1, 2, WINDOW):
        assert search(sampled._set, data, 40 + len(value) - cut, needles, starts, 4) == 0  # noqa: SLF001
    assert search(sampled._set, data, 40 + len(value), needles, starts, 4) == 1  # noqa: SLF001


# ---- the run finder (previous values)

TOKEN_RUN = re.compile(rb"[%s]+" % _TOKEN_CHARS)


# ------------------------------------------------------------------ whole files, read in C


@settings(max_examples=200, deadline=None)
@given(
    case=cases(),
    more=st.integers(min_value=0, max_value=100),
    probe=st.integers(min_value=0, max_value=300),
    nul=st.none() | st.integers(min_value=0, max_value=300),
)
def test_a_file_is_answered_for_exactly_when_it_holds_no_copy_and_no_nul_in_its_first_bytes(
    case: tuple[list[bytes], bytes], more: int, probe: int, nul: int | None
) -> None:
    """Read in pieces as small as twice the longest needle, so copies fall across every boundary."""
    needles, data = case
    if nul is not None:  # a NUL byte before, at or after the end of the probe
        data = data[:nul] + b"\0" + data[nul:]
    found = SampledLiterals(needles)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "file")
        Path(path).write_bytes(data)
        with mock.patch.object(literals, "PIECE", 2 * max(map(len, needles)) + more):
            sizes = found.clean_files([path, path], uid=os.getuid(), max_size=len(data), probe=probe)
    binary = b"\0" in data[:probe]  # skipped before it is searched, as the scan skips binaries
    assert sizes == [literals.BINARY if binary else -1 if every_copy(needles, data) else len(data)] * 2


def test_what_is_not_a_small_regular_file_of_the_users_is_left_to_the_caller(tmp_path: Path) -> None:
    found = SampledLiterals([b"n" * LONG])
    plain, large, fifo, folder = (tmp_path / name for name in ("plain", "large", "fifo", "folder"))
    plain.write_bytes(b"x" * 100)
    large.write_bytes(b"x" * 501)
    os.mkfifo(fifo)  # opened without blocking, and not read
    folder.mkdir()
    (tmp_path / "link").symlink_to(plain)
    paths = [str(p) for p in (plain, large, fifo, folder, tmp_path / "link", tmp_path / "missing", plain)]
    assert found.clean_files(paths, uid=os.getuid(), max_size=500, probe=8192) == [100, -1, -1, -1, -1, -1, 100]
    assert found.clean_files([str(plain)], uid=os.getuid() + 1, max_size=500, probe=8192) == [-1]  # not yours
    assert found.clean_files([], uid=os.getuid(), max_size=500, probe=8192) == []


def test_the_c_side_and_the_matcher_agree_on_what_a_value_may_follow_inside_a_run() -> None:
    """``scan_match._STARTS`` (``=`` and ``/``) and the C side's ``holds_length``: a one-byte value
    after each token byte inside a run is a candidate exactly when that byte is one of them."""
    runs = TokenRuns([1])
    for byte in range(256):
        if TOKEN_RUN.fullmatch(bytes([byte])):
            assert (runs.ends(b"aa" + bytes([byte]) + b"k") == [4]) == (byte in _STARTS), byte


def test_the_c_side_and_the_matcher_agree_on_every_token_byte() -> None:
    """The C side's table of token characters is a second copy of ``scan_match._TOKEN_CHARS``
    (C cannot import it): every one of the 256 bytes is a run of one there exactly when it is here."""
    runs = TokenRuns([1])
    for byte in range(256):
        assert (runs.ends(bytes([byte])) == [1]) == bool(TOKEN_RUN.fullmatch(bytes([byte]))), byte


def run_ends(data: bytes, lengths: list[int]) -> list[int]:
    """Every maximal run of token characters holding a value of a kept length that ends where the
    run does (or before its final full stop) and starts where it does or after an ``=`` or ``/``."""
    ends = []
    for run in TOKEN_RUN.finditer(data):
        start, end = run.span()
        lasts = [end, end - 1] if data[end - 1 : end] == b"." else [end]
        if any(
            last - n >= start and (last - n == start or data[last - n - 1] in _STARTS)
            for last in lasts
            for n in lengths
        ):
            ends.append(end)
    return ends


token_text = st.lists(
    st.one_of(
        st.sampled_from([b"=", b".", b" ", b"\n", b"a=b=", b"/", b"https://", b"\x00", b"\xff"]),
        st.lists(st.sampled_from(b"aZ09._~+/=-").map(lambda c: bytes([c])), max_size=30).map(b"".join),
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(token_text, st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=4))
def test_run_ends_are_those_of_every_run_that_may_hold_a_kept_length(data: bytes, lengths: list[int]) -> None:
    assert TokenRuns(lengths).ends(data) == run_ends(data, lengths)


def test_more_run_ends_than_the_first_room_are_all_returned() -> None:
    data = b" ".join([b"NAME=" + b"v" * 12] * 1000)
    assert TokenRuns([12]).ends(data) == [(i + 1) * 17 + i for i in range(1000)]


@pytest.mark.slow
def test_the_tests_above_pass_with_address_and_undefined_behaviour_sanitizers(tmp_path: Path) -> None:
    """The C side reads files nobody vetted: built again with ASan and UBSan, every test above runs
    against it in a child process (ASan loaded first), and any read out of bounds, overflow or
    misaligned access ends it with an error."""
    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("no gcc here (the system packages install it)")
    library = tmp_path / "libliterals-sanitized.so"
    source = Path(literals.__file__).with_name("literals.c")
    sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    subprocess.run([cc, "-O1", "-g", "-std=c11", "-fPIC", "-shared", *sanitize, "-o", str(library), str(source)],
                   check=True)  # fmt: skip
    asan = subprocess.run(
        [cc, "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    run = (
        "import sys, pytest, pathlib; from vault.core import literals; "
        f"literals._LIBRARY = pathlib.Path({str(library)!r}); "
        f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', {__file__!r}, '-k', 'not sanitizers and not freed']))"
    )
    env = {
        **os.environ,
        "LD_PRELOAD": asan,
        "ASAN_OPTIONS": "detect_leaks=0",
        "UBSAN_OPTIONS": "print_stacktrace=1",
    }
    done = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


@pytest.mark.parametrize("abi", [f"int td_abi(void) {{ return {literals.ABI + 1}; }}", ""])
def test_a_library_from_another_build_is_not_used(abi: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editable install not rebuilt since ``literals.c`` changed keeps the old library: one of
    another version, or one from before the version function, is left alone (scan uses
    Hyperscan), never called with the wrong arguments."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler here")
    source = Path(literals.__file__).with_name("literals.c").read_text()
    current = f"int td_abi(void) {{ return {literals.ABI}; }}"
    assert current in source
    (tmp_path / "other.c").write_text(source.replace(current, abi))
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(tmp_path / "other.so"), str(tmp_path / "other.c")], check=True)
    monkeypatch.setattr(literals, "_LIBRARY", tmp_path / "other.so")
    monkeypatch.setattr(literals, "_tried", False)
    monkeypatch.setattr(literals, "_loaded", None)
    assert not literals.available()
