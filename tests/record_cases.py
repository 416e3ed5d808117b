"""One table of inputs and what each is, for `classify` and for Spark: both must give these answers.

Each case is a raw line (bytes, without its newline) and the result every front end must give:
a label ("positive"/"negative", by the tiny test model) or the start of an error message.
"""

from __future__ import annotations

JSONL_CASES: list[tuple[bytes, str]] = [
    (b'{"text": "a wonderful excellent film"}', "positive"),
    (b'{"id": "r2", "text": "boring awful waste"}', "negative"),
    (b'{"text": "ignored", "text": "boring awful waste"}', "negative"),  # a repeated key: its last value
    (b'{"text": 5}', 'error\tJSON line has no string field "text"'),
    (b'{"text": ["awful"]}', 'error\tJSON line has no string field "text"'),
    (b'{"text": {"a": "b"}}', 'error\tJSON line has no string field "text"'),
    (b'{"id": 7}', 'error\tJSON line has no string field "text"'),
    (b'["a wonderful film"]', 'error\tJSON line has no string field "text"'),
    (b"not json at all", "error\tmalformed JSON"),
    (b"", "error\tempty line"),
    (b"   ", "error\tempty line"),
    (b'{"text": ""}', "error\tempty text"),
    (b'{"text": "  \\t "}', "error\ttext is only whitespace"),
    (b'{"text": "bad \xff byte"}', "error\tmalformed JSON"),
    (b'{"text": "superb", "n": ' + b"9" * 50 + b"}", "error\tmalformed JSON (a number has 50 characters"),
    (b"[" * 100 + b"]" * 100, "error\tmalformed JSON (nested deeper than 64 levels)"),
    (b'{"text": "a wonderful \\u0000 film"}', "positive"),
]

LINE_CASES: list[tuple[bytes, str]] = [
    (b"a wonderful excellent film", "positive"),
    (b"boring awful waste\r", "negative"),  # a Windows line end
    (b"", "error\tempty text"),
    (b" \t ", "error\ttext is only whitespace"),
    (b"bad \xff bytes", "error\tnot valid UTF-8 (byte 4)"),
    (b"a\x00w\x00f\x00u\x00l", "error\tholds NUL bytes"),  # what a UTF-16 line looks like
]


def matches(line: str, expected: str) -> bool:
    """Whether an output line (`label<TAB>score` or `error<TAB>reason`) is the expected result."""
    if expected.startswith("error\t"):
        return line.startswith(expected)
    return line.split("\t")[0] == expected
