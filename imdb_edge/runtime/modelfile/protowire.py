"""A tiny protobuf wire-format reader: enough to walk an ONNX file without the `onnx` package."""

from __future__ import annotations

from typing import Any


class Corrupt(Exception):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise Corrupt("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes | memoryview) -> list[tuple[int, int, Any]]:
    """Top-level (field number, wire type, value) of one protobuf message (values are slices of `data`:
    a memoryview gives memoryviews, read without copying)."""
    return [(number, wire, value) for number, wire, value, _start, _end in spans(data)]


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_prefix(number: int, length: int) -> bytes:
    """The key and length that start field `number` holding `length` bytes (a submessage, string or bytes)."""
    return encode_varint(number << 3 | 2) + encode_varint(length)


def _short_varint(data: bytes | memoryview, pos: int, end: int) -> tuple[int, int]:
    """_varint with the one-byte case (keys, small lengths and values: nearly all of them) inlined."""
    if pos < end and data[pos] < 0x80:
        return data[pos], pos + 1
    return _varint(data, pos)


def spans(data: bytes | memoryview, limit: int | None = None) -> list[tuple[int, int, Any, int, int]]:
    """Top-level (field number, wire type, value, start, end) of one message: [start, end) is the whole field.
    Raises Corrupt past `limit` fields (a graph of a million tiny entries took 40 s to check)."""
    out = []
    pos, end = 0, len(data)
    while pos < end:
        if len(out) == limit:
            raise Corrupt(f"it holds more than {limit} entries, where exported models hold a few hundred")
        start = pos
        key, pos = _short_varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Corrupt("field number 0")
        if wire == 2:
            length, pos = _short_varint(data, pos, end)
            if pos + length > end:
                raise Corrupt("field runs past the end of the file")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 0:
            value, pos = _short_varint(data, pos, end)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise Corrupt(f"unknown wire type {wire}")
        if pos > end:
            raise Corrupt("truncated field")
        out.append((number, wire, value, start, pos))
    return out


def varints(data: bytes | memoryview) -> list[int]:
    """The integers of a packed repeated varint field (a repeated int64 attribute, as onnx writes it)."""
    out, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        out.append(value - (1 << 64) if value >= 1 << 63 else value)  # int64: two's complement
    return out


def values_of(parts: list[tuple[Any, ...]], number: int) -> list[Any]:
    """Every length-delimited field `number` among a message's parsed fields (`fields` or `spans`)."""
    return [part[2] for part in parts if part[0] == number and part[1] == 2]


def submessages(data: bytes | memoryview, number: int) -> list[Any]:
    """Every length-delimited field `number` of a message (repeated submessages, strings)."""
    return values_of(fields(data), number)
