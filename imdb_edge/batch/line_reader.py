"""Lines of input in bounded memory, however long a line is and however slowly it arrives.

A line longer than the byte cap is cut there: its first `cap` bytes are kept and the rest
is read past without being held (a 5 GB line costs the cap, not 5 GB), and the line is
marked `cut`. A regular file is read with `readline(limit)`; a pipe, FIFO or terminal
(`live`) is read as bytes arrive, taking whatever is there, so each line's result can be
written at once, and the buffer is scanned once (a 20 MB line through a pipe used to be
rebuilt on every 64 KB read: 49 s for 80 MB).
"""

from __future__ import annotations

import os
import select
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

READ_BYTES = 1 << 16
_CONTINUATION = bytes(range(0x80, 0xC0))


def utf8_characters(data: bytes | bytearray) -> int:
    """How many characters UTF-8 bytes hold (every byte that does not continue a character starts one)."""
    return len(data.translate(None, _CONTINUATION))


@dataclass(slots=True)
class RawLine:
    """A line's bytes without its newline (at most the cap); for a cut line, how many characters (counted as
    UTF-8) the whole line had, though only the cap was kept."""

    data: bytes
    cut: bool = False
    characters: int = 0


def buffered_lines(stream: BinaryIO, cap: int, size: int, budget: int = 1 << 62) -> Iterator[list[RawLine]]:
    """Batches of `size` lines from a regular file, or fewer once they hold `budget` bytes."""
    batch: list[RawLine] = []
    held = 0
    readline = stream.readline
    while True:
        line = readline(cap + 1)
        if not line:
            break
        if line.endswith(b"\n"):
            batch.append(RawLine(line[:-1]))
        elif len(line) <= cap:  # the last line, without a newline
            batch.append(RawLine(line))
        else:
            characters = utf8_characters(line)
            while True:  # read past the rest of the line, a piece at a time, counting it
                rest = readline(READ_BYTES)
                characters += utf8_characters(rest.removesuffix(b"\n"))
                if not rest or rest.endswith(b"\n"):
                    break
            batch.append(RawLine(line[:cap], cut=True, characters=characters))
        held += len(batch[-1].data)
        if len(batch) == size or held >= budget:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


class _LiveBuffer:
    """Bytes that arrived but are not yet a whole line; the line being skipped, if it outgrew the cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.scanned = 0  # no newline before this index
        self.kept: bytes | None = None  # the first `cap` bytes of a line being skipped
        self.characters = 0  # of the line being skipped, so far

    def add(self, chunk: bytes) -> list[RawLine]:
        """The whole lines `chunk` completes."""
        self.data += chunk
        lines = []
        start = 0
        while True:
            end = self.data.find(b"\n", max(start, self.scanned))
            if end < 0:
                break
            if self.kept is not None:
                self.characters += utf8_characters(self.data[start:end])
                lines.append(RawLine(self.kept, cut=True, characters=self.characters))
                self.kept = None
            else:
                lines.append(RawLine(bytes(self.data[start:end])))
            start = end + 1
        del self.data[:start]
        self.scanned = len(self.data)
        if self.kept is None and len(self.data) > self.cap:
            self.kept, self.characters = bytes(self.data[: self.cap]), 0
        if self.kept is not None:
            self.characters += utf8_characters(self.data)
            self.data.clear()  # skipping: nothing of it is held
            self.scanned = 0
        return lines

    def finish(self) -> list[RawLine]:
        """The last line, when the input ends without a newline."""
        if self.kept is not None:
            return [RawLine(self.kept, cut=True, characters=self.characters)]
        return [RawLine(bytes(self.data))] if self.data else []


def live_lines(fd: int, cap: int, size: int, budget: int = 1 << 62) -> Iterator[list[RawLine]]:
    """Batches of lines as they arrive: block for the first bytes, then take only what is already there (up to
    `size` lines or `budget` bytes)."""
    buffer = _LiveBuffer(cap)
    at_end = False
    while not at_end:
        data = os.read(fd, READ_BYTES)  # blocks; a stop signal interrupts it (batch/stop.py)
        at_end = not data
        lines = buffer.add(data)
        held = sum(len(line.data) for line in lines)
        while not at_end and len(lines) < size and held < budget and select.select([fd], [], [], 0)[0]:
            data = os.read(fd, READ_BYTES)
            at_end = not data
            more = buffer.add(data)
            lines += more
            held += sum(len(line.data) for line in more)
        if at_end:
            lines += buffer.finish()
        for start in range(0, len(lines), size):
            yield lines[start : start + size]


def decode_cut(data: bytes, cut: bool, encoding: str = "utf-8") -> str:
    """`data` decoded; when it was cut at a byte limit, a character split by the cut is left out."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if cut and exc.reason == "unexpected end of data" and exc.start >= len(data) - 4:
            return data[: exc.start].decode(encoding)
        raise
