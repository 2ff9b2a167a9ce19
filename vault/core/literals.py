"""Long literal strings found by looking at one 8-byte window in every ``stride`` bytes.

The C side (``literals.c``, built by ``hatch_build.py`` into ``libliterals.so.1`` beside this
file when a C compiler is there; not ``*.so``, which Python would take for an extension module)
keeps, for every needle, its windows at the offsets a copy's first sampled window can fall on; a
probe of the text costs a hash and a bit test, and each candidate is confirmed whole.  It is
loaded with :mod:`ctypes`; where it was not built, :func:`available` is False and
``tokendeck scan`` uses Hyperscan alone (docs/scan.md).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

WINDOW = 8
"""Bytes hashed at each probe."""
LONG = 24
"""Needles at least this long are searched here (the shortest sets the stride: 17 bytes or more);
shorter ones are left to a general engine."""
_FIRST_ROOM = 256
BINARY = -2
"""What :meth:`SampledLiterals.clean_files` answers for a binary (``BINARY`` in ``literals.c``)."""
PIECE = 256 * 1024
"""Bytes :meth:`SampledLiterals.clean_files` reads at a time: a piece is searched while it is
in the cache, beside the set's 512 KB filter (a whole 4 MB file read at once pushed both out)."""

_LIBRARY = Path(__file__).with_name("libliterals.so.1")
_loaded: ctypes.CDLL | None = None
_tried = False


ABI = 2
"""What ``td_abi()`` in ``literals.c`` must answer: a library built from another version of the
source (an editable install not rebuilt since) is not used, rather than called wrongly."""


def _library() -> ctypes.CDLL | None:
    global _loaded, _tried  # noqa: PLW0603 - loaded once per process
    if not _tried:
        _tried = True
        try:
            library = ctypes.CDLL(str(_LIBRARY))
            library.td_abi.restype = ctypes.c_int
            if library.td_abi() != ABI:
                return None
            _declare(library)
        except (OSError, AttributeError):  # not built here (no C compiler at install), or another build
            return None
        _loaded = library
    return _loaded


def _declare(library: ctypes.CDLL) -> None:
    """The C functions' signatures, for ctypes to check and convert each call's arguments."""
    data, size, u32s, u64s = (
        ctypes.c_char_p,
        ctypes.c_uint64,
        ctypes.POINTER(ctypes.c_uint32),
        ctypes.POINTER(ctypes.c_uint64),
    )
    library.td_build.restype = ctypes.c_void_p
    library.td_build.argtypes = [data, size, u32s, ctypes.c_uint32, ctypes.c_uint32]
    library.td_find.restype = ctypes.c_uint64
    library.td_find.argtypes = [ctypes.c_void_p, data, size, u32s, u64s, size]
    library.td_run_ends.restype = ctypes.c_uint64
    library.td_run_ends.argtypes = [data, size, u32s, ctypes.c_uint32, u64s, size]
    library.td_clean_files.restype = ctypes.c_uint64
    library.td_clean_files.argtypes = [
        ctypes.c_void_p, data, ctypes.c_uint32, ctypes.c_uint32, size, size, ctypes.c_char_p, size,
        ctypes.POINTER(ctypes.c_int64),
    ]  # fmt: skip
    library.td_free.restype = None
    library.td_free.argtypes = [ctypes.c_void_p]


def available() -> bool:
    """Whether the C side was built and loads on this machine."""
    return _library() is not None


class SampledLiterals:
    """The needles (each at least :data:`LONG` bytes), ready to be searched for.

    Raises:
        ValueError: a needle is shorter than :data:`LONG`, or there is none.
        OSError: the C side is not there (:func:`available`), or could not build the set.
    """

    name = "sampled"

    def __init__(self, needles: list[bytes]) -> None:
        if not needles or min(len(n) for n in needles) < LONG:
            raise ValueError(f"needles must be at least {LONG} bytes long")
        library = _library()
        if library is None:
            raise OSError("tokendeck's literal search was not built on this machine")
        self._library = library
        self._sizes = [len(n) for n in needles]
        lengths = (ctypes.c_uint32 * len(needles))(*self._sizes)
        blob = b"".join(needles)
        self._set = library.td_build(blob, len(blob), lengths, len(needles), min(self._sizes) - WINDOW + 1)
        if not self._set:
            raise OSError("tokendeck's literal search could not hold these needles")

    def __del__(self) -> None:
        if getattr(self, "_set", None):
            self._library.td_free(self._set)
            self._set = None

    def find_all(self, data: bytes) -> list[tuple[int, int, int]]:
        """(needle, start, end) of every copy, overlapping ones too, in no particular order."""
        room = _FIRST_ROOM
        while True:
            needles = (ctypes.c_uint32 * room)()
            starts = (ctypes.c_uint64 * room)()
            found = self._library.td_find(self._set, data, len(data), needles, starts, room)
            if found <= room:
                sizes = self._sizes
                return [(needles[i], starts[i], starts[i] + sizes[needles[i]]) for i in range(found)]
            room = found

    def clean_files(self, paths: list[str], *, uid: int, max_size: int, probe: int) -> list[int]:
        """For each of ``paths``: its size when it is a regular file of ``uid``'s, at most
        ``max_size`` bytes, with no NUL byte in its first ``probe`` bytes and no copy of a needle,
        read and searched here without Python's lock; :data:`BINARY` when it is such a file but
        for a NUL byte in its first ``probe`` bytes (skipped, as the scan skips binaries); else -1
        (the caller reads it again itself, to say why it is skipped or where its copies are)."""
        if not paths:
            return []
        names = b"".join(os.fsencode(path) + b"\0" for path in paths)
        sizes = (ctypes.c_int64 * len(paths))()
        room = max(PIECE, 2 * max(self._sizes))
        buffer = ctypes.create_string_buffer(room)
        self._library.td_clean_files(self._set, names, len(paths), uid, max_size, probe, buffer, room, sizes)
        return sizes[:]


class TokenRuns:
    """Where runs of token characters end that may hold a value of one of ``lengths``: the
    candidates for the previous values, which are kept only as keyed hashes (``scan_match``
    HMACs what these runs hold).

    Raises:
        OSError: the C side is not there (:func:`available`).
    """

    name = "runs"

    def __init__(self, lengths: list[int]) -> None:
        library = _library()
        if library is None:
            raise OSError("tokendeck's literal search was not built on this machine")
        self._library = library
        ordered = sorted(set(lengths))
        if not ordered or ordered[0] < 1:
            raise ValueError("lengths must be at least 1")
        self._lengths = (ctypes.c_uint32 * len(ordered))(*ordered)

    def ends(self, data: bytes) -> list[int]:
        """Where each such run ends, in order."""
        room = _FIRST_ROOM
        while True:
            ends = (ctypes.c_uint64 * room)()
            found = self._library.td_run_ends(data, len(data), self._lengths, len(self._lengths), ends, room)
            if found <= room:
                return ends[:found]
            room = found
