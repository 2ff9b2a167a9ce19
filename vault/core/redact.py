"""Masking secrets in a program's output as it streams by: what ``tokendeck exec`` and
``tokendeck proxy run`` put between their command and the terminal (issue 37, item 4).

A :class:`Masker` is fed the bytes of one stream (a child's stdout, or its stderr) as they are
read, and returns the bytes to write on, every occurrence of a secret replaced by
:data:`MARKER`.  It is a streaming matcher: a secret written in pieces (three bytes at a time,
or split across two reads) is still found, because only a tail that could be the start of a
secret is held back: at most ``len(longest pattern) - 1`` bytes, and none at all when the tail
cannot begin one, so output that holds no secret passes on at once.  :meth:`Masker.flush`
writes what is held (the caller does so when the program goes quiet, so a prompt ending in a
secret's first letters still appears); a secret whose start was written that way is masked from
where the output resumes (its first bytes were already out: only they show).

What is masked, for every secret given: the value itself, URL-encoded (``%2F`` or ``%2f``,
``+`` or ``%20`` for a space) and JSON-escaped (``\\/``, ``\\uXXXX``).  Not masked: base64 or
any other transformation, a value cut into pieces with other text between them (one character
per line), and values shorter than :data:`SHORTEST` characters (they would mask ordinary words).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MARKER = b"<concealed by tokendeck>"
"""What a secret is replaced with (1Password's ``op run`` says ``<concealed by 1Password>``)."""

SHORTEST = 4
"""Values shorter than this are not masked: a three-letter token would take words with it."""


def encodings(secret: str) -> set[bytes]:
    """The byte strings ``secret`` may appear as in output: itself, URL-encoded and JSON-escaped."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
    }
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form) for form in forms}
    return {form.encode("utf-8", "surrogateescape") for form in forms}


class Masker:
    """One stream's streaming matcher over the encodings of ``secrets``."""

    def __init__(self, secrets: Iterable[str], marker: bytes = MARKER) -> None:
        self._marker = marker
        self._secrets: set[str] = set()
        self._regex: re.Pattern[bytes] | None = None
        self._patterns: list[bytes] = []
        self.add(*secrets)
        self._tail = b""  # the last bytes already dealt with (written or masked): a secret may have begun there
        self._held = b""  # read, not yet written: it may be the start of a secret

    def add(self, *secrets: str) -> None:
        """Mask these too, from the next bytes on (a token refreshed while the program runs)."""
        new = {s for s in secrets if s and len(s) >= SHORTEST} - self._secrets
        if not new and self._secrets:
            return
        self._secrets |= new
        patterns = {form for secret in self._secrets for form in encodings(secret)}
        self._patterns = sorted(patterns, key=len, reverse=True)  # the longest wins where two start
        self._regex = re.compile(b"|".join(re.escape(p) for p in self._patterns)) if patterns else None
        self._firsts = frozenset(p[0] for p in self._patterns)
        self._keep = max((len(p) for p in self._patterns), default=1) - 1

    @property
    def active(self) -> bool:
        """Whether there is anything to mask at all."""
        return self._regex is not None

    @property
    def held(self) -> int:
        """How many bytes are held back, waiting to see whether a secret begins there."""
        return len(self._held)

    def feed(self, chunk: bytes) -> bytes:
        """The bytes that may be written now, given ``chunk`` (the next bytes of the stream)."""
        if self._regex is None:
            return chunk
        return self._scan(self._held + chunk, final=False)

    def flush(self) -> bytes:
        """Everything held, masked where a whole secret is there: the stream went quiet or ended."""
        if self._regex is None or not self._held:
            return b""
        return self._scan(self._held, final=True)

    def _scan(self, pending: bytes, *, final: bool) -> bytes:
        base = len(self._tail)
        data = self._tail + pending
        cut = len(data) if final else max(base, len(data) - self._unfinished(data))
        out: list[bytes] = []
        pos = base
        regex = self._regex
        if regex is not None and any(p in data for p in self._patterns):  # nothing there: a few C searches
            for m in regex.finditer(data):
                if m.end() <= base:
                    continue  # dealt with before
                if m.start() >= cut:
                    break  # it may continue: decided when more comes
                out.append(data[pos : max(pos, m.start())])
                out.append(self._marker)
                pos = m.end()
        end = max(pos, cut)
        out.append(data[pos:end])
        self._held = data[end:]
        self._tail = data[max(0, end - self._keep) : end]
        return b"".join(out)

    def _unfinished(self, data: bytes) -> int:
        """The length of the longest tail of ``data`` that is the beginning of a pattern but not all
        of it (at most the longest pattern's length less one); 0 when none is."""
        start = max(0, len(data) - self._keep)
        for i in range(start, len(data)):
            if data[i] not in self._firsts:
                continue
            piece = data[i:]
            if any(p.startswith(piece) and len(p) > len(piece) for p in self._patterns):
                return len(data) - i
        return 0
