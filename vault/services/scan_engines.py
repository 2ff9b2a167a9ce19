"""How ``tokendeck scan`` finds many literal strings in one buffer: tokendeck's sampled search
for the long ones (:mod:`vault.core.literals`, in C), Hyperscan for the rest (or all, without
it), Aho-Corasick where Hyperscan is not installed (docs/scan.md).  All report the same copies:
the leftmost-longest ones.  :mod:`vault.services.scan_match` says what to look for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class Hyperscan:
    """Hyperscan's literal engine (block mode, one database in memory; worker processes inherit
    it at the fork with their own copy of its scratch space)."""

    name = "hyperscan"

    def __init__(self, needles: list[bytes]) -> None:
        import hyperscan

        self._sizes = [len(n) for n in needles]
        self._longest = max(self._sizes)  # once: over thousands of needles, per file it cost more than the search
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(expressions=needles, ids=list(range(len(needles))), flags=0, literal=True)

    def find(self, data: bytes) -> list[tuple[int, int, int]]:
        """(needle, start, end) of the leftmost-longest copies, as Aho-Corasick's LeftmostLongest
        gives them: Hyperscan reports every end of every needle, overlapping ones too."""
        return leftmost_longest(self.find_all(data))

    def find_all(self, data: bytes) -> list[tuple[int, int, int]]:
        """(needle, start, end) of every copy, overlapping ones too."""
        found: set[tuple[int, int, int]] = set()  # a set: a copy inside two blocks' overlap comes twice
        sizes = self._sizes

        def on_match(index: int, end: int) -> None:
            found.add((index, end - sizes[index], end))

        scan_blocks(self._database, data, self._longest, on_match)
        return list(found)


class AhoCorasick:
    """The fallback where no hyperscan wheel exists: the Rust aho-corasick crate, as a DFA."""

    name = "ahocorasick"

    def __init__(self, needles: list[bytes]) -> None:
        import ahocorasick_rs

        self._automaton = ahocorasick_rs.BytesAhoCorasick(
            needles,
            matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
            implementation=ahocorasick_rs.Implementation.DFA,  # measured: 1.6x the default on 6,000 needles
        )
        self._needles = needles
        self._every: ahocorasick_rs.BytesAhoCorasick | None = None

    def find(self, data: bytes) -> list[tuple[int, int, int]]:
        return self._automaton.find_matches_as_indexes(data)

    def find_all(self, data: bytes) -> list[tuple[int, int, int]]:
        """(needle, start, end) of every copy, overlapping ones too (a second automaton, built
        the first time: only the short needles beside the sampled search ask for this)."""
        import ahocorasick_rs

        if self._every is None:
            self._every = ahocorasick_rs.BytesAhoCorasick(self._needles, matchkind=ahocorasick_rs.MatchKind.Standard)
        return self._every.find_matches_as_indexes(data, overlapping=True)


class Sampled:
    """The needles of :data:`~vault.core.literals.LONG` bytes or more (every form of a real
    token) by tokendeck's sampled search, which looks at one 8-byte window in every 17 bytes or
    more (:mod:`vault.core.literals`); the shorter ones, if any, by Hyperscan or Aho-Corasick."""

    def __init__(self, needles: list[bytes]) -> None:
        from vault.core.literals import LONG, SampledLiterals

        self._long = [i for i, n in enumerate(needles) if len(n) >= LONG]
        self._short = [i for i, n in enumerate(needles) if len(n) < LONG]
        self._sampled = SampledLiterals([needles[i] for i in self._long])
        self._general = general_engine([needles[i] for i in self._short]) if self._short else None
        self.name = "sampled" + (f" + {self._general.name}" if self._general else "")

    @property
    def whole_files(self) -> bool:
        """Whether :meth:`clean_files` answers for every needle (none is left to a general engine)."""
        return self._general is None

    def clean_files(self, paths: list[str], *, uid: int, max_size: int, probe: int) -> list[int]:
        """:meth:`vault.core.literals.SampledLiterals.clean_files`: each file read and searched in C."""
        return self._sampled.clean_files(paths, uid=uid, max_size=max_size, probe=probe)

    def find(self, data: bytes) -> list[tuple[int, int, int]]:
        long = self._long
        copies = [(long[i], start, end) for i, start, end in self._sampled.find_all(data)]
        if self._general is not None:
            short = self._short
            copies += [(short[i], start, end) for i, start, end in self._general.find_all(data)]
        return leftmost_longest(copies)


def leftmost_longest(copies: Iterable[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Of every copy (needle, start, end), those Aho-Corasick's LeftmostLongest reports: from the
    left, the longest copy starting there, then the next one that starts after it ends."""
    kept, edge = [], 0
    for start, neg_end, index in sorted((start, -end, index) for index, start, end in copies):
        if start >= edge:
            kept.append((index, start, -neg_end))
            edge = -neg_end
    return kept


def literal_engine(needles: list[bytes]) -> Sampled | Hyperscan | AhoCorasick:
    """The sampled search where it was built and some needle is long enough, else the general
    engine."""
    from vault.core.literals import LONG, available

    if available() and any(len(n) >= LONG for n in needles):
        try:
            return Sampled(needles)
        except OSError:  # it could not hold them (out of memory): the general engine can
            pass
    return general_engine(needles)


def general_engine(needles: list[bytes]) -> Hyperscan | AhoCorasick:
    """Hyperscan where it is installed and runs on this CPU, else Aho-Corasick."""
    try:
        import hyperscan
    except ImportError:
        return AhoCorasick(needles)
    try:
        return Hyperscan(needles)
    except hyperscan.error:  # e.g. a CPU without the instructions the library was built for
        return AhoCorasick(needles)


BLOCK = (1 << 31) - 1
"""Hyperscan scans at most this many bytes at once (its length is a C ``unsigned int``), and
``--max-size`` has no upper bound: a longer buffer is scanned in blocks of this size."""


def scan_blocks(database: Any, data: bytes, overlap: int, on_match: Callable[[int, int], None]) -> None:
    """Run ``database`` over ``data``: ``on_match(pattern, end)`` with ``end`` an offset in
    ``data``.  Blocks overlap by ``overlap`` bytes (no match longer is cut; one inside the overlap
    is reported twice)."""
    if len(data) <= BLOCK:
        database.scan(data, match_event_handler=lambda index, _start, end, _flags, _context: on_match(index, end))
        return
    view = memoryview(data)
    step = max(BLOCK - overlap, 1)
    for base in range(0, len(data), step):

        def shifted(index: int, _start: int, end: int, _flags: int, _context: object, base: int = base) -> None:
            on_match(index, base + end)

        database.scan(view[base : base + BLOCK], match_event_handler=shifted)
        if base + BLOCK >= len(data):
            return
