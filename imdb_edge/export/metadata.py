"""Write the imdb-edge metadata schema (see runtime/model_file.py) into an ONNX model."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from imdb_edge.runtime import model_file
from imdb_edge.runtime.model_file import ModelFile, parse_model_bytes


def stamp_model(
    proto: Any, model: dict[str, Any], vectorizer_json: str, training: dict[str, Any], export: dict[str, Any]
) -> tuple[bytes, ModelFile]:
    """Replace `proto`'s metadata with these entries and their checksums (in place); serialize it
    and re-read the bytes as the runtime will, so a file that would not load is never written.
    """
    entries = {
        model_file.SCHEMA_KEY: model_file.SCHEMA_VERSION,
        model_file.MODEL_KEY: json.dumps(model, allow_nan=False),
        model_file.VECTORIZER_KEY: vectorizer_json,
        model_file.TRAINING_KEY: json.dumps(training, allow_nan=False),
        model_file.EXPORT_KEY: json.dumps(export, allow_nan=False),
    }
    data = stamp_entries(proto, entries)
    return data, parse_model_bytes(data, where="exported model")


def stamp_entries(proto: Any, entries: dict[str, str]) -> bytes:
    """Replace `proto`'s metadata with `entries` plus the checksum entry, in place; return the file's bytes.

    The checksum covers the graph, the file's structure, the vocabulary and every
    other entry, so nothing that decides an answer (labels, threshold, input form,
    names) can change unseen.
    """
    del proto.metadata_props[:]
    entries = {key: value for key, value in entries.items() if key != model_file.CHECKSUM_KEY}
    entries[model_file.CHECKSUM_KEY] = json.dumps(
        {
            "graph_sha256": model_file.graph_sha256(proto.graph.SerializeToString()),
            # everything but the metadata: opset, IR version, producer, graph
            "structure_sha256": model_file.structure_sha256(proto.SerializeToString()),
            "vectorizer_sha256": hashlib.sha256(entries[model_file.VECTORIZER_KEY].encode("utf-8")).hexdigest(),
            "metadata_sha256": model_file.metadata_sha256(entries),
        }
    )
    for key, value in entries.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return bytes(proto.SerializeToString())
