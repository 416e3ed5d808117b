"""Arrays a model file carries for the runtime, not for its graph: raw bytes, read in place.

The vocabulary of a 200,000-term model is 1.6 MB of fingerprints plus 0.8-0.9 MB of packed
terms. As base64 inside the metadata JSON they cost a JSON scan, a UTF-8 decode and a
base64 decode at every load (about 5 ms, four times onnxruntime's whole session). In
schema 3 they are graph initializers named ``imdb_edge.<...>`` (standard ONNX tensors,
covered by the structure checksum), which the vectorizer entry names as
``{"initializer": NAME}``. The runtime slices them out of the file without copying and
gives onnxruntime the graph without them. Plain onnxruntime also loads such a file; it
drops the unused initializers itself, with a warning for each.

Schema 4 keeps the same tensors, bytes for bytes, outside the graph: each is one
occurrence of field RUNTIME_ARRAYS_FIELD of the ModelProto, a field number ONNX does not
define. Every protobuf reader skips an unknown field, so onnxruntime (any language) and
the `onnx` package load the file without a word, and the file stays self-contained
(the structure checksum covers the field like every other part outside the metadata).
Both places are read; schema 3 files keep theirs in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.modelfile.onnx_fields import (
    GRAPH_INITIALIZER,
    MODEL_GRAPH,
    TENSOR_DATA_TYPE,
    TENSOR_DIMS,
    TENSOR_NAME,
    TENSOR_RAW_DATA,
    TENSOR_UINT8,
    TENSOR_UINT64,
)
from imdb_edge.runtime.modelfile.protowire import Corrupt, fields, length_prefix, spans
from imdb_edge.runtime.modelfile.schema import RUNTIME_ARRAY_PREFIX

UINT8, UINT64 = TENSOR_UINT8, TENSOR_UINT64
RUNTIME_ARRAYS_FIELD = 7335
"""The ModelProto field (not one of ONNX's) that holds the runtime's arrays in schema 4 files."""
ARRAY_SCHEMAS = ("3", "4")
"""Schemas whose files may carry runtime arrays (3: as graph initializers, 4: in RUNTIME_ARRAYS_FIELD)."""
ITEM_BYTES = {UINT8: 1, UINT64: 8}
REFERENCE_KEY = "initializer"
VECTORIZER_ARRAYS = {"fingerprints": UINT64, "terms": UINT8}
"""The vectorizer entry's keys whose values may be arrays, and the type of each."""


def array_name(key: str) -> str:
    """The initializer that holds the vectorizer's array `key`."""
    return f"{RUNTIME_ARRAY_PREFIX}vectorizer.{key}"


MAX_GRAPH_ENTRIES = 10_000
"""Nodes, initializers, inputs and outputs a graph may hold: the text form's Loop body, the largest, has 219."""

_ARRAY_FIELDS = {TENSOR_DIMS: 0, TENSOR_DATA_TYPE: 0, TENSOR_NAME: 2, TENSOR_RAW_DATA: 2}
"""The fields of a runtime array, each once, and their wire types (0: varint, 2: bytes)."""


@dataclass(frozen=True)
class RawArray:
    data_type: int
    data: memoryview


def _runtime_array(tensor: memoryview) -> tuple[str, RawArray] | None:
    """(name, array) of an initializer that is one of the runtime's arrays, else None.

    An array holds exactly one name, data type, dimension and raw_data, nothing else: protobuf
    readers keep the last of a repeated field where this one would read the first, so a
    repeated or extra field could make onnxruntime and this reader see different tensors.
    """
    parts = fields(tensor)
    names = [bytes(v) for n, w, v in parts if n == TENSOR_NAME]
    if len(names) > 1:
        raise Corrupt("an initializer has more than one name")
    if not names or not names[0].startswith(RUNTIME_ARRAY_PREFIX.encode("ascii")):
        return None
    try:
        text = names[0].decode("utf-8")
    except UnicodeDecodeError:
        raise Corrupt(f"initializer {names[0]!r} has a name that is not UTF-8") from None
    values = {n: v for n, _w, v in parts}
    shaped = sorted((n, w) for n, w, _v in parts) == sorted(_ARRAY_FIELDS.items())
    item_bytes = ITEM_BYTES.get(values[TENSOR_DATA_TYPE]) if shaped else None
    if item_bytes is None or values[TENSOR_DIMS] * item_bytes != len(values[TENSOR_RAW_DATA]):
        raise Corrupt(f"initializer {text} is not a one-dimensional uint8 or uint64 array of raw bytes")
    return text, RawArray(values[TENSOR_DATA_TYPE], values[TENSOR_RAW_DATA])


def split_runtime_arrays(
    model: memoryview, top: list[tuple[int, int, Any, int, int]], leave_out: int
) -> tuple[dict[str, RawArray], bytes]:
    """The runtime's arrays of a serialized ModelProto (`top`: its `spans`, walked once by the caller), and
    the model without them and without field `leave_out` (its metadata): what onnxruntime gets. Raises
    Corrupt for a malformed array or a name used twice."""
    arrays: dict[str, RawArray] = {}
    out: list[Any] = []
    for number, wire, value, start, end in top:
        if number == leave_out:
            continue
        if number == RUNTIME_ARRAYS_FIELD:
            found = _runtime_array(value) if wire == 2 else None
            if found is None:
                raise Corrupt(f"field {RUNTIME_ARRAYS_FIELD} holds something other than an imdb_edge.* array")
            _add(arrays, *found)
            continue
        if number != MODEL_GRAPH or wire != 2:
            out.append(model[start:end])
            continue
        graph_fields = spans(value, limit=MAX_GRAPH_ENTRIES)
        kept = []
        for g_number, g_wire, g_value, g_start, g_end in graph_fields:
            found = _runtime_array(g_value) if g_number == GRAPH_INITIALIZER and g_wire == 2 else None
            if found is None:
                kept.append(value[g_start:g_end])
            else:
                _add(arrays, *found)
        if len(kept) < len(graph_fields):
            out += [length_prefix(MODEL_GRAPH, sum(map(len, kept))), *kept]
        else:
            out.append(model[start:end])
    return arrays, b"".join(out)  # the one copy: onnxruntime takes bytes


def _add(arrays: dict[str, RawArray], name: str, array: RawArray) -> None:
    if name in arrays:
        raise Corrupt(f"initializer {name} appears twice")
    arrays[name] = array


def resolve(document: dict[str, Any], arrays: dict[str, RawArray], where: str) -> None:
    """Replace each `{"initializer": NAME}` of the vectorizer entry by that array's bytes (in place). Every
    array is referred to once: an array nobody reads, or one read twice, is not what the exporter writes."""
    unused = dict(arrays)
    for key, data_type in VECTORIZER_ARRAYS.items():
        reference = document.get(key)
        if not isinstance(reference, dict):
            continue  # inline base64, or absent: the vectorizer's reader judges it
        if list(reference) != [REFERENCE_KEY]:
            raise ImdbEdgeError(f'{where}: the vectorizer\'s {key} must be base64 or {{"{REFERENCE_KEY}": NAME}}')
        name = reference[REFERENCE_KEY]
        array = arrays.get(name) if isinstance(name, str) else None
        if array is None:
            raise ImdbEdgeError(f"{where}: the vectorizer's {key} refer to {name!r}, which the graph does not hold")
        if unused.pop(name, None) is None:
            raise ImdbEdgeError(f"{where}: the vectorizer refers to initializer {name} twice")
        if array.data_type != data_type:
            raise ImdbEdgeError(f"{where}: initializer {name} holds the wrong type for the vectorizer's {key}")
        document[key] = array.data
    if unused:
        raise ImdbEdgeError(f"{where}: the graph holds initializer {min(unused)}, which the vectorizer does not use")
