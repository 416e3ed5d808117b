"""The self-contained model file: an ONNX graph plus imdb-edge metadata.

Metadata lives in the ONNX `metadata_props` (string key/value pairs), so the one
`.onnx` file is all a device needs. Schema, version 1:

- ``imdb_edge.schema``: "1"
- ``imdb_edge.model``: JSON: input form ("dense", "token_ids" or "text"), input and
  output names, input width, label names, decision threshold, precision, opset
- ``imdb_edge.vectorizer``: the vectorizer JSON (tokenizer, n-grams, vocabulary)
- ``imdb_edge.training``: JSON: training config, metrics, data checksum
- ``imdb_edge.export``: JSON: parity and quantization reports, tool versions, time
- ``imdb_edge.checksum``: JSON: sha256 of the graph (all weights) and of the
  vectorizer, verified on every load so a damaged file is refused, not misread

The file is read with a tiny protobuf walker (no `onnx` package needed on the
device): it finds the graph bytes to hash and the metadata entries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.schema import INPUT_FORMS, TEXT, input_width
from imdb_edge.runtime.vectorizer import Vectorizer

SCHEMA_KEY = "imdb_edge.schema"
SCHEMA_VERSION = "1"
MODEL_KEY = "imdb_edge.model"
VECTORIZER_KEY = "imdb_edge.vectorizer"
TRAINING_KEY = "imdb_edge.training"
EXPORT_KEY = "imdb_edge.export"
CHECKSUM_KEY = "imdb_edge.checksum"
MAX_MODEL_BYTES = 1 << 30

# ModelProto field numbers (onnx.proto3): graph = 7, metadata_props = 14.
_GRAPH_FIELD = 7
_METADATA_FIELD = 14


class _Corrupt(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Corrupt("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """Top-level (field number, wire type, value) of one protobuf message."""
    out = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Corrupt("field number 0")
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _Corrupt("field runs past the end of the file")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise _Corrupt(f"unknown wire type {wire}")
        if pos > len(data):
            raise _Corrupt("truncated field")
        out.append((number, wire, value))
    return out


def graph_sha256(graph_bytes: bytes) -> str:
    return hashlib.sha256(graph_bytes).hexdigest()


@dataclass
class ModelFile:
    """A verified model file: its bytes, parsed metadata and vectorizer."""

    path: str
    data: bytes
    metadata: dict[str, str]
    model: dict[str, Any]
    vectorizer: Vectorizer
    training: dict[str, Any]
    export: dict[str, Any]

    @property
    def input_form(self) -> str:
        return str(self.model["input_form"])


def _json_entry(metadata: dict[str, str], key: str, where: str) -> dict[str, Any]:
    if key not in metadata:
        raise ImdbEdgeError(f"{where}: metadata entry {key} is missing")
    try:
        value = json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise ImdbEdgeError(f"{where}: metadata entry {key} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ImdbEdgeError(f"{where}: metadata entry {key} must be a JSON object")
    return value


def parse_model_bytes(data: bytes, where: str = "model") -> ModelFile:
    """Check the structure, checksums and schema of a model file's bytes."""
    if not data:
        raise ImdbEdgeError(f"{where} is empty, not an ONNX model")
    try:
        fields = _fields(data)
        graph = [value for number, wire, value in fields if number == _GRAPH_FIELD and wire == 2]
        metadata: dict[str, str] = {}
        for number, wire, value in fields:
            if number == _METADATA_FIELD and wire == 2:
                entry = {n: v for n, w, v in _fields(value) if w == 2}
                metadata[entry.get(1, b"").decode("utf-8")] = entry.get(2, b"").decode("utf-8")
    except (_Corrupt, UnicodeDecodeError) as exc:
        raise ImdbEdgeError(f"{where} is not a valid ONNX file (damaged or truncated: {exc})") from None
    if len(graph) != 1:
        raise ImdbEdgeError(f"{where} is not an ONNX model (no graph found)")
    if SCHEMA_KEY not in metadata:
        raise ImdbEdgeError(
            f"{where} has no imdb-edge metadata: export it with `imdb-edge export` (plain ONNX files lack the "
            "vocabulary)"
        )
    if metadata[SCHEMA_KEY] != SCHEMA_VERSION:
        raise ImdbEdgeError(
            f"{where} uses metadata schema {metadata[SCHEMA_KEY]!r}; this imdb-edge reads schema {SCHEMA_VERSION}"
        )
    checksum = _json_entry(metadata, CHECKSUM_KEY, where)
    if checksum.get("graph_sha256") != graph_sha256(graph[0]):
        raise ImdbEdgeError(f"{where} is damaged: its weights do not match the checksum stored at export")
    if VECTORIZER_KEY not in metadata:
        raise ImdbEdgeError(f"{where}: metadata entry {VECTORIZER_KEY} (the vocabulary) is missing")
    vectorizer_text = metadata[VECTORIZER_KEY]
    if checksum.get("vectorizer_sha256") != hashlib.sha256(vectorizer_text.encode("utf-8")).hexdigest():
        raise ImdbEdgeError(f"{where} is damaged: its vocabulary does not match the checksum stored at export")
    try:
        vectorizer = Vectorizer.from_json(vectorizer_text)
    except ImdbEdgeError as exc:
        raise ImdbEdgeError(f"{where}: bad vocabulary: {exc}") from None
    model = _json_entry(metadata, MODEL_KEY, where)
    _check_model_entry(model, vectorizer, where)
    return ModelFile(
        path=where,
        data=data,
        metadata=metadata,
        model=model,
        vectorizer=vectorizer,
        training=_json_entry(metadata, TRAINING_KEY, where) if TRAINING_KEY in metadata else {},
        export=_json_entry(metadata, EXPORT_KEY, where) if EXPORT_KEY in metadata else {},
    )


def _check_model_entry(model: dict[str, Any], vectorizer: Vectorizer, where: str) -> None:
    form = model.get("input_form")
    if form not in INPUT_FORMS:
        raise ImdbEdgeError(f"{where}: unknown input form {form!r} (expected one of {', '.join(INPUT_FORMS)})")
    for key in ("input_name", "output_name"):
        if not isinstance(model.get(key), str):
            raise ImdbEdgeError(f"{where}: model metadata lacks {key}")
    labels = model.get("labels")
    if not (isinstance(labels, list) and len(labels) == 2 and all(isinstance(x, str) for x in labels)):
        raise ImdbEdgeError(f"{where}: model metadata must name two labels")
    threshold = model.get("threshold")
    if not isinstance(threshold, (int, float)) or not 0.0 < threshold < 1.0:
        raise ImdbEdgeError(f"{where}: decision threshold must be a number in (0, 1), got {threshold!r}")
    width = model.get("input_width")
    expected = input_width(form, vectorizer.size)
    if form != TEXT and width != expected:
        raise ImdbEdgeError(
            f"{where}: the graph expects {width} features but the vocabulary gives {expected}; "
            "model and vocabulary do not belong together"
        )


def read_model_file(path: str | Path) -> ModelFile:
    """Read and verify a model file, with one-line errors for every way it can be wrong."""
    path = Path(path)
    if path.is_dir():
        raise ImdbEdgeError(f"{path} is a directory, not a model file")
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ImdbEdgeError(f"{path} is {size} bytes, larger than any imdb-edge model")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImdbEdgeError(f"model file {path} does not exist") from None
    except PermissionError:
        raise ImdbEdgeError(f"model file {path} is not readable (permission denied)") from None
    return parse_model_bytes(data, where=str(path))
