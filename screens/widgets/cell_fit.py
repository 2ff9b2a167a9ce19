"""The list's table's columns, and how it fits text to its cells and keeps it readable: names cut in the middle
(so the end that tells two names apart stays), and the cursor row's colours checked against
the cursor's background."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int = 0
    """Cells of the text (padding not included); 0: as wide as the widest cell (:meth:`CredentialTable.fit`)."""
    gives_way: int = 0
    """Where the table is too narrow, fitted columns are narrowed in this order (the lowest
    first): first down to :data:`COMFORTABLE` cells, then down to their label; a column with
    ``gives_way`` of :data:`NEVER` keeps its measured width (a status word is never cut)."""
    middle: bool = False
    """Cut in the middle (``corp-sso-…-eu-prod``) rather than at the end: the end of a name is
    often what tells it from its neighbours."""


NEVER = 99
"""A :attr:`Column.gives_way` that keeps the column as wide as its widest cell."""
COMFORTABLE = 14
"""Cells a fitted column keeps while others can still give way."""


def middle_cut(text: str, width: int, tail: int) -> str:
    """``text`` in ``width`` cells: its start, an ellipsis, and its last ``tail`` characters."""
    if len(text) <= width:
        return text
    tail = max(0, min(tail, width - 1))
    head = width - 1 - tail
    return text[:head] + "…" + (text[-tail:] if tail else "")


def distinct_tail(texts: list[str], width: int) -> int:
    """How many characters a middle cut to ``width`` keeps from the end: three fifths of it,
    or the nearest count that tells every one of ``texts`` apart (if one does)."""
    preferred = (width - 1) * 3 // 5
    long = [t for t in texts if len(t) > width]
    if len(long) < 2:
        return preferred
    ordered = sorted(range(width), key=lambda tail: abs(tail - preferred))
    for tail in ordered:
        seen: set[str] = set()
        for text in long:
            shown = middle_cut(text, width, tail)
            if shown in seen:
                break
            seen.add(shown)
        else:
            if not seen.intersection(t for t in texts if len(t) <= width):
                return tail
    return preferred


READABLE = 3.0
"""The least contrast (WCAG's ratio) a word keeps on the cursor row."""


def _luminance(colour: Color) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c / 255) for c in colour.get_truecolor())
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fore: Color, back: Color) -> float:
    """WCAG's contrast ratio of two colours (1 to 21)."""
    high, low = sorted((_luminance(fore), _luminance(back)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable(segments: Iterable[Segment], row: Style) -> list[Segment]:
    """The cursor row's segments, each in its own colour where that reads on the cursor's
    background, else in the cursor's foreground (red on blue does not read): the status word
    stays bold, so it still stands out."""
    back, fore = row.bgcolor, row.color
    out: list[Segment] = []
    for segment in segments:
        style = segment.style
        colour = None if style is None else style.color
        if (
            back is not None
            and fore is not None
            and colour is not None
            and colour != fore
            and segment.text.strip()
            and contrast(colour, back) < READABLE
        ):
            segment = Segment(segment.text, (style or Style()) + Style(color=fore), segment.control)
        out.append(segment)
    return out


def with_note(strip: Strip, note: str, style: Style, pad: int = 1) -> Strip:
    """A header line with ``note`` at its right, over blank cells only; where it does not fit,
    its first words are left out (``grouped by provider``, ``by provider``), else all of it."""
    text = strip.text
    words = note.split()
    for first in range(max(len(words) - 1, 1)):
        shown = " ".join(words[first:]) + " " * pad
        start = len(text) - len(shown)
        if start > 0 and not text[start - 1 :].strip():
            return Strip([*strip.crop(0, start), Segment(shown, style + Style(bold=False, italic=True))], len(text))
    return strip
