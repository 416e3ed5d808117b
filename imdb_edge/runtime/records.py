"""Input records for batch classification: one per line, JSON line, or .txt file.

Every input record yields exactly one Record, so the output can have exactly one
line per input line even when some inputs are unusable (they carry an error).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from imdb_edge.errors import ImdbEdgeError

DEFAULT_MAX_CHARS = 1_000_000
FORMATS = ("auto", "lines", "jsonl")


@dataclass(frozen=True)
class Record:
    """One input: where it came from (`key`), its text, or why it has none."""

    key: str | int
    text: str | None
    error: str | None = None
    note: str | None = None


def empty_reason(text: str) -> str | None:
    """Why `text` cannot be classified (nothing in it), or None: one rule for the CLI and the API."""
    if not text:
        return "empty text"
    return "text is only whitespace" if text.isspace() else None  # isspace() stops at the first letter


def check_text(key: str | int, text: str, max_chars: int = DEFAULT_MAX_CHARS) -> Record:
    """Empty text is an error; an over-long text is cut to `max_chars` with a note."""
    reason = empty_reason(text)
    if reason:
        return Record(key, None, reason)
    if len(text) > max_chars:
        return Record(key, text[:max_chars], note=f"{len(text)} characters, classified the first {max_chars}")
    return Record(key, text)


def _decode(key: int, raw: bytes, max_chars: int) -> Record:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(key, None, f"not valid UTF-8 (byte {exc.start})")
    return check_text(key, text.rstrip("\r\n"), max_chars)


def _jsonl_record(key: int, raw: bytes, max_chars: int) -> Record:
    if not raw.strip():
        return Record(key, None, "empty line")
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Record(key, None, f"malformed JSON ({exc.__class__.__name__}: {str(exc).splitlines()[0]})")
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return Record(key, None, 'JSON line has no string field "text"')
    record_id = obj["id"] if isinstance(obj.get("id"), (str, int)) else key
    return check_text(record_id, obj["text"], max_chars)


def iter_stream(stream: BinaryIO, fmt: str, max_chars: int, skip: int = 0) -> Iterator[Record]:
    """Records of a byte stream, keyed by 1-based line number; the first `skip` are passed over."""
    parse = _jsonl_record if fmt == "jsonl" else _decode
    for number, raw in enumerate(stream, start=1):
        if number > skip:
            yield parse(number, raw, max_chars)


def iter_folder(folder: Path, max_chars: int, skip: int = 0) -> Iterator[Record]:
    """Every .txt file of a folder (sorted by name), keyed by file name."""
    for path in sorted(folder.glob("*.txt"))[skip:]:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            yield Record(path.name, None, f"cannot read ({exc.strerror})")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Record(path.name, None, f"not valid UTF-8 (byte {exc.start})")
            continue
        yield check_text(path.name, text, max_chars)


def detect_format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    return "jsonl" if path.endswith((".jsonl", ".ndjson")) else "lines"


def iter_source(source: str, fmt: str = "auto", max_chars: int = DEFAULT_MAX_CHARS, skip: int = 0) -> Iterator[Record]:
    """Records from a file, a folder of .txt files, or '-' (stdin)."""
    if fmt not in FORMATS:
        raise ImdbEdgeError(f"unknown input format {fmt!r}; choose from {', '.join(FORMATS)}")
    if source == "-":
        yield from iter_stream(sys.stdin.buffer, detect_format("", fmt), max_chars, skip)
        return
    path = Path(source)
    if path.is_dir():
        yield from iter_folder(path, max_chars, skip)
        return
    if not path.exists():
        raise ImdbEdgeError(f"input file {path} does not exist")
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ImdbEdgeError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        yield from iter_stream(handle, detect_format(source, fmt), max_chars, skip)


def iter_texts(texts: Iterable[str], max_chars: int = DEFAULT_MAX_CHARS) -> Iterator[Record]:
    """Records of texts given on the command line, keyed 1, 2, ..."""
    for number, text in enumerate(texts, start=1):
        yield check_text(number, text, max_chars)
