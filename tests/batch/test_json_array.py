"""The streamed JSON array reader: the same items as json.loads, whatever the window size cuts through."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge.batch import json_array

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(JSON_VALUES, max_size=8), window=st.integers(1, 9), spaced=st.booleans())
def test_items_are_json_loads_items_for_any_window(items: list, window: int, spaced: bool) -> None:
    text = json.dumps(items, indent=1 if spaced else None, ensure_ascii=False).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_array, "READ_BYTES", window)
        found = [json.loads(item.data) for item in json_array.iter_items(io.BytesIO(text), cap=1 << 20)]  # type: ignore[arg-type]
    assert found == items


def test_an_item_over_the_cap_is_skipped_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_array, "READ_BYTES", 7)
    text = json.dumps(["short", {"text": "x" * 500, "nested": ['"]', "\\"]}, 3]).encode()
    items = list(json_array.iter_items(io.BytesIO(text), cap=100))
    assert [item.data for item in items] == [b'"short"', None, b"3"]
    assert items[1].size > 500


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b'{"text": "not an array"}', "does not start with \\["),
        (b'["a" "b"]', "expected , or ]"),
        (b'["a",]', "expected a value"),
        (b'["a"] trailing', "something follows the array"),
        (b'["unterminated', "ends inside a value"),
        (b"[1, 2", "expected , or ]"),
    ],
)
def test_what_is_not_one_array_is_refused(text: bytes, where: str) -> None:
    with pytest.raises(json_array.NotAnArray, match=where):
        json_array.check_array(io.BytesIO(text), cap=1 << 20)  # type: ignore[arg-type]
