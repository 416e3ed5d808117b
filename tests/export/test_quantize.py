"""int8 quantization leaves the caller's logging as it found it."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("onnx", reason="quantization needs the onnx package (the [train] extra)")

from imdb_edge.export.graphs import token_ids_graph
from imdb_edge.export.quantize import quantize_int8
from tests.model_factory import sentiment_layers, sentiment_vectorizer


def test_quantize_restores_the_root_logger_level() -> None:
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.INFO)
    try:
        quantized = quantize_int8(token_ids_graph(sentiment_layers(sentiment_vectorizer())))
        assert root.level == logging.INFO
    finally:
        root.setLevel(before)
    assert any(init.data_type in (2, 3) for init in quantized.graph.initializer), "no 8-bit table in the graph"
