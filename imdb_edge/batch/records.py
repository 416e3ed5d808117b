"""Input records for batch classification: lines, JSON lines, a JSON array, or a folder of .txt files.

Every input record yields exactly one Record, so the output can have exactly one
line per input even when some inputs are unusable (they carry an error). Nothing
about one record (deep JSON, a 5,000-digit number, an id or file name that is not
valid Unicode, a 5 GB line) can stop the others: each is read in memory bounded by
`max_chars` (line_reader.py, json_array.py), and one that is longer is cut with a
note or, for JSON, becomes an error.

Sources are read in chunks. A regular file gives full chunks; a pipe, FIFO or
terminal gives whatever has arrived, so each result can be written as soon as its
line is in (`tail -f log | imdb-edge classify -`).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from imdb_edge import console, safe_json
from imdb_edge.batch import json_array
from imdb_edge.batch.errors import JobError
from imdb_edge.batch.line_reader import RawLine, buffered_lines, decode_cut, live_lines
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.texts import empty_reason

DEFAULT_MAX_CHARS = 1_000_000
MAX_CHARS_LIMIT = 10_000_000
"""The largest --max-chars: a record is read up to 4 bytes a character (40 MB here) and vectorized whole, so
this bounds one record's memory; a review is a few thousand characters."""
FORMATS = ("auto", "lines", "jsonl")
DEFAULT_ENCODING = "utf-8"
BOM = b"\xef\xbb\xbf"
CHUNK_RECORDS = 1024
CHUNK_BYTES = 4 << 20
"""A chunk ends at CHUNK_RECORDS records or once its texts hold this many bytes (as Python keeps them), so a
chunk of long records is a few records, not a thousand (a job's memory: batch/engine.py)."""
FOREIGN_BOMS = {
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
"""Byte-order marks of encodings whose text is not ASCII-compatible: such a file read as UTF-8 gave the
model's bias for every line (NUL bytes between the letters)."""
FOLDER_ORDER = "natural-recursive-v1"
"""How a folder's files are ordered (sub-folders included, numbers by value): part of its identity, so
a resume never continues an output written in another order."""


@dataclass(slots=True)  # not frozen: a frozen dataclass costs 4x more to build, once per review
class Record:
    """One input: its `position` (line, item or file number, from 1), its `key` (an id the input gives it,
    or the position), its text, or why it has none."""

    key: str | int
    text: str | None
    error: str | None = None
    note: str | None = None
    position: int = 0


def byte_cap(max_chars: int) -> int:
    """The bytes a line may hold to give `max_chars` characters (UTF-8: at most 4 a character)."""
    return 4 * max_chars + 4


def json_cap(max_chars: int) -> int:
    """The bytes a JSON record may hold: `max_chars` characters escaped (6 bytes each) and room for its id."""
    return 6 * max_chars + (1 << 16)


def check_text(
    key: str | int, text: str, max_chars: int = DEFAULT_MAX_CHARS, cut: bool = False, characters: int = 0
) -> Record:
    """Empty text is an error; an over-long text is cut to `max_chars` with a note. `cut`: the reader already
    stopped at its byte cap, so the text was longer than what is here (`characters` long, if it counted)."""
    reason = empty_reason(text)
    if reason:
        return Record(key, None, reason)
    if len(text) > max_chars or cut:
        length = str(characters) if characters else f"more than {max_chars}" if cut else str(len(text))
        return Record(key, text[:max_chars], note=f"{length} characters, classified the first {max_chars}")
    return Record(key, text)


def is_valid_unicode(text: str) -> bool:
    """False for strings holding lone surrogates (from JSON escapes or undecodable file names)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Decoding:
    """How bytes become text: UTF-8 (the default, errors named by byte) or another ASCII-compatible codec."""

    encoding: str = DEFAULT_ENCODING

    def text(self, raw: bytes, cut: bool = False) -> tuple[str | None, str | None]:
        """(text, None) or (None, why not)."""
        if b"\x00" in raw and self.encoding == DEFAULT_ENCODING:
            return None, "holds NUL bytes: not UTF-8 text (UTF-16?)"
        try:
            return decode_cut(raw, cut, self.encoding), None
        except UnicodeDecodeError as exc:
            return None, f"not valid {self.name} (byte {exc.start})"
        except (UnicodeError, ValueError) as exc:  # a codec's own complaint about this text, not the batch's
            return None, f"not valid {self.name} ({str(exc)[:200]})"

    @property
    def name(self) -> str:
        return "UTF-8" if self.encoding == DEFAULT_ENCODING else self.encoding


_ASCII = bytes(range(128))


def check_encoding(encoding: str) -> Decoding:
    """The decoding for an encoding name, or a JobError: known to Python, a text encoding (not a bytes or text
    transform such as rot13, hex, base64 or zlib), and ASCII-compatible: ASCII bytes read as ASCII, so lines
    are split at the byte \\n (UTF-16 and UTF-32 files are converted first, see FOREIGN_BOMS)."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError, TypeError):
        raise JobError("{encoding} {name} is not an encoding Python knows", name=encoding) from None
    if not getattr(info, "_is_text_encoding", True):
        raise JobError(
            "{encoding} {name} is not a text encoding (it transforms bytes or text); give the encoding the "
            "file's text is in, e.g. latin-1 or cp1252",
            name=encoding,
        )
    try:
        newline = "\n".encode(info.name)
    except Exception:  # "undefined": a codec that refuses everything
        raise JobError("{encoding} {name} cannot read or write any text", name=encoding) from None
    if info.name.startswith(("utf-16", "utf-32")) or newline != b"\n":
        raise JobError(
            "{encoding} {name} does not write a newline as the byte 10; convert the file to UTF-8 first "
            "(iconv -f {name} -t UTF-8 FILE)",
            name=encoding,
        )
    try:
        text = _ASCII.decode("ascii")
        ascii_compatible = _ASCII.decode(info.name) == text and text.encode(info.name) == _ASCII
    except Exception:  # utf-7, idna, punycode, hz: they give ASCII bytes other meanings
        ascii_compatible = False
    if not ascii_compatible:
        raise JobError(
            "{encoding} {name} does not read ASCII as ASCII; convert the file to UTF-8 first "
            "(iconv -f {name} -t UTF-8 FILE)",
            name=encoding,
        )
    return Decoding(DEFAULT_ENCODING if info.name == "utf-8" else info.name)


Parser = Callable[[int, RawLine, int, Decoding], Record]


def text_record(position: int, raw: bytes, max_chars: int, decoding: Decoding) -> Record:
    """One line's (or cell's) bytes as a Record: the one rule for `classify` and Spark's text cells."""
    return _line_record(position, RawLine(raw), max_chars, decoding)


def _line_record(position: int, line: RawLine, max_chars: int, decoding: Decoding) -> Record:
    text, error = decoding.text(line.data.removesuffix(b"\r"), line.cut)
    if error is not None:
        return Record(position, None, error, position=position)
    characters = line.characters if decoding.encoding == DEFAULT_ENCODING else 0
    record = check_text(position, text, max_chars, line.cut, characters)  # type: ignore[arg-type]
    record.position = position
    return record


def _object_record(position: int, obj: Any, max_chars: int, what: str, text_field: str = "text") -> Record:
    """A JSON value that should be {"text": ..., "id": ...} (or, in an array, a bare string)."""
    if isinstance(obj, str) and what == "item":
        record = check_text(position, obj, max_chars)
    elif not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
        record = Record(position, None, f"JSON {what} has no string field {json.dumps(text_field)}")
    else:
        record_id = obj.get("id", position)
        if isinstance(record_id, bool) or not isinstance(record_id, (str, int)):
            record_id = position
        if isinstance(record_id, str) and not is_valid_unicode(record_id):
            record = Record(position, None, 'the "id" is not valid Unicode (it holds a lone surrogate)')
        else:
            record = check_text(record_id, obj[text_field], max_chars)
    record.position = position
    return record


def json_record(
    position: int, raw: bytes | None, max_chars: int, what: str, decoding: Decoding, text_field: str = "text"
) -> Record:
    """One JSON line (or array item) as a Record; `raw` None: it was larger than json_cap and read past.
    The one rule for `classify` and Spark (which passes its own --text-col as `text_field`)."""
    if raw is not None and len(raw) > json_cap(max_chars):
        raw = None
    if raw is None:
        return Record(position, None, f"JSON {what} longer than {json_cap(max_chars)} bytes", position=position)
    if not raw.strip():
        return Record(position, None, f"empty {what}", position=position)
    if decoding.encoding != DEFAULT_ENCODING:
        text, error = decoding.text(raw)
        if error is not None:
            return Record(position, None, error, position=position)
        raw = text.encode("utf-8")  # type: ignore[union-attr]
    try:
        obj = safe_json.loads(raw)
    except safe_json.JsonRefused as exc:
        reason = str(exc) if str(exc).startswith("malformed") else f"malformed JSON ({exc})"
        return Record(position, None, reason, position=position)
    return _object_record(position, obj, max_chars, what, text_field)


def _jsonl_record(position: int, line: RawLine, max_chars: int, decoding: Decoding) -> Record:
    return json_record(position, None if line.cut else line.data, max_chars, "line", decoding)


def record_bytes(record: Record) -> int:
    """What a record's text costs in memory (sys.getsizeof: 1, 2 or 4 bytes a character, as Python keeps it)."""
    return sys.getsizeof(record.text) if record.text is not None else 64


def chunked(records: Iterable[Record], size: int, budget: int) -> Iterator[list[Record]]:
    """`records` in chunks of `size`, or fewer once a chunk's texts hold `budget` bytes (at least one record)."""
    chunk: list[Record] = []
    held = 0
    for record in records:
        chunk.append(record)
        held += record_bytes(record)
        if len(chunk) == size or held >= budget:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _line_chunks(
    lines: Iterator[list[RawLine]], parse: Parser, max_chars: int, skip: int, decoding: Decoding, budget: int
) -> Iterator[list[Record]]:
    """A chunk for each batch of lines (for live input: what has arrived), cut where it outgrows `budget`."""
    number = 0
    for raw_lines in lines:
        records = []
        for line in raw_lines:
            number += 1
            if number == 1 and line.data.startswith(BOM):
                line = RawLine(line.data[len(BOM) :], line.cut)
            if number > skip:
                records.append(parse(number, line, max_chars, decoding))
        yield from chunked(records, len(records), budget)


def is_live(fd: int) -> bool:
    """A pipe, FIFO, socket or terminal: input that arrives over time."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


def file_identity(info: os.stat_result) -> dict[str, int]:
    return {"dev": info.st_dev, "ino": info.st_ino, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


@dataclass
class Source:
    """A validated input: its chunks of records, what it is (for --resume), which files it reads."""

    chunks: Callable[[int, int, int], Iterator[list[Record]]]  # (chunk size, records to skip, chunk bytes)
    identity: dict[str, Any]
    files: list[tuple[int, int]] = field(default_factory=list)  # (st_dev, st_ino) of every file read
    live: bool = False
    label: str = "input"  # how warnings name a record's position: "line", "file", "item" or "input"
    keyed_lines: bool = False  # plain output names each record (a folder's files)


def _refuse_foreign_bom(handle: BinaryIO, where: str, decoding: Decoding) -> None:
    """A UTF-16 or UTF-32 file read as UTF-8 is refused before anything is written."""
    head = handle.peek(4)[:4] if hasattr(handle, "peek") else b""  # type: ignore[attr-defined]
    for mark, name in FOREIGN_BOMS.items():
        if head.startswith(mark) and decoding.encoding == DEFAULT_ENCODING:
            raise JobError(
                "{path} is {name} (it starts with a {name} byte-order mark), not UTF-8: convert it first "
                "(iconv -f {name} -t UTF-8 FILE)",
                path=where,
                name=name,
            )


def _stream_source(
    handle: BinaryIO, fmt: str, max_chars: int, identity: dict[str, Any], decoding: Decoding, where: str
) -> Source:
    parse: Parser = _jsonl_record if fmt == "jsonl" else _line_record
    cap = json_cap(max_chars) if fmt == "jsonl" else byte_cap(max_chars)
    try:
        fd: int | None = handle.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # an in-memory stream (tests, apps)
        fd = None
    live = fd is not None and is_live(fd)
    files = []
    if fd is not None and not live:
        info = os.fstat(fd)
        files.append((info.st_dev, info.st_ino))
        identity = {**identity, **file_identity(info)}
        _refuse_foreign_bom(handle, where, decoding)

    def chunks(size: int, skip: int, budget: int = CHUNK_BYTES) -> Iterator[list[Record]]:
        with handle:
            if live and fd is not None:
                lines = live_lines(fd, cap, size, budget)
            else:
                lines = buffered_lines(handle, cap, size, budget)
            yield from _line_chunks(lines, parse, max_chars, skip, decoding, budget)

    return Source(chunks, identity, files, live, "line")


_DIGITS = re.compile(r"(\d+)")


def _natural_key(relative: str) -> list[Any]:
    """Sort key: numbers by value ("9_1.txt" before "10_2.txt"), then the name itself to break ties."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(relative)]


def _folder_files(folder: Path) -> list[tuple[str, Path]]:
    """Every .txt file under `folder` (sub-folders too, links to folders not followed), as (relative name,
    path), in natural order."""
    found = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in names:
            if name.endswith(".txt"):
                path = Path(root) / name
                found.append((os.fsdecode(path.relative_to(folder)), path))
    found.sort(key=lambda item: (_natural_key(item[0]), item[0]))
    return found


def _folder_key(relative: str) -> tuple[str, str | None]:
    """The relative name as a key, and an error if it is not valid UTF-8 (shown escaped)."""
    if is_valid_unicode(relative):
        return relative, None
    escaped = os.fsencode(relative).decode("utf-8", "backslashreplace")
    return escaped, "the file name is not valid UTF-8"


def _read_txt(position: int, relative: str, path: Path, max_chars: int, decoding: Decoding) -> Record:
    key, error = _folder_key(relative)
    if error:
        return Record(key, None, error, position=position)
    cap = byte_cap(max_chars)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO named x.txt must not block the batch
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return Record(key, None, "not a regular file", position=position)
            raw = handle.read(cap + len(BOM) + 1)  # never more: a link to a 5 GB file costs the cap
    except OSError as exc:
        return Record(key, None, f"cannot read ({exc.strerror})", position=position)
    raw = raw.removeprefix(BOM)
    cut = len(raw) > cap
    text, error = decoding.text(raw[:cap], cut)
    if error is not None:
        return Record(key, None, error, position=position)
    record = check_text(key, text, max_chars, cut)  # type: ignore[arg-type]
    record.position = position
    return record


def _folder_source(folder: Path, max_chars: int, decoding: Decoding) -> Source:
    files = _folder_files(folder)
    if not files:
        raise ImdbEdgeError(f"the folder {folder} has no .txt files (sub-folders included)")
    info = folder.stat()
    identity = {"kind": "folder", "path": str(folder.resolve()), "dev": info.st_dev, "ino": info.st_ino}
    identity.update(files=len(files), mtime_ns=info.st_mtime_ns, order=FOLDER_ORDER)

    def chunks(size: int, skip: int, budget: int = CHUNK_BYTES) -> Iterator[list[Record]]:
        records = (
            _read_txt(number, relative, path, max_chars, decoding)
            for number, (relative, path) in enumerate(files[skip:], start=skip + 1)
        )
        yield from chunked(records, size, budget)

    def stat_or_none(path: Path) -> tuple[int, int] | None:
        try:
            result = path.stat()
        except OSError:
            return None
        return (result.st_dev, result.st_ino)

    read = [key for key in (stat_or_none(path) for _, path in files) if key is not None]
    return Source(chunks, identity, read, False, "file", keyed_lines=True)


def _json_array_source(
    path: Path, handle: BinaryIO, max_chars: int, identity: dict[str, Any], decoding: Decoding
) -> Source:
    """A .json file holding one array of strings or {"text", "id"} objects, streamed: checked whole first
    (keeping nothing), then read again item by item."""
    cap = json_cap(max_chars)
    if not handle.seekable():
        raise ImdbEdgeError(f"{path}: a JSON array is read twice, so it must be a regular file (pipe JSON Lines)")
    try:
        json_array.check_array(handle, cap)
    except json_array.NotAnArray as exc:
        raise ImdbEdgeError(f"{path}: not a readable JSON array ({exc})") from None
    handle.seek(0)

    def chunks(size: int, skip: int, budget: int = CHUNK_BYTES) -> Iterator[list[Record]]:
        with handle:
            records = (
                json_record(position, item.data, max_chars, "item", decoding)
                for position, item in enumerate(json_array.iter_items(handle, cap), start=1)
                if position > skip
            )
            yield from chunked(records, size, budget)

    return Source(chunks, identity, [], False, "item")


_JSON_WHITESPACE = b" \t\r\n"


def _starts_with_array(handle: BinaryIO) -> bool:
    """Whether the first byte after a byte-order mark and JSON whitespace (however much) is `[`. A regular file
    is read up to that byte and sought back; a pipe only as far as is buffered (it cannot be read twice, and a
    JSON array must be a regular file anyway)."""
    if not handle.seekable():
        head = handle.peek(4096)[:4096] if hasattr(handle, "peek") else b""  # type: ignore[attr-defined]
        return head.removeprefix(BOM).lstrip(_JSON_WHITESPACE).startswith(b"[")
    start = handle.tell()
    try:
        block = handle.read(1 << 16).removeprefix(BOM)
        while block:
            rest = block.lstrip(_JSON_WHITESPACE)
            if rest:
                return rest.startswith(b"[")
            block = handle.read(1 << 16)
        return False
    finally:
        handle.seek(start)


def detect_format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    return "jsonl" if path.endswith((".jsonl", ".ndjson", ".json")) else "lines"


def open_source(
    source: str, fmt: str = "auto", max_chars: int = DEFAULT_MAX_CHARS, encoding: str = DEFAULT_ENCODING
) -> Source:
    """Open and check a file, a folder of .txt files, or '-' (stdin); errors here touch no output."""
    if fmt not in FORMATS:
        raise ImdbEdgeError(f"unknown input format {fmt!r}; choose from {', '.join(FORMATS)}")
    decoding = check_encoding(encoding)
    if source == "-":
        if console.stdin_was_closed:
            raise ImdbEdgeError("stdin is closed: there is nothing to read ('-' reads the reviews from stdin)")
        identity = {"kind": "stdin"}
        return _stream_source(sys.stdin.buffer, detect_format("", fmt), max_chars, identity, decoding, "stdin")
    path = Path(source)
    try:
        if path.is_dir():
            if fmt != "auto":
                raise JobError("{format} applies to files and stdin, not to a folder of .txt files")
            return _folder_source(path, max_chars, decoding)
        handle = path.open("rb")  # a FIFO blocks here until a writer opens it; a stop signal interrupts
    except FileNotFoundError:
        raise ImdbEdgeError(f"input file {path} does not exist") from None
    except OSError as exc:
        raise ImdbEdgeError(f"cannot read {path}: {exc.strerror or exc}") from None
    identity = {"kind": "file", "path": str(path.resolve())}
    if source.endswith(".json") and fmt == "auto" and _starts_with_array(handle):  # type: ignore[arg-type]
        info = os.fstat(handle.fileno())
        result = _json_array_source(path, handle, max_chars, {**identity, **file_identity(info)}, decoding)  # type: ignore[arg-type]
        result.files.append((info.st_dev, info.st_ino))
        return result
    return _stream_source(handle, detect_format(source, fmt), max_chars, identity, decoding, str(path))  # type: ignore[arg-type]


def text_source(texts: Iterable[str], max_chars: int = DEFAULT_MAX_CHARS) -> Source:
    """Records of texts given on the command line, keyed 1, 2, ... A leading byte-order mark (what a Windows
    clipboard or shell can put in front) is dropped, as it is from files: it would stick to the first word."""
    texts = [text.removeprefix("\ufeff") for text in texts]
    records = []
    for number, text in enumerate(texts, start=1):
        record = check_text(number, text, max_chars)
        record.position = number
        records.append(record)
    digest = hashlib.sha256("\0".join(texts).encode("utf-8", "surrogatepass")).hexdigest()

    def chunks(size: int, skip: int, budget: int = CHUNK_BYTES) -> Iterator[list[Record]]:
        yield from chunked(records[skip:], size, budget)

    return Source(chunks, {"kind": "arguments", "count": len(records), "sha256": digest}, [], False, "input")
