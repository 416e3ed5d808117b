"""A text-input file's graph must look terms up in the vocabulary its metadata states.

The text form carries its vocabulary twice: in the metadata (what `info` shows and the
runtime's own vectorizer reads) and inside the graph (the LabelEncoder that maps terms to
ids, what actually classifies). A file whose two copies differ would be described as one
model and answer as another, so every LabelEncoder must be one of the two the exporter
writes: the term table (the vocabulary's terms -> 0..V-1, unknown -> V) or, with
negation marks, the negator table. The term table's 200,000 keys are compared as one
block of bytes, not field by field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.modelfile.onnx_fields import (
    ATTR_GRAPH,
    ATTR_GRAPHS,
    ATTR_INT,
    ATTR_INTS,
    ATTR_NAME,
    ATTR_STRINGS,
    ATTR_TYPE,
    GRAPH_NODE,
    MODEL_GRAPH,
    NODE_ATTRIBUTE,
    NODE_DOMAIN,
    NODE_OP,
)
from imdb_edge.runtime.modelfile.protowire import Corrupt, encode_varint, fields, length_prefix, submessages, varints
from imdb_edge.runtime.vectorizer import NEGATORS, Vectorizer


def _nodes(graph: Any) -> Iterator[list[tuple[int, int, Any]]]:
    """The fields of every node of a graph and of the graphs its attributes hold (a Loop's body)."""
    for node in submessages(graph, GRAPH_NODE):
        parts = fields(node)
        yield parts
        op = next((bytes(v) for n, w, v in parts if n == NODE_OP and w == 2), b"")
        if op != b"Loop":
            continue
        for attribute in (v for n, w, v in parts if n == NODE_ATTRIBUTE and w == 2):
            for number, wire, value in fields(attribute):
                if number in (ATTR_GRAPH, ATTR_GRAPHS) and wire == 2:
                    yield from _nodes(value)


def _name_and_rest(attribute: memoryview) -> tuple[str, memoryview]:
    """An attribute's name (the first field, as onnx writes it) and the bytes after it."""
    key = attribute[0]
    if key != (ATTR_NAME << 3 | 2) or len(attribute) < 2 or attribute[1] >= 0x80:
        return "", attribute
    end = 2 + attribute[1]
    return bytes(attribute[2:end]).decode("utf-8", "replace"), attribute[end:]


@functools.lru_cache(maxsize=4)
def _id_fields(count: int) -> bytes:
    """0..count-1 as the exporter writes values_int64s (onnx.proto is proto2: one varint field each)."""
    key = bytes([ATTR_INTS << 3])
    return b"".join(key + encode_varint(i) for i in range(count))


def _only_type_field(rest: memoryview) -> bool:
    return all(number == ATTR_TYPE for number, _wire, _value in fields(rest))


def _starts_with(attribute: memoryview | None, block: bytes) -> bool:
    """The attribute's value fields are exactly `block`, followed only by its type."""
    return (
        attribute is not None and bytes(attribute[: len(block)]) == block and _only_type_field(attribute[len(block) :])
    )


def _is_term_table(attributes: dict[str, memoryview], expected: list[bytes]) -> bool:
    keys = b"".join(length_prefix(ATTR_STRINGS, len(term)) + term for term in expected)
    default = [(n, w, v) for n, w, v in fields(attributes.get("default_int64", memoryview(b""))) if n != ATTR_TYPE]
    return (
        _starts_with(attributes.get("keys_strings"), keys)
        and _starts_with(attributes.get("values_int64s"), _id_fields(len(expected)))
        and default == [(ATTR_INT, 0, len(expected))]
    )


def _is_negator_table(attributes: dict[str, memoryview]) -> bool:
    keys = [bytes(v) for n, w, v in fields(attributes.get("keys_strings", memoryview(b""))) if n == ATTR_STRINGS]
    values = [v for n, w, v in fields(attributes.get("values_int64s", memoryview(b""))) if n == ATTR_INTS]
    default = [v for n, w, v in fields(attributes.get("default_int64", memoryview(b""))) if n == ATTR_INT]
    flat = [x for value in values for x in (varints(value) if isinstance(value, memoryview) else [value])]
    return keys == list(NEGATORS) and flat == [1] * len(NEGATORS) and default == [0]


def check_text_vocabulary(graph_model: bytes, vectorizer: Vectorizer, where: str) -> None:
    """Raise ImdbEdgeError unless the graph has one term table, of the stated vocabulary, and nothing else
    but the negator table among its LabelEncoders."""
    try:
        terms = vectorizer.vocabulary
    except ImdbEdgeError as exc:
        raise ImdbEdgeError(f"{where}: bad vocabulary: {exc}") from None
    if terms is None:
        raise ImdbEdgeError(f"{where}: a text-input model must carry its terms, and this one stores none")
    expected = [term.encode("utf-8") for term in terms]
    term_tables = 0
    try:
        for node in _nodes(submessages(memoryview(graph_model), MODEL_GRAPH)[0]):
            op = next((bytes(v) for n, w, v in node if n == NODE_OP and w == 2), b"")
            domain = next((bytes(v) for n, w, v in node if n == NODE_DOMAIN and w == 2), b"")
            if op != b"LabelEncoder" or domain != b"ai.onnx.ml":
                continue
            attributes = dict(_name_and_rest(v) for n, w, v in node if n == NODE_ATTRIBUTE and w == 2)
            if _is_term_table(attributes, expected):
                term_tables += 1
            elif not _is_negator_table(attributes):
                raise ImdbEdgeError(
                    f"{where}: the graph looks terms up in another vocabulary than the one its metadata states "
                    "(the file was changed after export)"
                )
    except (Corrupt, IndexError) as exc:
        raise ImdbEdgeError(f"{where} is not a valid ONNX file (damaged graph: {exc})") from None
    if term_tables != 1:
        raise ImdbEdgeError(f"{where}: a text-input graph has one term table, this one has {term_tables}")
