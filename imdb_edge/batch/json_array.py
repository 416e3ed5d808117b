"""The items of a JSON array file, read in bounded memory (a 1 GB array peaked at 3.2 GB as one document).

The array is scanned for item boundaries (strings, nesting and separators) with regular
expressions, a window at a time, by a scanner that can stop anywhere (inside a string,
after a backslash) and go on with the next window; each item's bytes are then parsed on
their own, with limits (safe_json.py). An item larger than the cap is
read past without being held, and becomes an error. `check_array` makes the same pass
keeping nothing, so a file that is not one JSON array is refused before any result is
written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

READ_BYTES = 1 << 20
BOM = b"\xef\xbb\xbf"
_WHITESPACE = re.compile(rb"[ \t\r\n]*")
_STRUCTURE = re.compile(rb'["\[\]{}]')
_SCALAR_CHUNK = re.compile(rb'[^,\[\]{}"\s]*')
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


class NotAnArray(Exception):
    """The file is not one JSON array (the message says where it goes wrong)."""


@dataclass(slots=True)
class Item:
    """One item's bytes (None when it was larger than the cap, and read past unkept) and its size."""

    data: bytes | None
    size: int


@dataclass(slots=True)
class _Scan:
    """Where a value's scan stands between two windows."""

    kind: str  # "string", "container" or "scalar"
    depth: int = 0
    in_string: bool = False
    escape: bool = False


def _backslashes_before(buf: bytes, start: int, end: int) -> int:
    """How many backslashes end `buf[start:end]`, looking back no further than needed (a run of a million
    backslashes costs a few copies of it, not a Python step each)."""
    size = 64
    while True:
        low = max(start, end - size)
        piece = buf[low:end]
        run = len(piece) - len(piece.rstrip(b"\\"))
        if run < len(piece) or low == start:
            return run
        size *= 4


def _string_end(buf: bytes, i: int, scan: _Scan) -> int | None:
    """Inside a string at `buf[i]`: the index just after its closing quote, or None when the window ends first
    (then `scan.escape` says whether the next window's first byte is escaped).

    At C speed whatever the string holds (a regular expression stepping through it a character at a time read
    7 MB/s): the next quote is found with bytes.find, and closes the string unless a backslash escapes it.
    Past an escaped quote, escaped backslashes and escaped quotes are blanked out (JSON pairs a backslash
    with the next byte, left to right, as bytes.replace does), and the first quote left closes the string;
    a growing span at a time, so a short string costs little and a long one is read a few times at most."""
    n = len(buf)
    if scan.escape:
        if i >= n:
            return None
        scan.escape, i = False, i + 1
    start = i
    for _ in range(8):  # most strings hold no escaped quote, or a few
        quote = buf.find(b'"', i)
        if quote < 0:
            break
        if quote == i or buf[quote - 1] != _BACKSLASH or _backslashes_before(buf, i, quote) % 2 == 0:
            return quote + 1
        i = quote + 1
    else:
        span = 4096
        while True:
            end = min(n, i + span)
            found = buf[i:end].replace(b"\\\\", b"__").replace(b'\\"', b"__").find(b'"')
            if found >= 0:
                return i + found + 1
            if end == n:
                break
            span *= 16
    scan.escape = _backslashes_before(buf, start, n) % 2 == 1
    return None


def _advance(buf: bytes, i: int, scan: _Scan) -> int | None:
    """Scan `buf` from `i`: the index just after the value's end, or None when the window ends first."""
    n = len(buf)
    while i < n:
        if scan.in_string:
            end = _string_end(buf, i, scan)
            if end is None:
                return None
            scan.in_string, i = False, end
            if scan.depth == 0:
                return i
        elif scan.kind == "container":
            found = _STRUCTURE.search(buf, i)
            if found is None:
                return None
            i = found.end()
            char = found.group()
            if char == b'"':
                scan.in_string = True
            else:
                scan.depth += 1 if char in (b"[", b"{") else -1
                if scan.depth == 0:
                    return i
        else:
            i = _SCALAR_CHUNK.match(buf, i).end()  # type: ignore[union-attr]
            return i if i < n else None
    return None


class _Stream:
    """A window on the file: `buf[pos:]` is unread; reading more forgets what is behind `pos`."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.buf = b""
        self.pos = 0
        self.offset = 0  # the file offset of buf[0]
        self.at_end = False

    def more(self) -> bool:
        if self.at_end:
            return False
        data = self.handle.read(READ_BYTES)
        if not data:
            self.at_end = True
            return False
        self.offset += self.pos
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def peek(self) -> bytes:
        """The next byte that is not whitespace (b"" at the end of the file)."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self.more():
                return self.buf[self.pos : self.pos + 1]

    def where(self) -> str:
        return f"byte {self.offset + self.pos}"

    def value(self, cap: int) -> Item:
        """The value starting at `pos` (kept while it is at most `cap` bytes); leaves `pos` after it."""
        first = self.buf[self.pos]
        scan = _Scan("string" if first == _QUOTE else "container" if first in b"[{" else "scalar")
        if scan.kind != "scalar":
            scan.in_string, scan.depth = scan.kind == "string", int(scan.kind == "container")
        start, i = self.pos, self.pos + (scan.kind != "scalar")
        kept: bytearray | None = bytearray()
        size = 0
        while True:
            end = _advance(self.buf, i, scan)
            stop = len(self.buf) if end is None else end
            size += stop - start
            if kept is not None:
                if size <= cap:
                    kept += self.buf[start:stop]
                else:
                    kept = None
            self.pos = stop
            if end is not None:
                break
            if not self.more():
                if scan.kind == "scalar":
                    break
                raise NotAnArray(f"the file ends inside a value at {self.where()}")
            start = i = self.pos
        if size == 0:
            raise NotAnArray(f"expected a value at {self.where()}")
        return Item(bytes(kept) if kept is not None else None, size)


def iter_items(handle: BinaryIO, cap: int) -> Iterator[Item]:
    """The array's items in order; raises NotAnArray where the file stops being one array."""
    stream = _Stream(handle)
    stream.more()
    if stream.buf.startswith(BOM):
        stream.pos = len(BOM)
    if stream.peek() != b"[":
        raise NotAnArray("it does not start with [")
    stream.pos += 1
    if stream.peek() == b"]":
        stream.pos += 1
    else:
        while True:
            if stream.peek() in (b"", b",", b"]"):
                raise NotAnArray(f"expected a value at {stream.where()}")
            yield stream.value(cap)
            separator = stream.peek()
            stream.pos += 1
            if separator == b"]":
                break
            if separator != b",":
                raise NotAnArray(f"expected , or ] at {stream.where()}")
    if stream.peek() != b"":
        raise NotAnArray(f"something follows the array at {stream.where()}")


def check_array(handle: BinaryIO, cap: int) -> int:
    """The number of items, reading the whole file once and keeping nothing; raises NotAnArray."""
    return sum(1 for _ in iter_items(handle, cap))
