"""Write the imdb-edge metadata schema (see runtime/model_file.py) into an ONNX model."""

from __future__ import annotations

import base64
import json
from typing import Any

from imdb_edge.runtime import checksums, model_arrays, model_file
from imdb_edge.runtime.model_file import ModelFile, parse_model_bytes
from imdb_edge.runtime.schema import TEXT


def stamp_model(
    proto: Any, model: dict[str, Any], vectorizer_json: str, training: dict[str, Any], export: dict[str, Any]
) -> tuple[bytes, ModelFile]:
    """Replace `proto`'s metadata with these entries and their checksums (in place); serialize it
    and re-read the bytes as the runtime will, so a file that would not load is never written.

    The vectorizer's arrays become graph initializers, except in the text form: apps run
    that one in plain onnxruntime, which would warn about initializers no node uses.
    """
    entries = {
        model_file.SCHEMA_KEY: model_file.SCHEMA_VERSION,
        model_file.MODEL_KEY: json.dumps(model, allow_nan=False),
        model_file.VECTORIZER_KEY: attach_vectorizer_arrays(proto, vectorizer_json, model.get("input_form") != TEXT),
        model_file.TRAINING_KEY: json.dumps(training, allow_nan=False),
        model_file.EXPORT_KEY: json.dumps(export, allow_nan=False),
    }
    data = stamp_entries(proto, entries)
    return data, parse_model_bytes(data, where="exported model")


def attach_vectorizer_arrays(proto: Any, vectorizer_json: str, as_initializers: bool) -> str:
    """The vectorizer entry, its base64 arrays moved into `proto`'s graph as raw initializers (in place;
    earlier ones replaced) where `as_initializers`; the JSON then names them (runtime/model_arrays.py)."""
    kept = [t for t in proto.graph.initializer if not t.name.startswith(model_arrays.PREFIX)]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)
    document = json.loads(vectorizer_json)
    if not as_initializers or not any(isinstance(document.get(k), str) for k in model_arrays.VECTORIZER_ARRAYS):
        return vectorizer_json
    for key, data_type in model_arrays.VECTORIZER_ARRAYS.items():
        if isinstance(document.get(key), str):
            raw = base64.b64decode(document[key], validate=True)
            tensor = proto.graph.initializer.add()
            tensor.name, tensor.data_type, tensor.raw_data = model_arrays.array_name(key), data_type, raw
            tensor.dims.append(len(raw) // model_arrays.ITEM_BYTES[data_type])
            document[key] = {model_arrays.REFERENCE_KEY: tensor.name}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def stamp_entries(proto: Any, entries: dict[str, str]) -> bytes:
    """Replace `proto`'s metadata with `entries` plus the checksum entry, in place; return the file's bytes.

    The checksum covers the graph, the file's structure, the vocabulary and every
    other entry, so nothing that decides an answer (labels, threshold, input form,
    names) can change unseen.
    """
    del proto.metadata_props[:]
    entries = {key: value for key, value in entries.items() if key != model_file.CHECKSUM_KEY}
    encoded = {key: value.encode("utf-8") for key, value in entries.items()}
    algorithm = checksums.ALGORITHM_OF_SCHEMA.get(entries.get(model_file.SCHEMA_KEY, ""), "crc32")
    entries[model_file.CHECKSUM_KEY] = json.dumps(
        checksums.checksum_entry(
            algorithm,
            graph=proto.graph.SerializeToString(),
            structure=proto.SerializeToString(),  # everything but the metadata: opset, IR version, producer, graph
            entries=encoded,
            keys=(model_file.VECTORIZER_KEY, model_file.CHECKSUM_KEY),
        )
    )
    for key, value in entries.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return bytes(proto.SerializeToString())
