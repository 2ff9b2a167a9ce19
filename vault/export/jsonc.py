"""JSON with comments (JSONC), read and edited with every comment kept.

VS Code's ``mcp.json``, Zed's ``settings.json`` (its first-run file is all comments above
the settings) and any hand-kept agent config may hold ``//`` and ``/* */`` comments and
trailing commas.  Parsing is json-five's (``json5``): its model keeps every comment and every
run of whitespace, and dumping an unchanged model gives the text back byte for byte.

An edit is made on the model, not by re-serialising the data: :func:`edit` walks the old
and the new value side by side and changes only the nodes whose value changed; every
other node, with the comments and whitespace around it, is dumped as it was read.  New
values are laid out as ``json.dumps(indent=...)`` would (the indent guessed from the file),
placed at their depth.

The model accepts JSON5, which is wider than JSONC: single-quoted strings, bare keys, hex
numbers, ``NaN``/``Infinity``.  VS Code and Zed refuse those, so :func:`parse` does too, with
the line and column, as it does any other text that is not JSONC.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from json5.dumper import ModelDumper
from json5.model import (
    BooleanLiteral,
    Comment,
    DoubleQuotedString,
    Float,
    Integer,
    JSONArray,
    JSONObject,
    JSONText,
    Key,
    Node,
    NullLiteral,
    UnaryOp,
    Value,
)
from json5.parser import parse_source
from json5.utils import JSON5DecodeError

from vault.core.outside import MAX_DEPTH, TooDeep, Unparsable

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


class NotJsonc(Unparsable):
    """Text that is not JSONC; ``reason`` ends with the line and column."""


@dataclass
class Document:
    """A parsed JSONC file: its model (comments and whitespace included) and its plain value."""

    model: JSONText
    data: Any


def parse(
    text: str, *, pairs: Callable[[list[tuple[str, Any]]], Any] = dict, number: Callable[[str], Any] = float
) -> Document:
    """The JSONC document in ``text``.

    Args:
        pairs: builds an object from its key/value pairs, in order (it may refuse a key given twice).
        number: reads a number with a fraction or exponent (it may refuse one too large).

    Raises:
        NotJsonc: not JSONC (with the line and column), or JSON5 syntax JSONC readers refuse.
        TooDeep: nested past :data:`~vault.core.outside.MAX_DEPTH`.
        Exceptions ``pairs`` and ``number`` raise pass through.
    """
    try:
        model = parse_source(text)
    except JSON5DecodeError as exc:
        raise NotJsonc(f"is not valid JSON or JSONC ({_where(text, _offset(exc, text))})") from None
    except RecursionError:  # pragma: no cover - the parser is table driven; kept so none leaks
        raise TooDeep(MAX_DEPTH) from None
    _check_depth(model.value)
    return Document(model, _to_python(model.value, text, pairs, number))


def dump(doc: Document) -> str:
    """The document's text: byte for byte what was read, but for the nodes :func:`edit` changed."""
    dumper = ModelDumper()
    dumper.dump(doc.model)
    dumper.env.outfile.seek(0)
    return dumper.env.outfile.read()


def edit(doc: Document, new: Any) -> None:
    """Make the document hold ``new`` (a JSON value), changing only what differs from ``doc.data``.

    Object keys keep their place, comments and spacing; a new key goes last; a removed key
    goes with the whitespace before it (a comment before it is kept, for the next key).
    Arrays are changed element by element when only elements are appended or replaced,
    and rewritten whole otherwise.
    """
    root = doc.model.value
    if not _same(doc.data, new):
        doc.model.value = _sync(root, doc.data, new, _indent_of(root, doc), "")
    doc.data = copy.deepcopy(new)


# ------------------------------------------------------------------- reading


def _offset(exc: JSON5DecodeError, text: str) -> int:
    token = exc.token
    if token is not None and getattr(token, "index", None) is not None:
        return int(token.index)
    found = re.search(r"at index (\d+)", exc.msg)
    return int(found.group(1)) if found else len(text)


def _where(text: str, offset: int) -> str:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _check_depth(root: Value) -> None:
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values if isinstance(node, JSONObject | JSONArray) else []
        if children and depth >= MAX_DEPTH:
            raise TooDeep(MAX_DEPTH)
        stack.extend((child, depth + 1) for child in children)


def _to_python(
    node: Node, text: str, pairs: Callable[[list[tuple[str, Any]]], Any], number: Callable[[str], Any]
) -> Any:
    if isinstance(node, JSONObject):
        items: list[tuple[str, Any]] = []
        for key, value in node.key_value_pairs:
            if not isinstance(key, DoubleQuotedString):
                raise _json5_only(key, text, "a key not in double quotes")
            items.append((key.characters, _to_python(value, text, pairs, number)))
        return pairs(items)
    if isinstance(node, JSONArray):
        return [_to_python(value, text, pairs, number) for value in node.values]
    if isinstance(node, DoubleQuotedString):
        return node.characters
    if isinstance(node, BooleanLiteral):
        return node.value
    if isinstance(node, NullLiteral):
        return None
    if isinstance(node, UnaryOp) and node.op == "-" and isinstance(node.value, Integer | Float):
        return -_number(node.value, text, number)
    if isinstance(node, Integer | Float):
        return _number(node, text, number)
    raise _json5_only(node, text, "JSON5 syntax (a single-quoted string, NaN, Infinity or a leading +)")


def _number(node: Integer | Float, text: str, number: Callable[[str], Any]) -> Any:
    raw = node.raw_value
    if not _JSON_NUMBER.fullmatch(raw):
        raise _json5_only(node, text, "a number JSON does not allow (hex, a leading or trailing dot)")
    try:
        return int(raw) if isinstance(node, Integer) and re.fullmatch(r"-?[0-9]+", raw) else number(raw)
    except ValueError:  # an integer past Python's digit limit
        raise Unparsable("has a number too long to read") from None


def _json5_only(node: Node, text: str, what: str) -> NotJsonc:
    token = getattr(node, "_tok", None)
    offset = getattr(token, "index", None)
    where = _where(text, offset) if isinstance(offset, int) else "somewhere"
    return NotJsonc(f"is not valid JSON or JSONC: {what} at {where}")


# ------------------------------------------------------------------- editing


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: ``1`` is not ``1.0`` nor ``True``, and key order counts."""
    return type(a) is type(b) and json.dumps(a) == json.dumps(b)


def _indent_of(root: Value, doc: Document) -> str:
    """The file's indent step: the whitespace before the first key of the top object, else two spaces."""
    if isinstance(root, JSONObject | JSONArray) and root.values:
        first = _line_indent(root.leading_wsc)
        if first:
            return first
    return "  "


def _line_indent(wsc: list[str | Comment]) -> str | None:
    """The indentation that ends ``wsc`` when it ends a line's start (``"\\n    "`` -> ``"    "``)."""
    last = wsc[-1] if wsc else None
    if isinstance(last, str) and "\n" in last:
        return last.rsplit("\n", 1)[1]
    return None


_ESCAPE = re.compile(r"\\.")
"""One escape of JSON text (matched from the left, so ``\\\\`` is one)."""


def _json_text(value: Any, **layout: Any) -> str:
    """``json.dumps(value)``; where that holds a backslash before an ``x``, every backslash is
    written ``\\u005c`` instead (the same string): json-five reads ``"\\\\x"`` as a ``\\x``
    escape and refuses it, so ``{"\\\\x": 1}`` would not read back."""
    text = json.dumps(value, ensure_ascii=False, **layout)
    if "\\x" not in text:
        return text
    return _ESCAPE.sub(lambda m: "\\u005c" if m.group(0) == "\\\\" else m.group(0), text)


def _fresh(value: Any, step: str, here: str) -> Value:
    """A new node for ``value``, laid out as ``json.dumps(indent=step)`` at the indentation ``here``."""
    text = _json_text(value, indent=step).replace("\n", "\n" + here)
    node = parse_source(text).value
    node.wsc_before, node.wsc_after = [], []
    return node


def _sync(node: Value, old: Any, new: Any, step: str, here: str) -> Value:
    """``node`` (holding ``old``, indented by ``here``) changed to hold ``new``; returns the node to keep."""
    if isinstance(node, JSONObject) and isinstance(old, dict) and isinstance(new, dict):
        _sync_object(node, old, new, step, here)
        return node
    if (
        isinstance(node, JSONArray)
        and isinstance(old, list)
        and isinstance(new, list)
        and _sync_array(node, old, new, step, here)
    ):
        return node
    fresh = _fresh(new, step, here)
    fresh.wsc_before, fresh.wsc_after = node.wsc_before, node.wsc_after
    return fresh


def _comments(wsc: list[str | Comment]) -> list[str | Comment]:
    return [item for item in wsc if isinstance(item, Comment)]


def _closing(node: JSONObject | JSONArray) -> list[str | Comment]:
    """Take the whitespace before the closing bracket off where it is (trailing comma or last value)."""
    if node.trailing_comma is not None:
        wsc, node.trailing_comma.wsc_after = node.trailing_comma.wsc_after, []
    elif node.values:
        wsc, node.values[-1].wsc_after = node.values[-1].wsc_after, []
    else:
        wsc, node.leading_wsc = node.leading_wsc, []
    return wsc


def _split_trailer(wsc: list[str | Comment]) -> tuple[list[str | Comment], list[str | Comment]]:
    """A comment on the last item's line (``"a": 1, // why``) apart from the rest of ``wsc``:
    it stays with that item when others are added after it."""
    for i, item in enumerate(wsc):
        if isinstance(item, str) and "\n" in item:
            head, _, tail = item.partition("\n")
            trailer = [*wsc[:i], *([head] if head else [])]
            if any(isinstance(each, Comment) for each in trailer):
                return trailer, ["\n" + tail, *wsc[i + 1 :]]
            break
    return [], wsc


def _put_closing(node: JSONObject | JSONArray, wsc: list[str | Comment]) -> None:
    if not node.values:
        node.trailing_comma = None
        node.leading_wsc = wsc
    elif node.trailing_comma is not None:
        node.trailing_comma.wsc_after = wsc
    else:
        node.values[-1].wsc_after = wsc


def _item_layout(
    node: JSONObject | JSONArray, items: Sequence[Node], here: str, step: str
) -> tuple[list[str | Comment], str]:
    """The whitespace before a new item, and its indentation: as the items there, else one step in."""
    for wsc in [*(item.wsc_before for item in items[1:]), node.leading_wsc]:
        indent = _line_indent(wsc)
        if indent is not None:
            return ["\n" + indent], indent
    if items:  # all on one line: keep it so
        return [" "], here + step
    return ["\n" + here + step], here + step


def _with_comments(carried: list[str | Comment], indent: str, wsc: list[str | Comment]) -> list[str | Comment]:
    """``wsc`` preceded by ``carried`` comments, each on a line of its own at ``indent``."""
    if not carried:
        return wsc
    out: list[str | Comment] = []
    for comment in carried:
        out += ["\n" + indent, comment]
    first = wsc[0] if wsc else ""
    return [*out, *(wsc if isinstance(first, str) and "\n" in first else ["\n" + indent, *_strip_blank(wsc)])]


def _strip_blank(wsc: list[str | Comment]) -> list[str | Comment]:
    """``wsc`` without the spaces it starts with."""
    if wsc and isinstance(wsc[0], str) and not wsc[0].strip():
        return wsc[1:]
    return wsc


def _sync_object(node: JSONObject, old: dict[str, Any], new: dict[str, Any], step: str, here: str) -> None:
    closing = _closing(node)
    empty = not node.keys
    before_new, indent = _item_layout(node, node.keys, here, step)
    pairs = dict(zip(old, node.key_value_pairs, strict=True))
    leading = node.leading_wsc
    keys: list[Key] = []
    values: list[Value] = []
    carried: list[str | Comment] = []  # comments above (or beside) a removed key, for what follows it
    for position, (name, (key, value)) in enumerate(pairs.items()):
        if name not in new:
            carried += _comments(key.wsc_before if position else [])
            continue
        if not keys and position:  # it comes first now: what was before it goes after the leading space
            leading = [*leading, *_with_comments(carried, indent, _strip_blank(key.wsc_before))]
            key.wsc_before = []
        elif keys:
            key.wsc_before = _with_comments(carried, indent, key.wsc_before)
        carried = []
        keys.append(key)
        values.append(value if _same(old[name], new[name]) else _sync(value, old[name], new[name], step, indent))
    trailer, closing = _split_trailer(closing) if keys else ([], closing)
    for name in new:
        if name in pairs:
            continue
        key = DoubleQuotedString(name, raw_value=_json_text(name))
        key.wsc_before, trailer = [*trailer, *before_new], []
        value = _fresh(new[name], step, indent)
        value.wsc_before = [" "]
        if not keys:
            leading, key.wsc_before = (_with_comments(_comments(closing), indent, before_new) if empty else leading), []
        keys.append(key)
        values.append(value)
    closing = [*trailer, *closing]  # nothing added after the last item: its comment stays with it
    names = [name for name in pairs if name in new] + [name for name in new if name not in pairs]
    if names != list(new):  # a key renamed where it stood: the pairs in the new order
        by_name = dict(zip(names, zip(keys, values, strict=True), strict=True))
        keys = [by_name[name][0] for name in new]
        values = [by_name[name][1] for name in new]
        for i, key in enumerate(keys):
            key.wsc_before = [] if i == 0 else (key.wsc_before or list(before_new))
        if not leading:
            leading = list(before_new) if "\n" in str(before_new[0]) else []
    node.leading_wsc = leading
    node.keys, node.values = keys, values
    if empty and keys:
        closing = ["\n" + here]
    elif not keys:
        node.trailing_comma = None
        node.leading_wsc = []
        kept = _comments(leading) + carried
        closing = _with_comments(kept, indent, closing) if kept else []
    else:
        closing = _with_comments(carried, indent, closing)
    _put_closing(node, closing)


def _sync_array(node: JSONArray, old: list[Any], new: list[Any], step: str, here: str) -> bool:
    """Change ``node`` in place when ``new`` only appends to or replaces elements of ``old``;
    False when it must be rewritten whole."""
    if len(new) < len(old):
        return False
    closing = _closing(node)
    before_new, indent = _item_layout(node, node.values, here, step)
    empty = not node.values
    for i, (was, now) in enumerate(zip(old, new, strict=False)):
        if not _same(was, now):
            node.values[i] = _sync(node.values[i], was, now, step, indent)
    trailer, closing = _split_trailer(closing) if node.values else ([], closing)
    for value in new[len(old) :]:
        fresh = _fresh(value, step, indent)
        fresh.wsc_before, trailer = [*trailer, *before_new], []
        if not node.values:
            node.leading_wsc, fresh.wsc_before = fresh.wsc_before, []
        node.values.append(fresh)
    closing = [*trailer, *closing]
    if empty and node.values:
        closing = ["\n" + here] if "\n" in "".join(w for w in node.leading_wsc if isinstance(w, str)) else []
    _put_closing(node, closing)
    return True
