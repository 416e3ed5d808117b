"""Input records for batch classification: lines, JSON lines, a JSON array, or .txt files.

Every input record yields exactly one Record, so the output can have exactly one
line per input even when some inputs are unusable (they carry an error). Nothing
about one record (deep JSON, a 5,000-digit number, an id or file name that is not
valid Unicode) can stop the others.

Sources are read in chunks. A regular file gives full chunks; a pipe, FIFO or
terminal gives whatever has arrived, so each result can be written as soon as its
line is in (`tail -f log | imdb-edge classify -`).
"""

from __future__ import annotations

import hashlib
import os
import select
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from imdb_edge.batch.errors import JobError
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.modelfile import safe_json
from imdb_edge.runtime.texts import empty_reason

DEFAULT_MAX_CHARS = 1_000_000
FORMATS = ("auto", "lines", "jsonl")
BOM = b"\xef\xbb\xbf"
CHUNK_RECORDS = 1024
_READ_BYTES = 1 << 16


@dataclass(slots=True)  # not frozen: a frozen dataclass costs 4x more to build, once per review
class Record:
    """One input: where it came from (`key`), its text, or why it has none."""

    key: str | int
    text: str | None
    error: str | None = None
    note: str | None = None


def check_text(key: str | int, text: str, max_chars: int = DEFAULT_MAX_CHARS) -> Record:
    """Empty text is an error; an over-long text is cut to `max_chars` with a note."""
    reason = empty_reason(text)
    if reason:
        return Record(key, None, reason)
    if len(text) > max_chars:
        return Record(key, text[:max_chars], note=f"{len(text)} characters, classified the first {max_chars}")
    return Record(key, text)


def is_valid_unicode(text: str) -> bool:
    """False for strings holding lone surrogates (from JSON escapes or undecodable file names)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decode(key: int, raw: bytes, max_chars: int) -> Record:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(key, None, f"not valid UTF-8 (byte {exc.start})")
    return check_text(key, text.rstrip("\r\n"), max_chars)


def _object_record(key: int, obj: Any, max_chars: int, what: str) -> Record:
    """A JSON value that should be {"text": ..., "id": ...} (or, in an array, a bare string)."""
    if isinstance(obj, str) and what == "item":
        return check_text(key, obj, max_chars)
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return Record(key, None, f'JSON {what} has no string field "text"')
    record_id = obj.get("id", key)
    if isinstance(record_id, bool) or not isinstance(record_id, (str, int)):
        record_id = key
    if isinstance(record_id, str) and not is_valid_unicode(record_id):
        return Record(key, None, 'the "id" is not valid Unicode (it holds a lone surrogate)')
    return check_text(record_id, obj["text"], max_chars)


def _jsonl_record(key: int, raw: bytes, max_chars: int) -> Record:
    if not raw.strip():
        return Record(key, None, "empty line")
    try:
        obj = safe_json.loads(raw)
    except safe_json.JsonRefused as exc:
        return Record(key, None, str(exc) if str(exc).startswith("malformed") else f"malformed JSON ({exc})")
    return _object_record(key, obj, max_chars, "line")


Parser = Callable[[int, bytes, int], Record]


def _line_chunks(lines: Iterator[list[bytes]], parse: Parser, max_chars: int, skip: int) -> Iterator[list[Record]]:
    number = 0
    for raw_lines in lines:
        chunk = []
        for raw in raw_lines:
            number += 1
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM) :]
            if number > skip:
                chunk.append(parse(number, raw, max_chars))
        if chunk:
            yield chunk


def _buffered_lines(stream: BinaryIO, size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for raw in stream:
        batch.append(raw)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _live_lines(fd: int, size: int) -> Iterator[list[bytes]]:
    """Lines as they arrive: block for the first bytes, then take only what is already there."""
    pending = b""
    at_end = False
    while not at_end:
        data = os.read(fd, _READ_BYTES)  # blocks; a stop signal interrupts it (batch/stop.py)
        at_end = not data
        lines = (pending + data).split(b"\n")
        pending = lines.pop()
        while not at_end and len(lines) < size and select.select([fd], [], [], 0)[0]:
            data = os.read(fd, _READ_BYTES)
            at_end = not data
            more = (pending + data).split(b"\n")
            pending = more.pop()
            lines.extend(more)
        if at_end and pending:
            lines.append(pending)
        for start in range(0, len(lines), size):
            yield [line + b"\n" for line in lines[start : start + size]]


def is_live(fd: int) -> bool:
    """A pipe, FIFO, socket or terminal: input that arrives over time."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


def file_identity(info: os.stat_result) -> dict[str, int]:
    return {"dev": info.st_dev, "ino": info.st_ino, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


@dataclass
class Source:
    """A validated input: its chunks of records, what it is (for --resume), which files it reads."""

    chunks: Callable[[int, int], Iterator[list[Record]]]  # (chunk size, records to skip)
    identity: dict[str, Any]
    files: list[tuple[int, int]] = field(default_factory=list)  # (st_dev, st_ino) of every file read
    live: bool = False
    label: str = "input"  # how warnings name a record: "line", "file", "item" or "input"


def _stream_source(handle: BinaryIO, fmt: str, max_chars: int, identity: dict[str, Any]) -> Source:
    parse: Parser = _jsonl_record if fmt == "jsonl" else _decode
    try:
        fd: int | None = handle.fileno()
    except (OSError, ValueError, AttributeError):  # an in-memory stream (tests, embedding apps)
        fd = None
    live = fd is not None and is_live(fd)
    files = []
    if fd is not None and not live:
        info = os.fstat(fd)
        files.append((info.st_dev, info.st_ino))
        identity = {**identity, **file_identity(info)}

    def chunks(size: int, skip: int) -> Iterator[list[Record]]:
        with handle:
            lines = _live_lines(fd, size) if live and fd is not None else _buffered_lines(handle, size)
            yield from _line_chunks(lines, parse, max_chars, skip)

    return Source(chunks, identity, files, live, "line")


def _folder_key(path: Path) -> tuple[str, str | None]:
    """The file name as a key, and an error if the name is not valid UTF-8 (shown escaped)."""
    if is_valid_unicode(path.name):
        return path.name, None
    escaped = os.fsencode(path.name).decode("utf-8", "backslashreplace")
    return escaped, "the file name is not valid UTF-8"


def _read_txt(path: Path, max_chars: int) -> Record:
    key, error = _folder_key(path)
    if error:
        return Record(key, None, error)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO named x.txt must not block the batch
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return Record(key, None, "not a regular file")
            raw = handle.read()
    except OSError as exc:
        return Record(key, None, f"cannot read ({exc.strerror})")
    try:
        text = raw.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(key, None, f"not valid UTF-8 (byte {exc.start})")
    return check_text(key, text, max_chars)


def _folder_source(folder: Path, max_chars: int) -> Source:
    paths = sorted(folder.glob("*.txt"))
    if not paths:
        raise ImdbEdgeError(f"the folder {folder} has no .txt files")
    info = folder.stat()
    identity = {"kind": "folder", "path": str(folder.resolve()), "dev": info.st_dev, "ino": info.st_ino}
    identity.update(files=len(paths), mtime_ns=info.st_mtime_ns)

    def chunks(size: int, skip: int) -> Iterator[list[Record]]:
        todo = paths[skip:]
        for start in range(0, len(todo), size):
            yield [_read_txt(path, max_chars) for path in todo[start : start + size]]

    def stat_or_none(path: Path) -> tuple[int, int] | None:
        try:
            result = path.stat()
        except OSError:
            return None
        return (result.st_dev, result.st_ino)

    files = [key for key in map(stat_or_none, paths) if key is not None]
    return Source(chunks, identity, files, False, "file")


def _json_array_source(path: Path, handle: BinaryIO, max_chars: int, identity: dict[str, Any]) -> Source:
    """A .json file holding one array of strings or {"text", "id"} objects."""
    with handle:
        raw = handle.read()
    try:
        items = safe_json.loads(raw.removeprefix(BOM))
    except safe_json.JsonRefused as exc:
        raise ImdbEdgeError(f"{path}: not a readable JSON array ({exc})") from None
    if not isinstance(items, list):
        raise ImdbEdgeError(f"{path}: a .json input must hold an array of texts or objects, or JSON Lines")

    def chunks(size: int, skip: int) -> Iterator[list[Record]]:
        records = [_object_record(n, item, max_chars, "item") for n, item in enumerate(items[skip:], start=skip + 1)]
        for start in range(0, len(records), size):
            yield records[start : start + size]

    return Source(chunks, identity, [], False, "item")


def _starts_with_array(handle: BinaryIO) -> bool:
    head = handle.peek(4096)[:4096] if hasattr(handle, "peek") else b""  # type: ignore[attr-defined]
    return head.removeprefix(BOM).lstrip().startswith(b"[")


def detect_format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    return "jsonl" if path.endswith((".jsonl", ".ndjson", ".json")) else "lines"


def open_source(source: str, fmt: str = "auto", max_chars: int = DEFAULT_MAX_CHARS) -> Source:
    """Open and check a file, a folder of .txt files, or '-' (stdin); errors here touch no output."""
    if fmt not in FORMATS:
        raise ImdbEdgeError(f"unknown input format {fmt!r}; choose from {', '.join(FORMATS)}")
    if source == "-":
        return _stream_source(sys.stdin.buffer, detect_format("", fmt), max_chars, {"kind": "stdin"})
    path = Path(source)
    try:
        if path.is_dir():
            if fmt != "auto":
                raise JobError("{format} applies to files and stdin, not to a folder of .txt files")
            return _folder_source(path, max_chars)
        handle = path.open("rb")  # a FIFO blocks here until a writer opens it; a stop signal interrupts
    except FileNotFoundError:
        raise ImdbEdgeError(f"input file {path} does not exist") from None
    except OSError as exc:
        raise ImdbEdgeError(f"cannot read {path}: {exc.strerror or exc}") from None
    identity = {"kind": "file", "path": str(path.resolve())}
    if source.endswith(".json") and fmt == "auto" and _starts_with_array(handle):  # type: ignore[arg-type]
        info = os.fstat(handle.fileno())
        result = _json_array_source(path, handle, max_chars, {**identity, **file_identity(info)})  # type: ignore[arg-type]
        result.files.append((info.st_dev, info.st_ino))
        return result
    return _stream_source(handle, detect_format(source, fmt), max_chars, identity)  # type: ignore[arg-type]


def text_source(texts: Iterable[str], max_chars: int = DEFAULT_MAX_CHARS) -> Source:
    """Records of texts given on the command line, keyed 1, 2, ... A leading byte-order mark (what a Windows
    clipboard or shell can put in front) is dropped, as it is from files: it would stick to the first word."""
    texts = [text.removeprefix("\ufeff") for text in texts]
    records = [check_text(number, text, max_chars) for number, text in enumerate(texts, start=1)]
    digest = hashlib.sha256("\0".join(texts).encode("utf-8", "surrogatepass")).hexdigest()

    def chunks(size: int, skip: int) -> Iterator[list[Record]]:
        for start in range(skip, len(records), size):
            yield records[start : start + size]

    return Source(chunks, {"kind": "arguments", "count": len(records), "sha256": digest}, [], False, "input")
