"""The self-contained model file: an ONNX graph plus imdb-edge metadata.

Metadata lives in the ONNX `metadata_props` (string key/value pairs), so the one
`.onnx` file is all a device needs. Schema, version 3:

- ``imdb_edge.schema``: "4" (3: the same, with the arrays below as graph initializers)
- ``imdb_edge.model``: JSON: input form ("dense", "token_ids" or "text"), input and
  output names, input width, label names, decision threshold, precision, opset
- ``imdb_edge.vectorizer``: the vectorizer JSON (tokenizer, n-grams, vocabulary); its big
  arrays (term fingerprints, packed terms) are graph initializers named ``imdb_edge.*``
  that the JSON refers to (runtime/modelfile/arrays.py), read in place at load
- ``imdb_edge.training``: JSON: training config, metrics, data checksum
- ``imdb_edge.export``: JSON: parity and quantization reports, tool versions, time
- ``imdb_edge.checksum``: JSON: CRC-32 of the graph (all weights), of the whole
  ONNX model without its metadata (opset, IR version, producer), of the vectorizer,
  and of every other imdb_edge entry (labels, threshold, input form, names,
  reports), verified on every load so a damaged file is refused, not misread
  (runtime/modelfile/checksums.py)

Schema 2 files (sha256 digests; the vectorizer's arrays as base64 inside its JSON) still load. Schema 1
files (checksum over graph and vectorizer only, so one flipped bit in the
labels or threshold changed answers) are refused with a request to re-export.

The file is read with a tiny protobuf walker (no `onnx` package needed on the
device): it finds the graph bytes to hash and the metadata entries. Only regular
files within MAX_MODEL_BYTES are read; metadata JSON is parsed with limits
(safe_json.py); the graph is checked before onnxruntime sees it
(runtime/modelfile/graph_check.py).
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imdb_edge import safe_json
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.modelfile import checksums
from imdb_edge.runtime.modelfile.arrays import ARRAY_SCHEMAS, RawArray, resolve, split_runtime_arrays
from imdb_edge.runtime.modelfile.graph_check import check_graph
from imdb_edge.runtime.modelfile.onnx_fields import ENTRY_KEY, ENTRY_VALUE, MODEL_GRAPH, MODEL_METADATA
from imdb_edge.runtime.modelfile.protowire import Corrupt, fields, spans, values_of
from imdb_edge.runtime.modelfile.schema import (
    CHECKSUM_KEY,
    DENSE,
    EXPORT_KEY,
    INPUT_FORMS,
    MAX_LABELS,
    MODEL_KEY,
    SCHEMA_KEY,
    TEXT,
    TOKEN_IDS,
    TRAINING_KEY,
    VECTORIZER_KEY,
    input_width,
)
from imdb_edge.runtime.modelfile.text_vocabulary import check_text_vocabulary
from imdb_edge.runtime.vectorizer import Vectorizer

READABLE_SCHEMAS = tuple(checksums.ALGORITHM_OF_SCHEMA)
MAX_MODEL_BYTES = 1 << 30


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
    graph_model: bytes
    """The model without its metadata and runtime arrays: what onnxruntime needs (it would parse and keep the
    vocabulary too)."""

    @property
    def input_form(self) -> str:
        return str(self.model["input_form"])

    @functools.cached_property
    def sha256(self) -> str:
        """sha256 of the whole file: its identity for `--resume` and `info`, and what `--model-sha256` pins.

        The checksums inside the file only catch accidental damage (whoever can edit the file can rewrite
        them); this names the exact bytes. Computed when first asked (about 2 ms for the shipped model)."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def identity(self) -> str:
        return self.sha256


def _json_entry(metadata: dict[str, str], key: str, where: str) -> dict[str, Any]:
    if key not in metadata:
        raise ImdbEdgeError(f"{where}: metadata entry {key} is missing")
    try:
        value = safe_json.loads(metadata[key])
    except safe_json.JsonRefused as exc:
        raise ImdbEdgeError(f"{where}: metadata entry {key} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ImdbEdgeError(f"{where}: metadata entry {key} must be a JSON object")
    return value


def _metadata_entries(fields_: list[tuple[int, int, Any]], where: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """The metadata entries as text, and as the UTF-8 bytes stored (which the checksums cover)."""
    metadata: dict[str, str] = {}
    stored: dict[str, bytes] = {}
    for number, wire, value in fields_:
        if number == MODEL_METADATA and wire == 2:
            entry = {n: v for n, w, v in fields(value) if w == 2}
            key = bytes(entry.get(ENTRY_KEY, b"")).decode("utf-8")
            if key in metadata:
                raise ImdbEdgeError(f"{where}: metadata entry {key} appears twice")
            stored[key] = bytes(entry.get(ENTRY_VALUE, b""))
            metadata[key] = stored[key].decode("utf-8")
    return metadata, stored


def _check_schema(metadata: dict[str, str], where: str) -> None:
    if SCHEMA_KEY not in metadata:
        raise ImdbEdgeError(
            f"{where} has no imdb-edge metadata: export it with `imdb-edge export` (plain ONNX files lack the "
            "vocabulary)"
        )
    if metadata[SCHEMA_KEY] == "1":
        raise ImdbEdgeError(
            f"{where} uses metadata schema 1, whose checksum does not cover labels and threshold: re-export it "
            "with this imdb-edge (`imdb-edge export RUN_DIR --output FILE`)"
        )
    if metadata[SCHEMA_KEY] not in READABLE_SCHEMAS:
        raise ImdbEdgeError(
            f"{where} uses metadata schema {metadata[SCHEMA_KEY]!r}; this imdb-edge reads schemas "
            f"{' and '.join(READABLE_SCHEMAS)}"
        )


def _feature_count(data: Any) -> int | None:
    """The vocabulary's length, or the hash buckets of a hashed vectorizer (None: neither is readable)."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("vocabulary"), list):
        return len(data["vocabulary"])
    if isinstance(data.get("fingerprints"), memoryview):  # raw, from the graph's initializer
        return len(data["fingerprints"]) // 8 or None
    if isinstance(data.get("fingerprints"), str):  # base64 of 8 bytes a term
        encoded = data["fingerprints"]
        stored = len(encoded) // 4 * 3 - (len(encoded) - len(encoded.rstrip("=")))
        # Not the shape of 8-byte integers in base64: the vectorizer's own reader says what is wrong.
        return None if len(encoded) % 4 or stored % 8 or not stored else stored // 8
    config = data.get("config")
    buckets = config.get("hash_buckets") if isinstance(config, dict) else None
    return buckets if type(buckets) is int else None


def _vectorizer(
    text: str, graph_bytes: int, model: dict[str, Any], arrays: dict[str, RawArray], where: str
) -> Vectorizer:
    """Parse the vocabulary only when its size fits the graph that must carry a weight per term.

    `graph_bytes`: the size of what onnxruntime gets (the runtime's arrays left out, or a 160 MB array of
    fingerprints would vouch for itself)."""
    too_large = f"{where}: the vocabulary is larger than its graph could use; the file is not a model"
    if text.count('"') // 2 > graph_bytes + 1024:  # each term is a quoted string and owns >= 1 byte of weights
        raise ImdbEdgeError(too_large)
    try:
        data = safe_json.loads(text)
    except safe_json.JsonRefused as exc:
        raise ImdbEdgeError(f"{where}: bad vocabulary: {exc}") from None
    if isinstance(data, dict):
        resolve(data, arrays, where)
    size = _feature_count(data)
    if size is not None and size > graph_bytes + 1024:  # each feature owns >= 1 byte of weights
        raise ImdbEdgeError(too_large)
    width = model.get("input_width")
    if size is not None and model.get("input_form") in (TOKEN_IDS, DENSE):
        expected = input_width(model["input_form"], size)
        if width != expected:
            raise ImdbEdgeError(
                f"{where}: the graph expects {width} features but the vocabulary gives {expected}; "
                "model and vocabulary do not belong together"
            )
    try:
        return Vectorizer.from_dict(data)
    except ImdbEdgeError as exc:
        raise ImdbEdgeError(f"{where}: bad vocabulary: {exc}") from None


def parse_model_bytes(data: bytes, where: str = "model") -> ModelFile:
    """Check the structure, checksums and schema of a model file's bytes."""
    if not data:
        raise ImdbEdgeError(f"{where} is empty, not an ONNX model")
    view = memoryview(data)  # fields are sliced, not copied
    try:
        top = spans(view)
        graph = values_of(top, MODEL_GRAPH)
        metadata, stored = _metadata_entries([(n, w, v) for n, w, v, _start, _end in top], where)
    except (Corrupt, UnicodeDecodeError) as exc:
        raise ImdbEdgeError(f"{where} is not a valid ONNX file (damaged or truncated: {exc})") from None
    if len(graph) != 1:
        raise ImdbEdgeError(f"{where} is not an ONNX model (no graph found)")
    _check_schema(metadata, where)
    structure = [view[start:end] for number, _wire, _value, start, end in top if number != MODEL_METADATA]
    checksum = _json_entry(metadata, CHECKSUM_KEY, where)
    algorithm = checksums.ALGORITHM_OF_SCHEMA[metadata[SCHEMA_KEY]]
    checksums.verify(checksum, algorithm, graph[0], structure, stored, (VECTORIZER_KEY, CHECKSUM_KEY), where)
    try:
        arrays, graph_model = split_runtime_arrays(view, top, leave_out=MODEL_METADATA)
    except Corrupt as exc:
        raise ImdbEdgeError(f"{where} is not a valid ONNX file (damaged graph: {exc})") from None
    model = _json_entry(metadata, MODEL_KEY, where)
    if arrays and (metadata[SCHEMA_KEY] not in ARRAY_SCHEMAS or model.get("input_form") == TEXT):
        raise ImdbEdgeError(
            f"{where}: the file holds imdb_edge.* arrays, which only schema {' and '.join(ARRAY_SCHEMAS)} files "
            "other than the text form carry (the text form keeps its vocabulary inline, for plain onnxruntime)"
        )
    vectorizer = _vectorizer(metadata[VECTORIZER_KEY], len(graph_model), model, arrays, where)
    _check_model_entry(model, where)
    training = _json_entry(metadata, TRAINING_KEY, where) if TRAINING_KEY in metadata else {}
    export = _json_entry(metadata, EXPORT_KEY, where) if EXPORT_KEY in metadata else {}
    _check_report_types(training, export, where)
    check_graph(graph_model, where)  # what onnxruntime will get: no metadata, no runtime arrays
    if model.get("input_form") == TEXT:
        check_text_vocabulary(graph_model, vectorizer, where)
    return ModelFile(
        path=where,
        data=data,
        metadata=metadata,
        model=model,
        vectorizer=vectorizer,
        training=training,
        export=export,
        graph_model=graph_model,
    )


_NUMBER = (int, float)
# The fields of the training and export reports that `imdb-edge info` reads, and their types.
_REPORT_TYPES: dict[tuple[str, ...], tuple[type, ...]] = {
    ("training", "config"): (dict,),
    ("training", "metrics"): (dict,),
    ("training", "data"): (dict,),
    ("training", "config", "architecture"): (str,),
    ("training", "config", "hidden"): (list, int, str),
    ("training", "data", "fingerprint"): (str,),
    ("export", "test_accuracy"): _NUMBER,
    ("export", "parity_fp32"): (dict,),
    ("export", "parity_fp32", "max_abs_diff"): _NUMBER,
    ("export", "parity_fp32", "label_mismatches"): (int,),
    ("export", "parity_fp32", "rows"): (int,),
    ("export", "int8"): (dict,),
    ("export", "int8", "drop_points"): _NUMBER,
    ("export", "versions"): (dict,),
    ("export", "calibration"): (dict,),
    ("export", "calibration", "test"): (dict,),
    ("export", "calibration", "test", "ece"): _NUMBER,
    ("export", "calibration", "test", "log_loss"): _NUMBER,
    ("export", "calibration", "test_before"): (dict,),
    ("export", "calibration", "test_before", "ece"): _NUMBER,
    ("export", "calibration", "temperature"): _NUMBER,
    ("export", "created"): (str,),
}


def _check_report_types(training: dict[str, Any], export: dict[str, Any], where: str) -> None:
    sections = {"training": training, "export": export}
    for path, types in _REPORT_TYPES.items():
        value: Any = sections[path[0]]
        for key in path[1:]:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            raise ImdbEdgeError(f"{where}: metadata field {'.'.join(path)} has the wrong type ({type(value).__name__})")
    versions = export.get("versions") or {}
    if not all(isinstance(v, str) for v in versions.values()):
        raise ImdbEdgeError(f"{where}: metadata field export.versions must map names to version strings")


def _check_label(label: Any) -> bool:
    return isinstance(label, str) and 0 < len(label) <= 64 and label.isprintable() and label.strip() == label


def _check_model_entry(model: dict[str, Any], where: str) -> None:
    form = model.get("input_form")
    if form not in INPUT_FORMS:
        raise ImdbEdgeError(f"{where}: unknown input form {form!r} (expected one of {', '.join(INPUT_FORMS)})")
    for key in ("input_name", "output_name"):
        if not isinstance(model.get(key), str):
            raise ImdbEdgeError(f"{where}: model metadata lacks {key}")
    labels = model.get("labels")
    if not (isinstance(labels, list) and 2 <= len(labels) <= MAX_LABELS):
        raise ImdbEdgeError(f"{where}: model metadata must name 2 to {MAX_LABELS} labels")
    if not all(_check_label(x) for x in labels) or len(set(labels)) != len(labels):
        raise ImdbEdgeError(
            f"{where}: labels must be different non-empty names of printable characters (at most 64, no tab or "
            f"newline), got {labels!r}"[:300]
        )
    threshold = model.get("threshold")
    if len(labels) > 2:
        if threshold is not None:
            raise ImdbEdgeError(f"{where}: a model of {len(labels)} labels has no decision threshold")
        return
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < threshold < 1.0:
        raise ImdbEdgeError(f"{where}: decision threshold must be a number in (0, 1), got {threshold!r}")


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_MODEL_BYTES; never blocks on a FIFO or device."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ImdbEdgeError(f"{path} is a directory, not a model file")
        if not stat.S_ISREG(info.st_mode):
            raise ImdbEdgeError(f"{path} is not a regular file (a pipe, device or socket): give a .onnx model file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ImdbEdgeError(f"model file {path} does not exist") from None
    except PermissionError:
        raise ImdbEdgeError(f"model file {path} is not readable (permission denied)") from None
    except OSError as exc:  # a symlink loop, a name too long, an I/O error
        raise ImdbEdgeError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())  # the file opened, not whatever the name pointed to before
        if not stat.S_ISREG(info.st_mode):
            raise ImdbEdgeError(f"{path} is not a regular file (a pipe, device or socket): give a .onnx model file")
        if info.st_size > MAX_MODEL_BYTES:
            raise ImdbEdgeError(f"{path} is {info.st_size} bytes, larger than any imdb-edge model")
        # Sized by the file (a 1 GB read buffer costs more than the read); a file that grew meanwhile is read on.
        data = handle.read(info.st_size + 1)
        if len(data) > info.st_size:
            data += handle.read(MAX_MODEL_BYTES + 1 - len(data))
    if len(data) > MAX_MODEL_BYTES:
        raise ImdbEdgeError(f"{path} is larger than any imdb-edge model")
    return data


def check_pinned_sha256(data: bytes, sha256: str, where: str) -> None:
    """Refuse bytes whose sha256 is not the pinned one (checked before anything is parsed)."""
    pinned = sha256.strip().lower()
    if len(pinned) != 64 or pinned.strip("0123456789abcdef"):
        raise ImdbEdgeError(f"a pinned sha256 is 64 hex digits, got {sha256!r}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != pinned:
        raise ImdbEdgeError(f"{where} has sha256 {actual}, not the pinned {pinned}: it is not the model you pinned")


def read_model_file(path: str | Path, sha256: str | None = None) -> ModelFile:
    """Read and verify a model file, with one-line errors for every way it can be wrong.

    `sha256`: the file's expected sha256 (hex), checked before anything is parsed: the way to be sure a
    file is the one you meant, since its own checksums only catch accidental damage.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a model path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    data = read_regular_file(path)
    if sha256 is not None:
        check_pinned_sha256(data, sha256, str(path))
    return parse_model_bytes(data, where=str(path))
