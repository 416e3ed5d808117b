"""Write the imdb-edge metadata schema (see runtime/modelfile/reader.py) into an ONNX model, and the
one sequence every export ends with: stamp, load through the runtime, write atomically.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from imdb_edge.atomic import write_bytes
from imdb_edge.runtime.modelfile import arrays as model_arrays
from imdb_edge.runtime.modelfile import checksums
from imdb_edge.runtime.modelfile.protowire import length_prefix
from imdb_edge.runtime.modelfile.reader import ModelFile, parse_model_bytes
from imdb_edge.runtime.modelfile.schema import (
    CHECKSUM_KEY,
    DENSE,
    EXPORT_KEY,
    MODEL_KEY,
    RUNTIME_ARRAY_PREFIX,
    SCHEMA_KEY,
    SCHEMA_VERSION,
    TEXT,
    TEXT_FAST,
    TOKEN_IDS,
    TRAINING_KEY,
    VECTORIZER_KEY,
)

CONVERTERS = {
    DENSE: "tf2onnx.from_function",
    TOKEN_IDS: "imdb-edge token-id graph (onnx.helper)",
    TEXT: "imdb-edge text graph: standard string ops + token-id graph (onnx.helper)",
    TEXT_FAST: "imdb-edge text_fast graph: contrib Tokenizer and MurmurHash3, a perfect hash, the token-id graph",
}
"""The `converter` each input form's export records."""


def stamp_model(
    proto: Any, model: dict[str, Any], vectorizer_json: str, training: dict[str, Any], export: dict[str, Any]
) -> tuple[bytes, ModelFile]:
    """Replace `proto`'s metadata with these entries and their checksums (in place); serialize it
    and re-read the bytes as the runtime will, so a file that would not load is never written.

    The vectorizer's arrays become runtime arrays outside the graph (runtime/modelfile/arrays.py), except in
    the portable text form, which keeps them inline as it always has.
    """
    entries = {
        SCHEMA_KEY: SCHEMA_VERSION,
        MODEL_KEY: json.dumps(model, allow_nan=False),
        VECTORIZER_KEY: attach_vectorizer_arrays(proto, vectorizer_json, model.get("input_form") != TEXT),
        TRAINING_KEY: json.dumps(training, allow_nan=False),
        EXPORT_KEY: json.dumps(export, allow_nan=False),
    }
    data = stamp_entries(proto, entries)
    return data, parse_model_bytes(data, where="exported model")


def attach_vectorizer_arrays(proto: Any, vectorizer_json: str, as_arrays: bool) -> str:
    """The vectorizer entry, its base64 arrays moved into `proto` as raw runtime arrays (in place; earlier ones,
    in the graph or outside it, replaced) where `as_arrays`; the JSON then names them (runtime/modelfile/arrays.py).
    """
    from onnx import TensorProto

    kept = [t for t in proto.graph.initializer if not t.name.startswith(RUNTIME_ARRAY_PREFIX)]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)
    proto.DiscardUnknownFields()  # imdb-edge writes no other field ONNX does not define
    document = json.loads(vectorizer_json)
    if not as_arrays or not any(isinstance(document.get(k), str) for k in model_arrays.VECTORIZER_ARRAYS):
        return vectorizer_json
    for key, data_type in model_arrays.VECTORIZER_ARRAYS.items():
        if isinstance(document.get(key), str):
            raw = base64.b64decode(document[key], validate=True)
            tensor = TensorProto(name=model_arrays.array_name(key), data_type=data_type, raw_data=raw)
            tensor.dims.append(len(raw) // model_arrays.ITEM_BYTES[data_type])
            field = length_prefix(model_arrays.RUNTIME_ARRAYS_FIELD, tensor.ByteSize())
            proto.MergeFromString(field + tensor.SerializeToString())  # an unknown field: onnx keeps it
            document[key] = {model_arrays.REFERENCE_KEY: tensor.name}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def stamp_entries(proto: Any, entries: dict[str, str]) -> bytes:
    """Replace `proto`'s metadata with `entries` plus the checksum entry, in place; return the file's bytes.

    The checksum covers the graph, the file's structure, the vocabulary and every
    other entry, so nothing that decides an answer (labels, threshold, input form,
    names) can change unseen.
    """
    del proto.metadata_props[:]
    entries = {key: value for key, value in entries.items() if key != CHECKSUM_KEY}
    encoded = {key: value.encode("utf-8") for key, value in entries.items()}
    algorithm = checksums.ALGORITHM_OF_SCHEMA.get(entries.get(SCHEMA_KEY, ""), "crc32")
    entries[CHECKSUM_KEY] = json.dumps(
        checksums.checksum_entry(
            algorithm,
            graph=proto.graph.SerializeToString(),
            structure=proto.SerializeToString(),  # everything but the metadata: opset, IR version, producer, graph
            entries=encoded,
            keys=(VECTORIZER_KEY, CHECKSUM_KEY),
        )
    )
    for key, value in entries.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return bytes(proto.SerializeToString())


def candidate_scores(
    proto: Any,
    model: dict[str, Any],
    vectorizer_json: str,
    training: dict[str, Any],
    export: dict[str, Any],
    texts: list[str],
) -> tuple[int, Any]:
    """Stamp a candidate file and score `texts` through the real runtime, as the parity checks compare it.
    Returns its size in bytes and the scores."""
    from imdb_edge.runtime.classifier import Classifier

    data, model_file = stamp_model(proto, model, vectorizer_json, training, export)
    return len(data), Classifier(model_file).scores(texts)


def write_verified(
    out: Path, proto: Any, model: dict[str, Any], vectorizer_json: str, training: dict[str, Any], export: dict[str, Any]
) -> tuple[int, ModelFile]:
    """Stamp the final metadata, prove the bytes load in the runtime (checksums, graph check, session and
    probe), then write them atomically: a file that would not load is never written. Returns its size."""
    from imdb_edge.runtime.classifier import Classifier

    data, model_file = stamp_model(proto, model, vectorizer_json, training, export)
    Classifier(model_file)
    write_bytes(out, data)
    return len(data), model_file
