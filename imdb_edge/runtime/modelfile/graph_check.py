"""Refuse graphs that could run unbounded at load, before onnxruntime sees them.

The exported forms use a small set of operators. Anything else (Scan, If,
Expand, Tile, ConstantOfShape, Range, other domains, local functions) is
refused, and so are the ways a file could make loading itself slow or huge:

- a Loop whose trip count is not the number of input reviews (the text form's
  only Loop), or a Loop inside a Loop;
- a node that reads only constants (onnxruntime folds those at load), other
  than dequantizing a weight table, which keeps its size;
- external-data tensors: weights must live inside the checksummed file;
- a com.microsoft.Tokenizer (the text_fast form's) with any pattern or setting other
  than the exporter's: its RE2 pattern decides how much output a text makes.

The load-time probe then runs on two tiny inputs, and is stopped if it is still
running after PROBE_SECONDS (see Classifier).
"""

from __future__ import annotations

import string
from collections.abc import Iterable

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.modelfile.arrays import MAX_GRAPH_ENTRIES
from imdb_edge.runtime.modelfile.onnx_fields import (
    ATTR_GRAPH,
    ATTR_GRAPHS,
    ATTR_INT,
    ATTR_NAME,
    ATTR_STRING,
    ATTR_TENSOR,
    ATTR_TENSORS,
    GRAPH_INITIALIZER,
    GRAPH_INPUT,
    GRAPH_NODE,
    GRAPH_OUTPUT,
    GRAPH_SPARSE_INITIALIZER,
    MODEL_FUNCTIONS,
    MODEL_GRAPH,
    NODE_ATTRIBUTE,
    NODE_DOMAIN,
    NODE_INPUT,
    NODE_OP,
    NODE_OUTPUT,
    TENSOR_DATA_LOCATION,
    TENSOR_EXTERNAL_DATA,
    TENSOR_NAME,
    VALUE_INFO_NAME,
)
from imdb_edge.runtime.modelfile.protowire import Corrupt, fields, spans, submessages, values_of
from imdb_edge.runtime.modelfile.schema import RUNTIME_ARRAY_PREFIX

ALLOWED_OPS = {
    "": {
        # token_ids and dense forms (fp32 and int8)
        "Gather", "ReduceSum", "MatMul", "Gemm", "Add", "Relu", "Tanh", "Sigmoid", "Elu", "Softmax", "Identity",
        "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul",
        # the text form's tokenizer
        "Reshape", "Squeeze", "Shape", "StringNormalizer", "StringSplit", "StringConcat", "Equal", "Not",
        "Compress", "Slice", "Concat", "Unique", "GreaterOrEqual", "Loop", "ArgMax",
        # ... and its negation marks
        "CumSum", "Unsqueeze", "RegexFullMatch", "And", "Or", "Where", "Greater", "Sub",
        # the text_fast form's integer front end
        "BitShift", "BitwiseAnd", "Mod", "Div", "TopK", "ScatterElements",
    },
    "ai.onnx.ml": {"LabelEncoder"},
    "com.microsoft": {"Tokenizer", "MurmurHash3"},  # text_fast; in every standard onnxruntime build
}  # fmt: skip
_SEPARATORS = "".join(f"\\x{ord(c):02x}" for c in sorted(string.whitespace + string.punctuation))
FAST_TOKEN_PATTERN = f"[^{_SEPARATORS}]+"
"""The text_fast Tokenizer's tokenexp: runs of anything but ASCII whitespace and punctuation (ascii-split-v1)."""
PINNED_ATTRIBUTES: dict[tuple[str, str], dict[str, int | bytes]] = {
    ("com.microsoft", "Tokenizer"): {
        "tokenexp": FAST_TOKEN_PATTERN.encode("ascii"),
        "mark": 0,
        "mincharnum": 1,
        "pad_value": b"br",
    },
}
"""Operators whose attributes must be exactly these (every one present, no other)."""
FOLDABLE_OPS = {"DequantizeLinear", "Cast", "Identity"}  # constant-only nodes that keep the size of their input


def _text(value: bytes | memoryview) -> str:
    return bytes(value).decode("utf-8", "replace")


def _check_tensor(tensor: bytes, where: str) -> None:
    for number, _wire, value in fields(tensor):
        if number == TENSOR_EXTERNAL_DATA or (number == TENSOR_DATA_LOCATION and value == 1):
            raise ImdbEdgeError(
                f"{where}: the graph keeps weights in external data files; imdb-edge models hold every weight "
                "inside the one checksummed file"
            )


class _Node:
    def __init__(self, data: bytes) -> None:
        parts = fields(data)
        self.inputs = [_text(v) for n, w, v in parts if n == NODE_INPUT and w == 2]
        self.outputs = [_text(v) for n, w, v in parts if n == NODE_OUTPUT and w == 2]
        self.op = next((_text(v) for n, w, v in parts if n == NODE_OP and w == 2), "")
        self.domain = next((_text(v) for n, w, v in parts if n == NODE_DOMAIN and w == 2), "")
        self.attributes = [v for n, w, v in parts if n == NODE_ATTRIBUTE and w == 2]


def _check_graph(graph: bytes, where: str, inside_loop: bool, outer_constants: frozenset[str] = frozenset()) -> bool:
    """Raise for anything the exported forms never hold; True where the graph has a Loop."""
    has_loop = False
    parts = spans(graph, limit=MAX_GRAPH_ENTRIES)  # walked once; a Loop body is only walked here, so bounded here
    initializers = values_of(parts, GRAPH_INITIALIZER)
    if values_of(parts, GRAPH_SPARSE_INITIALIZER):
        raise ImdbEdgeError(f"{where}: the graph has sparse initializers, which exported models never use")
    constants: set[str] = set(outer_constants)
    for tensor in initializers:
        _check_tensor(tensor, where)
        constants.update(_text(v) for v in submessages(tensor, TENSOR_NAME))
    graph_inputs = {_text(v) for info in values_of(parts, GRAPH_INPUT) for v in submessages(info, VALUE_INFO_NAME)}
    outputs = {_text(v) for info in values_of(parts, GRAPH_OUTPUT) for v in submessages(info, VALUE_INFO_NAME)}
    _check_names(graph_inputs | outputs, where)
    produced_by: dict[str, _Node] = {}
    for node_bytes in values_of(parts, GRAPH_NODE):
        node = _Node(node_bytes)
        if node.op not in ALLOWED_OPS.get(node.domain, set()):
            name = f"{node.domain}.{node.op}" if node.domain else node.op
            raise ImdbEdgeError(f"{where}: the graph uses operator {name}, which exported imdb-edge models never use")
        real_inputs = [name for name in node.inputs if name]
        _check_names([*real_inputs, *node.outputs], where)
        if real_inputs and all(name in constants for name in real_inputs) and node.op not in FOLDABLE_OPS:
            raise ImdbEdgeError(f"{where}: a {node.op} node computes on constants only, which exported models never do")
        _check_pinned(node, where)
        for attribute in node.attributes:
            for number, _wire, value in fields(attribute):
                if number in (ATTR_TENSOR, ATTR_TENSORS):
                    _check_tensor(value, where)
                elif number in (ATTR_GRAPH, ATTR_GRAPHS):
                    if node.op != "Loop" or inside_loop:
                        raise ImdbEdgeError(
                            f"{where}: a {node.op} node holds a subgraph, which exported models never do"
                        )
                    _check_graph(value, where, inside_loop=True, outer_constants=frozenset(constants))
        if node.op == "Loop":
            _check_trip_count(node, produced_by, graph_inputs, where, inside_loop)
            has_loop = True
        if all(name in constants for name in real_inputs) and real_inputs:
            constants.update(node.outputs)
        for output in node.outputs:
            produced_by[output] = node
    return has_loop


def _check_pinned(node: _Node, where: str) -> None:
    pinned = PINNED_ATTRIBUTES.get((node.domain, node.op))
    if pinned is None:
        return
    found: dict[str, int | bytes] = {}
    for attribute in node.attributes:
        parts = {number: value for number, _wire, value in fields(attribute)}
        value = parts[ATTR_INT] if ATTR_INT in parts else bytes(parts.get(ATTR_STRING, b""))
        found[_text(parts.get(ATTR_NAME, b""))] = value
    if found != pinned:
        raise ImdbEdgeError(f"{where}: a {node.domain}.{node.op} node has settings exported models never use")


def _check_names(names: Iterable[str], where: str) -> None:
    """No node, graph input or output names one of the runtime's arrays: onnxruntime never gets them."""
    for name in names:
        if name.startswith(RUNTIME_ARRAY_PREFIX):
            raise ImdbEdgeError(
                f"{where}: the graph reads or writes {name}, a name kept for arrays only the imdb-edge runtime reads"
            )


def _check_trip_count(
    loop: _Node, produced_by: dict[str, _Node], graph_inputs: set[str], where: str, inside_loop: bool
) -> None:
    """The text form's one Loop runs once per input review: its count is Squeeze(Shape(input))."""
    squeeze = produced_by.get(loop.inputs[0] if loop.inputs else "")
    shape = produced_by.get(squeeze.inputs[0]) if squeeze is not None and squeeze.op == "Squeeze" else None
    condition = loop.inputs[1] if len(loop.inputs) > 1 else ""
    if inside_loop or shape is None or shape.op != "Shape" or shape.inputs[0] not in graph_inputs or condition:
        raise ImdbEdgeError(f"{where}: the graph has a Loop that does not run once per input review")


def check_graph(model: bytes, where: str) -> bool:
    """Raise ImdbEdgeError if the ONNX ModelProto bytes hold anything the exported forms never do.

    Returns whether the graph has a Loop: without one, every node runs once, so a run on
    tiny inputs is bounded by the graph's size and needs no watchdog.
    """
    try:
        model = memoryview(model)  # walked by slices, never copied (the weight table is 200 KB and up)
        if submessages(model, MODEL_FUNCTIONS):
            raise ImdbEdgeError(f"{where}: the file defines its own functions, which exported models never do")
        return any([_check_graph(graph, where, inside_loop=False) for graph in submessages(model, MODEL_GRAPH)])
    except Corrupt as exc:
        raise ImdbEdgeError(f"{where} is not a valid ONNX file (damaged graph: {exc})") from None
    except IndexError:
        raise ImdbEdgeError(f"{where} is not a valid ONNX file (damaged graph)") from None
