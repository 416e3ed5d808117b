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
    """Serialize `proto` with the metadata entries and checksums; re-read it as the runtime will."""
    del proto.metadata_props[:]
    graph_bytes = proto.graph.SerializeToString()
    entries = {
        schema.SCHEMA_KEY: schema.SCHEMA_VERSION,
        schema.MODEL_KEY: json.dumps(model),
        schema.VECTORIZER_KEY: vectorizer_json,
        schema.TRAINING_KEY: json.dumps(training),
        schema.EXPORT_KEY: json.dumps(export),
        schema.CHECKSUM_KEY: json.dumps(
            {
                "graph_sha256": schema.graph_sha256(graph_bytes),
                "vectorizer_sha256": hashlib.sha256(vectorizer_json.encode("utf-8")).hexdigest(),
            }
        ),
    }
    for key, value in entries.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    data = proto.SerializeToString()
    return data, parse_model_bytes(data, where="exported model")
