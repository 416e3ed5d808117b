"""Write the imdb-edge metadata schema (see runtime/model_file.py) into an ONNX model."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from imdb_edge.runtime import model_file as schema
from imdb_edge.runtime.model_file import ModelFile, parse_model_bytes


def with_metadata(
    proto: Any, model: dict[str, Any], vectorizer_json: str, training: dict[str, Any], export: dict[str, Any]
) -> tuple[bytes, ModelFile]:
    """Serialize `proto` with the metadata entries and checksums; re-read it as the runtime will.

    The checksum covers the graph, the vocabulary and every other entry, so nothing
    that decides an answer (labels, threshold, input form, names) can change unseen.
    """
    del proto.metadata_props[:]
    graph_bytes = proto.graph.SerializeToString()
    structure = proto.SerializeToString()  # everything but the metadata: opset, IR version, producer, graph
    entries = {
        schema.SCHEMA_KEY: schema.SCHEMA_VERSION,
        schema.MODEL_KEY: json.dumps(model, allow_nan=False),
        schema.VECTORIZER_KEY: vectorizer_json,
        schema.TRAINING_KEY: json.dumps(training, allow_nan=False),
        schema.EXPORT_KEY: json.dumps(export, allow_nan=False),
    }
    entries[schema.CHECKSUM_KEY] = json.dumps(
        {
            "graph_sha256": schema.graph_sha256(graph_bytes),
            "structure_sha256": schema.structure_sha256(structure),
            "vectorizer_sha256": hashlib.sha256(vectorizer_json.encode("utf-8")).hexdigest(),
            "metadata_sha256": schema.metadata_sha256(entries),
        }
    )
    for key, value in entries.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    data = proto.SerializeToString()
    return data, parse_model_bytes(data, where="exported model")
