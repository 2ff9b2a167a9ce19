"""vault.export.jsonc: edits of a JSONC model change only what they change, and always read
back as the value they were asked to write."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core.outside import Unparsable
from vault.export import jsonc

COMMENTED = """// top
{
\t"a": 1, // beside a
\t/* above b */
\t"b": {"c": [1, 2,],},
\t"d": {
\t\t"e": true,
\t},
}
"""


def edited(text: str, change: Any) -> str:
    doc = jsonc.parse(text)
    new = copy.deepcopy(doc.data)
    change(new)
    jsonc.edit(doc, new)
    out = jsonc.dump(doc)
    assert jsonc.parse(out).data == new
    return out


def test_unchanged_is_byte_identical() -> None:
    assert edited(COMMENTED, lambda d: None) == COMMENTED


def test_a_new_key_takes_the_files_indent() -> None:
    out = edited(COMMENTED, lambda d: d["d"].update(f={"g": [1]}))
    assert '\t\t"e": true,\n\t\t"f": {\n\t\t\t"g": [\n\t\t\t\t1\n\t\t\t]\n\t\t},\n\t},' in out
    assert out.startswith('// top\n{\n\t"a": 1, // beside a\n\t/* above b */\n')


def test_a_removed_key_leaves_its_comments() -> None:
    out = edited(COMMENTED, lambda d: d.pop("b"))
    assert "/* above b */" in out and "// beside a" in out and '"c"' not in out


def test_removing_every_key() -> None:
    assert jsonc.parse(edited(COMMENTED, lambda d: d.clear())).data == {}


def test_a_renamed_key_stays_where_it_was() -> None:
    def rename(d: dict[str, Any]) -> None:
        items = [("z" if k == "b" else k, v) for k, v in d.items()]
        d.clear()
        d.update(items)

    assert list(jsonc.parse(edited(COMMENTED, rename)).data) == ["a", "z", "d"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("{\n  'a': 1\n}", "line 2, column 3"),
        ('{"a": 0x1F}', "line 1, column 7"),
        ('{"a": [1 2]}', "line 1, column 10"),
    ],
)
def test_not_jsonc_says_where(text: str, where: str) -> None:
    with pytest.raises(Unparsable) as caught:
        jsonc.parse(text)
    assert where in caught.value.reason and "\n" not in caught.value.reason


def test_nesting_is_bounded() -> None:
    with pytest.raises(Unparsable, match="nested too deeply"):
        jsonc.parse("[" * 100 + "]" * 100)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=5), json_values, max_size=4))
def test_any_new_value_reads_back(new: dict[str, Any]) -> None:
    doc = jsonc.parse(COMMENTED)
    jsonc.edit(doc, new)
    out = jsonc.dump(doc)
    assert json.dumps(jsonc.parse(out).data) == json.dumps(new)
    if "a" in new and "b" in new:
        assert "// beside a" in out


@pytest.mark.parametrize("new", [{"\\x": None}, {"a": "\\x41"}, {"k": ["\\\\x", 'q\\"x', "\\u"]}])
def test_a_backslash_before_an_x_reads_back(new: dict[str, Any]) -> None:
    """json-five takes an escaped backslash before an ``x`` for a ``\\x`` escape (hypothesis found
    ``{"\\\\x": null}`` written and then refused); such text is written with ``\\u005c``."""
    doc = jsonc.parse(COMMENTED)
    jsonc.edit(doc, new)
    assert jsonc.parse(jsonc.dump(doc)).data == new
