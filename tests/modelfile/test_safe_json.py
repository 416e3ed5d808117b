"""safe_json's depth limit holds wherever the deep part hides, including after many plain items."""

from __future__ import annotations

import pytest

from imdb_edge import safe_json


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_long_list_of_strings_is_read() -> None:
    words = [f"w{i}" for i in range(200_000)]
    text = '{"vocabulary": [' + ",".join(f'"{w}"' for w in words) + "]}"
    assert safe_json.loads(text)["vocabulary"] == words


@pytest.mark.parametrize("where", ["first", "last", "inside an object"])
def test_deep_nesting_after_many_strings_is_refused(where: str) -> None:
    plain = ",".join('"x"' for _ in range(10_000))
    deep = _nested(safe_json.MAX_DEPTH + 1)
    if where == "inside an object":
        deep = '{"a": ' + deep + "}"
    text = f"[{deep},{plain}]" if where == "first" else f"[{plain},{deep}]"
    with pytest.raises(safe_json.JsonRefused, match="nested deeper"):
        safe_json.loads(text)


def test_nesting_at_the_limit_is_read() -> None:
    assert safe_json.loads('["x", ' + _nested(safe_json.MAX_DEPTH - 1) + "]")[0] == "x"
