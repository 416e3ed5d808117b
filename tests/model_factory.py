"""Small model files built without TensorFlow, for runtime and metadata tests.

Building them needs the `onnx` package (the [onnx] or [train] extra): on a base
install, every test module that imports this one is skipped with that reason.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx", reason="building test models needs the onnx package (pip install '.[onnx]')")

from imdb_edge.export.graphs import OPSET, DenseLayer, token_ids_graph
from imdb_edge.export.metadata import stamp_entries, stamp_model
from imdb_edge.runtime.modelfile import schema
from imdb_edge.runtime.modelfile.schema import TEXT, TEXT_FAST, TOKEN_IDS
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig

GOOD = ["great", "wonderful", "excellent", "loved", "masterpiece", "superb"]
BAD = ["awful", "boring", "terrible", "waste", "worst", "dull"]
NEUTRAL = ["movie", "film", "the", "a", "was", "it", "this", "time", "of"]


def sentiment_vectorizer(ngram_max: int = 1, negation: bool = False) -> Vectorizer:
    corpus = [" ".join(GOOD), " ".join(BAD), " ".join(NEUTRAL), "not good, not bad: the movie was"]
    if negation:  # the marked words too, so a mark out of place changes the ids
        corpus += [f"not {' '.join(GOOD + BAD + NEUTRAL)}"] * 2 + ["don't like it. it wasn't a waste"]
    return Vectorizer.fit(corpus, VectorizerConfig(max_features=200, ngram_max=ngram_max, negation=negation))


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


def linear_layers(vectorizer: Vectorizer) -> list[DenseLayer]:
    """A linear model like the shipped one (one weight per term, a bias, sigmoid): good words up, bad down."""
    kernel = np.random.default_rng(1).normal(0, 0.05, (vectorizer.size, 1)).astype(np.float32)
    for words, weight in ((GOOD, 2.0), (BAD, -2.0)):
        for word in words:
            kernel[vectorizer.vocabulary.index(word), 0] = weight
    return [DenseLayer(kernel, np.array([0.1], dtype=np.float32), "sigmoid")]


THREE_LABELS = ("negative", "neutral", "positive")


def three_label_layers(vectorizer: Vectorizer) -> list[DenseLayer]:
    """Hand-set weights of a linear softmax over THREE_LABELS: good words -> positive, bad -> negative, and
    plain words (and the empty review, through the bias) -> neutral."""
    kernel = np.zeros((vectorizer.size, 3), dtype=np.float32)
    for words, column in ((BAD, 0), (NEUTRAL, 1), (GOOD, 2)):
        for word in words:
            kernel[vectorizer.vocabulary.index(word), column] = 2.0
    return [DenseLayer(kernel, np.array([0.0, 0.5, 0.0], dtype=np.float32), "softmax")]


def model_entry(vectorizer: Vectorizer, **changes: Any) -> dict[str, Any]:
    labels = tuple(changes.pop("labels", schema.LABELS))
    return {**schema.model_entry(TOKEN_IDS, vectorizer.size, "fp32", OPSET, labels), **changes}


def build_model_bytes(
    form: str = TOKEN_IDS,
    ngram_max: int = 1,
    compact: bool = False,
    negation: bool = False,
    labels: tuple[str, ...] = schema.LABELS,
    linear: bool = False,
    **model_changes: Any,
) -> bytes:
    vectorizer = sentiment_vectorizer(ngram_max, negation)
    if len(labels) != 2:
        layers = three_label_layers(vectorizer)
    else:
        layers = linear_layers(vectorizer) if linear else sentiment_layers(vectorizer)
    model_changes = {**model_changes, "labels": labels}
    proto = token_ids_graph(layers)
    if form == TEXT:
        from imdb_edge.export.text_graph import TEXT_OPSET, text_graph

        proto = text_graph(proto, vectorizer)
        text_form = schema.model_entry(TEXT, vectorizer.size, "fp32", TEXT_OPSET, labels)
        model_changes = {**text_form, **model_changes}
    elif form == TEXT_FAST:
        from imdb_edge.export.fast_text_graph import TEXT_FAST_OPSET, fast_vectorizer, text_fast_graph

        proto = text_fast_graph(proto, vectorizer)
        vectorizer = fast_vectorizer(vectorizer)
        text_form = schema.model_entry(TEXT_FAST, vectorizer.size, "fp32", TEXT_FAST_OPSET)
        model_changes = {**text_form, **model_changes}
    data, _ = stamp_model(
        proto,
        model_entry(vectorizer, **model_changes),
        vectorizer.to_json(compact=compact),
        {"metrics": {"test_accuracy": 1.0}},
        {"test_accuracy": 1.0},
    )
    return data


def restamp(data: bytes, entries: dict[str, str], graph: Any = None, keep_arrays: bool = True) -> bytes:
    """A model file with changed metadata entries (or graph) and freshly computed checksums.

    What a deliberate forger would write: it gets past the checksum, so the checks
    behind it are what must refuse it.
    """
    import onnx

    proto = onnx.load_model_from_string(data)
    if graph is not None:
        proto.graph.CopyFrom(graph)
    if not keep_arrays:  # the runtime's arrays, outside the graph (schema 4)
        proto.DiscardUnknownFields()
    metadata = {e.key: e.value for e in proto.metadata_props}
    return stamp_entries(proto, {**metadata, **entries})


def as_schema_3(data: bytes) -> bytes:
    """A model file in the schema 3 layout, as imdb-edge wrote them before: the runtime's arrays as graph
    initializers (onnxruntime warns about each), not in the field of their own that schema 4 gives them."""
    import onnx

    from imdb_edge.runtime.modelfile.arrays import RUNTIME_ARRAYS_FIELD
    from imdb_edge.runtime.modelfile.protowire import fields
    from imdb_edge.runtime.modelfile.schema import SCHEMA_KEY

    proto = onnx.load_model_from_string(data)
    arrays = [onnx.TensorProto.FromString(bytes(v)) for n, _w, v in fields(data) if n == RUNTIME_ARRAYS_FIELD]
    proto.DiscardUnknownFields()
    proto.graph.initializer.extend(arrays)
    metadata = {e.key: e.value for e in proto.metadata_props}
    return stamp_entries(proto, {**metadata, SCHEMA_KEY: "3"})


def varint(value: int) -> bytes:
    """Protobuf varint (a negative int64 as its 10-byte two's complement)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def field(number: int, value: int | bytes) -> bytes:
    """One protobuf field: a varint for an int, length-delimited for bytes."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def with_raw_initializer(data: bytes, name: str, tensor: bytes) -> bytes:
    """`data` with initializer `name` replaced by the serialized TensorProto `tensor`, byte for byte, and fresh
    checksums: repeated or unknown fields survive (the `onnx` package would merge or reorder them)."""
    from imdb_edge.runtime.modelfile import checksums
    from imdb_edge.runtime.modelfile.protowire import fields, spans
    from imdb_edge.runtime.modelfile.reader import CHECKSUM_KEY, SCHEMA_KEY, VECTORIZER_KEY

    structure, entries = [], {}
    for number, _wire, value, start, end in spans(memoryview(data)):
        if number == 14:
            entry = {n: bytes(v) for n, _w, v in fields(value)}
            entries[entry[1].decode()] = entry[2]
        elif number == 7:
            graph = []
            for g_number, _g_wire, g_value, g_start, g_end in spans(value):
                names = [bytes(v) for n, _w, v in fields(g_value) if n == 8] if g_number == 5 else []
                graph.append(field(5, tensor) if names == [name.encode()] else bytes(value[g_start:g_end]))
            structure.append(field(7, b"".join(graph)))
        else:
            structure.append(bytes(data[start:end]))
    algorithm = checksums.ALGORITHM_OF_SCHEMA[entries[SCHEMA_KEY].decode()]
    whole = b"".join(structure)
    graph_bytes = next(bytes(v) for n, _w, v in fields(whole) if n == 7)
    checksum = checksums.checksum_entry(algorithm, graph_bytes, whole, entries, (VECTORIZER_KEY, CHECKSUM_KEY))
    entries[CHECKSUM_KEY] = json.dumps(checksum).encode()
    return whole + b"".join(field(14, field(1, key.encode()) + field(2, value)) for key, value in entries.items())


def _token_id_graph_from(nodes: list[Any], initializers: list[Any]) -> Any:
    """A graph with the token-id form's input and output around `nodes` (which must compute "score")."""
    from onnx import TensorProto, helper

    return helper.make_graph(
        nodes,
        "hostile",
        [helper.make_tensor_value_info("token_ids", TensorProto.INT64, ["n", "w"])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["n", 1])],
        initializers,
    )


def slow_graph(matmuls: int = 200, doublings: int = 11) -> Any:
    """Only allowed operators, nothing folded at load, yet every run is slow: the input's sum (1 x 1) is
    doubled along both axes to 2**doublings squared, then multiplied by itself `matmuls` times."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Cast", ["token_ids"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["x", "axis_1"], ["row"], keepdims=1),
        helper.make_node("ReduceSum", ["row"], ["seed"], keepdims=1),
    ]
    current = "seed"
    for axis in (0, 1):
        for i in range(doublings):
            nodes.append(helper.make_node("Concat", [current, current], [f"d{axis}_{i}"], axis=axis))
            current = f"d{axis}_{i}"
    for i in range(matmuls):
        nodes.append(helper.make_node("MatMul", [current, current], [f"m{i}"]))
        nodes.append(helper.make_node("Tanh", [f"m{i}"], [f"t{i}"]))
        current = f"t{i}"
    nodes += [
        helper.make_node("ReduceSum", [current], ["total"], keepdims=1),
        helper.make_node("Add", ["row", "total"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["score"]),
    ]
    axis_1 = numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_1")
    return _token_id_graph_from(nodes, [axis_1])


def batch_cubed_graph(matmuls: int = 60) -> Any:
    """Fast on the load probe's two rows, slow on a real batch: an n x n matrix (n = batch size) multiplied
    by itself `matmuls` times."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Cast", ["token_ids"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["x", "axis_1"], ["row"], keepdims=1),
        helper.make_node("Reshape", ["row", "as_row"], ["across"]),
        helper.make_node("MatMul", ["row", "across"], ["square"]),
    ]
    current = "square"
    for i in range(matmuls):
        nodes.append(helper.make_node("MatMul", [current, current], [f"m{i}"]))
        nodes.append(helper.make_node("Tanh", [f"m{i}"], [f"t{i}"]))
        current = f"t{i}"
    nodes += [
        helper.make_node("ReduceSum", [current, "axis_1"], ["total"], keepdims=1),
        helper.make_node("Sigmoid", ["total"], ["score"]),
    ]
    constants = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_1"),
        numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "as_row"),
    ]
    return _token_id_graph_from(nodes, constants)


def two_rows_only_graph() -> Any:
    """Runs on the load probe (always two rows) and fails on anything else: the sum is reshaped to two rows."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Cast", ["token_ids"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["x", "axis_1"], ["row"], keepdims=1),
        helper.make_node("Reshape", ["row", "two_rows"], ["pair"]),
        helper.make_node("Sigmoid", ["pair"], ["score"]),
    ]
    constants = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_1"),
        numpy_helper.from_array(np.array([2, 1], dtype=np.int64), "two_rows"),
    ]
    return _token_id_graph_from(nodes, constants)
