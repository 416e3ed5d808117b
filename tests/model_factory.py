"""Small model files built without TensorFlow, for runtime and metadata tests.

Building them needs the `onnx` package (the [onnx] or [train] extra): on a base
install, every test module that imports this one is skipped with that reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx", reason="building test models needs the onnx package (pip install '.[onnx]')")

from imdb_edge.export.graphs import OPSET, DenseLayer, token_ids_graph
from imdb_edge.export.metadata import stamp_entries, stamp_model
from imdb_edge.runtime import schema
from imdb_edge.runtime.schema import TEXT, TOKEN_IDS
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig

GOOD = ["great", "wonderful", "excellent", "loved", "masterpiece", "superb"]
BAD = ["awful", "boring", "terrible", "waste", "worst", "dull"]
NEUTRAL = ["movie", "film", "the", "a", "was", "it", "this", "time", "of"]


def sentiment_vectorizer(ngram_max: int = 1) -> Vectorizer:
    corpus = [" ".join(GOOD), " ".join(BAD), " ".join(NEUTRAL), "not good, not bad: the movie was"]
    return Vectorizer.fit(corpus, VectorizerConfig(max_features=200, ngram_max=ngram_max))


def sentiment_layers(vectorizer: Vectorizer, hidden: int = 4) -> list[DenseLayer]:
    """Hand-set weights: good words push the score up, bad words down; n-grams get small random weights."""
    first = np.random.default_rng(0).normal(0, 0.05, (vectorizer.size, hidden)).astype(np.float32)
    for word in GOOD:
        first[vectorizer.vocabulary.index(word), 0] = 2.0
    for word in BAD:
        first[vectorizer.vocabulary.index(word), 1] = 2.0
    second = np.zeros((hidden, 1), dtype=np.float32)
    second[0, 0], second[1, 0] = 1.5, -1.5
    return [
        DenseLayer(first, np.zeros(hidden, dtype=np.float32), "relu"),
        DenseLayer(second, np.zeros(1, dtype=np.float32), "sigmoid"),
    ]


def model_entry(vectorizer: Vectorizer, **changes: Any) -> dict[str, Any]:
    return {**schema.model_entry(TOKEN_IDS, vectorizer.size, "fp32", OPSET), **changes}


def build_model_bytes(form: str = TOKEN_IDS, ngram_max: int = 1, compact: bool = False, **model_changes: Any) -> bytes:
    vectorizer = sentiment_vectorizer(ngram_max)
    proto = token_ids_graph(sentiment_layers(vectorizer))
    if form == TEXT:
        from imdb_edge.export.text_graph import TEXT_OPSET, text_graph

        proto = text_graph(proto, vectorizer)
        text_form = schema.model_entry(TEXT, vectorizer.size, "fp32", TEXT_OPSET)
        model_changes = {**text_form, **model_changes}
    data, _ = stamp_model(
        proto,
        model_entry(vectorizer, **model_changes),
        vectorizer.to_json(compact=compact),
        {"metrics": {"test_accuracy": 1.0}},
        {"test_accuracy": 1.0},
    )
    return data


def restamp(data: bytes, entries: dict[str, str], graph: Any = None) -> bytes:
    """A model file with changed metadata entries (or graph) and freshly computed checksums.

    What a deliberate forger would write: it gets past the checksum, so the checks
    behind it are what must refuse it.
    """
    import onnx

    proto = onnx.load_model_from_string(data)
    if graph is not None:
        proto.graph.CopyFrom(graph)
    metadata = {e.key: e.value for e in proto.metadata_props}
    return stamp_entries(proto, {**metadata, **entries})
