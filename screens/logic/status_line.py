"""The list's status line: one line at every width.  Its phrases (how many credentials, who
refreshes, what fails, what is next, the last outcome) are dropped whole, the least important
first, until the rest fits; none is cut in the middle of a word unless a single one is wider
than the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len

SEPARATOR = "  ·  "


def importance(at: int, phrase: str) -> int:
    """How soon a phrase of :func:`screens.logic.refreshing.refresher_status` gives way (the
    highest first): the last outcome, then what is next, then who refreshes; what fails stays."""
    if phrase.startswith("last: "):
        return 4
    if phrase.startswith("next: "):
        return 3
    return 2 if at == 0 else 1


def fit_status(first: str, phrases: Sequence[str], width: int) -> str:
    """``first`` (the count, always kept) and ``phrases`` joined into one line of at most
    ``width`` cells, dropping whole phrases by :func:`importance` until it fits."""
    parts = [(0, first), *((importance(at, phrase), phrase) for at, phrase in enumerate(phrases))]
    text = SEPARATOR.join(phrase for _, phrase in parts)
    while width > 0 and cell_len(text) > width and len(parts) > 1:
        drop = max(range(1, len(parts)), key=lambda i: (parts[i][0], i))
        del parts[drop]
        text = SEPARATOR.join(phrase for _, phrase in parts)
    if width > 0 and cell_len(text) > width:
        text = text[: max(width - 1, 0)] + "…"
    return text
