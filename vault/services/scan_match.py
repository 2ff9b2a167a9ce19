"""What ``tokendeck scan`` looks for, and how it finds it in one buffer (docs/scan.md).

Current secrets are matched exactly, all at once, as literal strings: those of 24 bytes or more
(every form of a real token) by tokendeck's sampled search (:mod:`vault.core.literals`, in C)
where it was built, the rest (or all, without it) by Hyperscan (Intel's multi-literal engine, the
``hyperscan`` wheel) where it is installed, else by an Aho-Corasick automaton (``ahocorasick_rs``,
the Rust crate ripgrep uses); all keep the leftmost-longest copies, so they report the same
findings.  Each value is searched for in the forms a file may hold
it: raw, as a JSON string escapes it (``\\/``, ``\\u00xx``), URL-encoded (``%XX``), and inside
base64 (three needles per value, one per alignment of the value's bytes in a ``user:token`` blob;
a hit is confirmed by decoding the blob around it).  Previous values (the keyed hashes of
:mod:`vault.core.superseded`) cannot be searched for: every run of token characters whose length
is one a previous value had is HMAC'd and looked up, in the raw bytes, in JSON- and URL-decoded
views of them, and in the blob after ``Basic``.  Nothing here writes a secret anywhere.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from vault.services.scan_engines import Sampled, literal_engine, scan_blocks

if TYPE_CHECKING:
    from vault.core.literals import TokenRuns

MIN_LENGTH = 8
"""Shorter values are not searched for: a few characters match by chance, and no real token is that short."""

_TOKEN_CHARS = rb"A-Za-z0-9._~+/=\-"
_BASIC = re.compile(rb"[Bb]asic\s+([A-Za-z0-9+/]{8,}={0,2})")
"""HTTP's Basic scheme and its blob: ``Authorization: Basic …``, and ``AUTHORIZATION: basic …`` as
CI checkouts write into ``.git/config`` (found where ``asic`` is: one search for a short string)."""
_STARTS = b"=/"
"""Token characters a previous value may follow inside a run: ``=`` (``NAME=value``) and ``/``
(a URL's path, ``https://TOKEN@host``); the C side (``holds_length``) has the same two."""
_NEXT_START = re.compile(rb"[%s]" % re.escape(_STARTS))
_JSON_ESCAPE = re.compile(rb'\\(?:([/"\\bfnrt])|u00([0-9a-fA-F]{2}))')
_JSON_SIMPLE = {b"/": b"/", b'"': b'"', b"\\": b"\\", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t"}
_PERCENT = re.compile(rb"%([0-9a-fA-F]{2})")


class Secretly(NamedTuple):
    """Whose a value is, what kind, and whether it is the current one (``live``)."""

    credential: str
    kind: str
    live: bool


class Hit(NamedTuple):
    """One copy found in a buffer: whose, the form it was in, and the line it starts on."""

    who: Secretly
    form: str
    line: int


_PLAIN = bytes(c for c in range(256) if chr(c).isalnum() or c in b"_-.")
"""What a JSON writer leaves as it is (every other byte may come as ``\\u00xx``)."""


_HTML_SAFE = b"<>&='"
"""What a JSON writer that keeps its output safe in HTML escapes and nothing else (Gson by default:
a base64 key's ``=`` as ``\\u003d``, its ``+`` and ``/`` left as they are)."""


def json_forms(value: bytes) -> list[bytes]:
    """How a JSON writer may escape ``value`` (other than leaving it as it is): ``\\/``; every
    byte but a letter, digit, ``_``, ``-`` or ``.`` as ``\\u00xx``; or only the HTML-sensitive ones."""
    slash = value.replace(b"/", b"\\/")
    special = set(value.translate(None, _PLAIN))
    forms = [slash] if slash != value else []
    for spec in (b"\\u%04x", b"\\u%04X") if special else ():
        for chosen in (special, special & set(_HTML_SAFE)):
            # a backslash first: the escapes below bring backslashes in
            escaped = value.replace(b"\\", spec % 92) if 92 in chosen else value
            for c in chosen:  # one replace per distinct byte (a token has few), not a loop over every byte
                if c != 92:
                    escaped = escaped.replace(bytes([c]), spec % c)
            forms.append(escaped)
    return [f for f in dict.fromkeys(forms) if f != value]


_URL_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
"""What percent-encoding leaves as it is (``urllib.parse.quote(value, safe="")``, RFC 3986's unreserved)."""
_PERCENT_UPPER = [bytes([c]) if c in _URL_SAFE else b"%%%02X" % c for c in range(256)]
_PERCENT_LOWER = [bytes([c]) if c in _URL_SAFE else b"%%%02x" % c for c in range(256)]


def url_forms(value: bytes) -> list[bytes]:
    """``value`` percent-encoded, with upper- and lower-case hex (none for a value of unreserved
    bytes only: it reads the same)."""
    if not value.translate(None, _URL_SAFE):
        return []
    upper, lower = (b"".join([table[c] for c in value]) for table in (_PERCENT_UPPER, _PERCENT_LOWER))
    return [f for f in dict.fromkeys((upper, lower)) if f != value]


def base64_forms(value: bytes) -> list[bytes]:
    """The base64 text of ``value``'s bytes at each of the three alignments it can have inside a
    longer blob (the first 0, 1 or 2 bytes dropped, cut to whole groups of three)."""
    forms = []
    for skip in range(3):
        chunk = value[skip:]
        chunk = chunk[: len(chunk) - len(chunk) % 3]
        if len(chunk) >= 6:
            forms.append(base64.b64encode(chunk))
    return forms


class Matcher:
    """The automaton of the current values and the table of the previous ones' hashes.

    Args:
        current: (credential, kind, value) of every current secret.
        key: the scan key the previous values were hashed with.
        previous: (credential, kind, length, digest) of every kept previous value.
    """

    def __init__(
        self,
        current: Iterable[tuple[str, str, str]],
        key: bytes,
        previous: Iterable[tuple[str, str, int, bytes]],
    ) -> None:
        self._key = key
        patterns: dict[bytes, list[tuple[Secretly, str, bytes]]] = {}
        for credential, kind, text in current:
            value = text.encode()
            if len(value) < MIN_LENGTH:
                continue
            who = Secretly(credential, kind, live=True)
            forms = [("raw", [value]), ("json", json_forms(value)), ("url", url_forms(value))]
            forms.append(("base64", base64_forms(value)))
            for form, needles in forms:
                for needle in needles:
                    patterns.setdefault(needle, []).append((who, form, value))
        needles = list(patterns)
        self._owners = [patterns[p] for p in needles]
        self._automaton = literal_engine(needles) if needles else None
        self.engine = self._automaton.name if self._automaton else literal_engine([b"engine"]).name
        """Which engine finds the current values: ``hyperscan``, or ``ahocorasick`` without it."""
        self._previous: dict[bytes, list[Secretly]] = {}
        self._lengths: set[int] = set()
        for credential, kind, length, hashed in previous:
            self._previous.setdefault(hashed, []).append(Secretly(credential, kind, live=False))
            if length >= MIN_LENGTH:
                self._lengths.add(length)
        if self._previous:  # imported here: hmac, hashlib and dataclasses, for previous values only
            from vault.core.superseded import digest

            self._digest = digest
        self._shortest = min(self._lengths, default=0)
        self._lengths_sorted = sorted(self._lengths)
        self._runs = _runs(sorted(self._lengths)) if self._lengths else None

    @property
    def searching(self) -> bool:
        """Whether there is anything to look for."""
        return self._automaton is not None or bool(self._shortest)

    @property
    def reads_files(self) -> bool:
        """Whether :meth:`clean_files` can answer for a file: every current value is in the
        sampled search, and no previous value is looked for (their runs and decoded views need
        the bytes here)."""
        return not self._shortest and isinstance(self._automaton, Sampled) and self._automaton.whole_files

    def clean_files(self, paths: list[str], *, uid: int, max_size: int, probe: int) -> list[int]:
        """For each of ``paths``, read and searched in C without Python's lock (only where
        :attr:`reads_files`): its size when it is a regular file of ``uid``'s, at most
        ``max_size`` bytes, with no NUL byte in its first ``probe`` bytes and nothing :meth:`find`
        would find; :data:`vault.core.literals.BINARY` for such a file with a NUL byte there (a
        binary); else -1, and the caller reads it itself (to say why it is skipped, or where its
        copies are)."""
        if not isinstance(self._automaton, Sampled) or not self.reads_files:
            raise RuntimeError("this matcher needs every file's bytes")
        return self._automaton.clean_files(paths, uid=uid, max_size=max_size, probe=probe)

    def find(self, data: bytes) -> list[Hit]:
        """Every copy in ``data``, once per (credential, kind, line), the most direct form first."""
        hits: dict[tuple[str, str, bool, int], Hit] = {}
        lines = _Lines(data)
        for hit in self._current(data, lines):
            hits.setdefault((hit.who.credential, hit.who.kind, hit.who.live, hit.line), hit)
        for hit in self._old(data, lines):
            hits.setdefault((hit.who.credential, hit.who.kind, hit.who.live, hit.line), hit)
        return sorted(hits.values(), key=lambda h: (h.line, h.who.credential, h.who.kind))

    def _current(self, data: bytes, lines: _Lines) -> Iterator[Hit]:
        if self._automaton is None:
            return
        for index, start, end in self._automaton.find(data):
            for who, form, value in self._owners[index]:
                if form == "base64" and not _in_base64(data, start, end, value):
                    continue
                yield Hit(who, form, lines.at(start))

    def _old(self, data: bytes, lines: _Lines) -> Iterator[Hit]:
        if not self._shortest:
            return
        if self._runs is None:
            yield from self._old_in(data, 0, "raw", lines)
        else:
            yield from self._old_at(data, self._runs.ends(data), lines)
        # The decoded views: only the lines that hold an escape, each decoded on its own (its number kept).
        # Each pattern only where its first byte is: a search for one byte is many times a pattern's speed.
        for form, mark, escape, decode in (
            ("json", b"\\", _JSON_ESCAPE, _json_decoded),
            ("url", b"%", _PERCENT, _url_decoded),
        ):
            for start, line in _lines_holding(escape, data) if mark in data else ():
                for hit in self._old_in(decode(line), 0, form, None):
                    yield Hit(hit.who, form, lines.at(start))
        for match in _BASIC.finditer(data) if b"asic" in data else ():
            decoded = _decode(match.group(1))
            if decoded is not None:
                for hit in self._old_in(decoded.replace(b":", b" "), 0, "base64", None):
                    yield Hit(hit.who, hit.form, lines.at(match.start()))

    def _old_in(self, view: bytes, _offset: int, form: str, lines: _Lines | None) -> Iterator[Hit]:
        """Previous values in ``view``: each run of token characters at least as long as the
        shortest kept value is cut out only when its length, or the length of what follows an
        ``=`` or a ``/`` in it (:data:`_STARTS`) or of it without a full stop, is one a kept value
        had (most runs cost a few comparisons: the loop is the scan's hot path on text full of
        base64)."""
        lengths, shortest = self._lengths, self._shortest
        mapped = view.translate(_RUN_MAP)
        needle = b"\x01" * shortest
        at = mapped.find(needle)
        while at >= 0:
            end = mapped.find(b"\x00", at + shortest)
            end = len(mapped) if end < 0 else end
            # the whole run, and what follows each "=" or "/" in it (_STARTS), each also without a full stop
            stop = view[end - 1] == 46  # "."
            begin = at
            while begin >= 0:
                size = end - begin
                if size in lengths or (stop and size - 1 in lengths):
                    yield from self._looked_up(view, begin, end, stop, form, lines.at(at) if lines else 0)
                cut = _NEXT_START.search(view, begin, end)
                begin = cut.end() if cut else -1
            at = mapped.find(needle, end)

    def _old_at(self, view: bytes, ends: list[int], lines: _Lines) -> Iterator[Hit]:
        """Previous values in ``view`` where Hyperscan found a run of token characters of a kept
        length (or one more, with a full stop) ending at each of ``ends``: the same candidates
        as :meth:`_old_in` (the whole run, or what follows an ``=`` in it; each also without a
        trailing full stop), checked here, so only they are HMAC'd."""
        lengths = self._lengths_sorted
        for run_end in ends:
            for end in (run_end, run_end - 1) if view[run_end - 1] == 46 else (run_end,):  # "."
                for length in lengths:
                    begin = end - length
                    if begin < 0:
                        break
                    if begin and view[begin - 1] not in _EDGE:
                        continue
                    candidate = view[begin:end]
                    if 0 in candidate.translate(_RUN_MAP):
                        continue  # not one run of token characters
                    for who in self._previous.get(self._digest(self._key, candidate), ()):
                        yield Hit(who, "raw", lines.at(begin))

    def _looked_up(self, view: bytes, begin: int, end: int, stop: bool, form: str, line: int) -> Iterator[Hit]:
        for candidate in (view[begin:end], view[begin : end - 1]) if stop else (view[begin:end],):
            if len(candidate) in self._lengths:
                for who in self._previous.get(self._digest(self._key, candidate), ()):
                    yield Hit(who, form, line)


class _Runs:
    """Hyperscan's regular expression engine finding where runs of token characters of the kept
    lengths end (one pattern: the lengths as alternatives between edges), so Python looks only
    there, not at every run (on text full of base64, most of its time before)."""

    def __init__(self, lengths: list[int]) -> None:
        import hyperscan

        token = _TOKEN_CHARS.decode()
        alternatives = "|".join(f"[{token}]{{{n}}}" for n in lengths)
        # before: the start, a byte that is not a token character, or "=" or "/" (_STARTS); after:
        # an optional full stop, then the end or a byte that is not a token character
        edge = token.translate(str.maketrans("", "", _STARTS.decode()))  # a value may follow these inside a run
        pattern = rf"(?:^|[^{edge}])(?:{alternatives})\.?(?:[^{token}]|$)"
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(expressions=[pattern.encode()], ids=[0], flags=0)
        self._window = max(lengths) + 3  # the byte before, the run, a full stop, the byte after

    def ends(self, data: bytes) -> list[int]:
        """Where each run that may hold a candidate ends, in order (a block's own start and end
        look like edges to Hyperscan: only real ends of runs are kept, and the starts are checked
        by the caller)."""
        ends: set[int] = set()
        size = len(data)

        def on_match(_index: int, end: int) -> None:
            end = end - 1 if end and not _RUN_MAP[data[end - 1]] else end
            if end == size or not _RUN_MAP[data[end]]:
                ends.add(end)

        scan_blocks(self._database, data, self._window, on_match)
        return sorted(ends)


def _runs(lengths: list[int]) -> TokenRuns | _Runs | None:
    """tokendeck's run finder in C where it was built, else Hyperscan's where it is installed and
    runs here; None: the Python loop."""
    from vault.core.literals import TokenRuns, available

    if available():
        return TokenRuns(lengths)
    try:
        import hyperscan
    except ImportError:
        return None
    try:
        return _Runs(lengths)
    except hyperscan.error:
        return None


def _lines_holding(escape: re.Pattern[bytes], data: bytes) -> Iterator[tuple[int, bytes]]:
    """Each line of ``data`` that holds a match of ``escape``, once, with its offset: found from
    the escapes out (a pattern for the whole line tried at every offset took quadratic time on a
    long line with none, as minified code has)."""
    end = 0
    for match in escape.finditer(data):
        if match.start() < end:
            continue  # on the line just given
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        end = len(data) if end < 0 else end
        yield start, data[start:end]


def _json_decoded(line: bytes) -> bytes:
    """A JSON line with its escapes undone: ``\\n`` a newline again, so a value after it stands alone."""
    return _JSON_ESCAPE.sub(lambda m: _JSON_SIMPLE[m.group(1)] if m.group(1) else bytes([int(m.group(2), 16)]), line)


def _url_decoded(line: bytes) -> bytes:
    return _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), line)


_RUN_MAP = bytes(1 if re.fullmatch(rb"[%s]" % _TOKEN_CHARS, bytes([b])) else 0 for b in range(256))
"""Token characters to 1, every other byte to 0: a run of them is then a run of one byte."""
_EDGE = frozenset(b for b in range(256) if not _RUN_MAP[b] or b in _STARTS)
"""What may stand before a candidate: a byte that is not a token character, or one of :data:`_STARTS`."""


class _Lines:
    """Line numbers of offsets in one buffer, counted once in order (hits come in order)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0
        self._line = 1

    def at(self, offset: int) -> int:
        if offset < self._offset:
            return self._data.count(b"\n", 0, offset) + 1
        self._line += self._data.count(b"\n", self._offset, offset)
        self._offset = offset
        return self._line


_B64_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _decode(blob: bytes) -> bytes | None:
    blob = blob.rstrip(b"=")
    if len(blob) % 4 == 1:
        blob = blob[:-1]
    try:
        return base64.b64decode(blob + b"=" * (-len(blob) % 4))
    except (binascii.Error, ValueError):
        return None


def _in_base64(data: bytes, start: int, end: int, value: bytes) -> bool:
    """The base64 run around ``data[start:end]`` decodes to bytes that hold ``value`` whole (read
    from the run's start, or from the needle's own alignment when letters run into the blob)."""
    left, right = start, end
    while left > 0 and data[left - 1] in _B64_BYTES:
        left -= 1
    while right < len(data) and data[right] in _B64_BYTES:
        right += 1
    run = data[left:right]
    for begin in dict.fromkeys((0, (start - left) % 4)):
        decoded = _decode(run[begin:])
        if decoded is not None and value in decoded:
            return True
    return False


def matcher_of(material: dict[str, Any]) -> Matcher:
    """The scan's matcher, built from what :func:`vault.services.scan_requests.material` handed
    over (``scan`` and the TUI's Leaks screen)."""
    key = bytes.fromhex(str(material.get("key", "")))
    current = [tuple(c) for c in material.get("current", [])]
    previous = [(c, k, int(n), bytes.fromhex(d)) for c, k, n, d in material.get("previous", [])]
    return Matcher(current, key, previous)
