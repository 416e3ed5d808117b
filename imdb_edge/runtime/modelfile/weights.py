"""The weights of a linear token-id model, read from its graph: what makes its explanations exact.

A bag model without hidden layers scores a review as activation(bias + sum of its terms'
rows of one table) (export/graphs.py: Gather -> ReduceSum -> Add -> Sigmoid or Softmax,
the table possibly int8 behind a DequantizeLinear, and a temperature Mul before the
activation). Each term's row is then its exact contribution to the logit. Any other graph
(hidden layers, the dense form) gives None, and explanations fall back to leaving each term
out in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.runtime.modelfile.onnx_fields import (
    GRAPH_INITIALIZER,
    GRAPH_INPUT,
    GRAPH_NODE,
    MODEL_GRAPH,
    NODE_INPUT,
    NODE_OP,
    NODE_OUTPUT,
    TENSOR_DATA_TYPE,
    TENSOR_DIMS,
    TENSOR_NAME,
    TENSOR_RAW_DATA,
    VALUE_INFO_NAME,
)
from imdb_edge.runtime.modelfile.protowire import Corrupt, fields, submessages, values_of, varints

_FLOAT_DATA, _INT32_DATA = 4, 5  # TensorProto.float_data, int32_data (which also holds int8 and uint8 values)
_DTYPES = {1: np.float32, 3: np.int8, 2: np.uint8, 6: np.int32, 7: np.int64}
_ACTIVATIONS = ("Sigmoid", "Softmax")


@dataclass(frozen=True)
class LinearHead:
    """score = activation(scale * (bias + sum of table[t] over the review's unique term ids t))."""

    table: np.ndarray
    """(vocabulary + 1, units) float32; the last row (the padding id) is zero."""
    bias: np.ndarray
    scale: float
    activation: str


def named_array(data: Any) -> tuple[str, np.ndarray] | None:
    """(name, array) of a TensorProto held as raw bytes, float_data or int32_data; None for any other layout."""
    parts = fields(data)
    name = next((bytes(v).decode("utf-8", "replace") for n, w, v in parts if n == TENSOR_NAME and w == 2), "")
    dims: list[int] = []
    floats, ints = b"", []
    for number, wire, value in parts:
        if number == TENSOR_DIMS:
            dims.extend(varints(value) if wire == 2 else [value])
        elif number == _FLOAT_DATA:  # packed, or one fixed32 a value (onnx.proto is proto2)
            floats += bytes(value)
        elif number == _INT32_DATA:
            ints.extend(varints(value) if wire == 2 else [value])
    dtype = _DTYPES.get(next((v for n, w, v in parts if n == TENSOR_DATA_TYPE and w == 0), 0))
    raw = values_of(parts, TENSOR_RAW_DATA)
    if dtype is None:
        return None
    if raw:
        array = np.frombuffer(bytes(raw[0]), dtype=np.dtype(dtype).newbyteorder("<"))
    elif dtype is np.float32 and floats:
        array = np.frombuffer(floats, dtype="<f4")
    elif dtype is not np.float32 and ints:
        array = np.array(ints, dtype=np.int64).astype(dtype)
    else:
        return None
    if array.size != int(np.prod(dims)):
        return None
    return name, array.reshape(dims).astype(np.float32 if dtype is np.float32 else dtype)


class _Node:
    def __init__(self, data: Any) -> None:
        parts = fields(data)
        self.op = next((bytes(v).decode() for n, w, v in parts if n == NODE_OP and w == 2), "")
        self.inputs = [bytes(v).decode("utf-8", "replace") for n, w, v in parts if n == NODE_INPUT and w == 2]
        self.outputs = [bytes(v).decode("utf-8", "replace") for n, w, v in parts if n == NODE_OUTPUT and w == 2]


def linear_head(graph_model: bytes) -> LinearHead | None:
    """The table, bias, temperature scale and activation of a linear token-id graph, else None."""
    try:
        graph = submessages(memoryview(graph_model), MODEL_GRAPH)[0]
        parts = fields(graph)
        constants = dict(filter(None, (named_array(t) for t in values_of(parts, GRAPH_INITIALIZER))))
        nodes = [_Node(n) for n in values_of(parts, GRAPH_NODE)]
        inputs = [
            bytes(v).decode() for info in values_of(parts, GRAPH_INPUT) for v in submessages(info, VALUE_INFO_NAME)
        ]
    except (Corrupt, IndexError, UnicodeDecodeError):
        return None
    produced = {output: node for node in nodes for output in node.outputs}
    readers: dict[str, list[_Node]] = {}
    for node in nodes:
        for name in node.inputs:
            readers.setdefault(name, []).append(node)

    def only_reader(name: str, op: str) -> _Node | None:
        found = readers.get(name, [])
        return found[0] if len(found) == 1 and found[0].op == op else None

    gather = next((n for n in nodes if n.op == "Gather" and len(n.inputs) == 2 and n.inputs[1] in inputs), None)
    if gather is None or len(nodes) > 8:
        return None
    table = _table(gather.inputs[0], constants, produced)
    summed = only_reader(gather.outputs[0], "ReduceSum")
    added = only_reader(summed.outputs[0], "Add") if summed else None
    if table is None or added is None:
        return None
    bias_name = next((name for name in added.inputs if name in constants), None)
    if bias_name is None:
        return None
    current, scale = added.outputs[0], 1.0
    mul = only_reader(current, "Mul")
    if mul is not None:
        factor = next((constants[name] for name in mul.inputs if name in constants), None)
        if factor is None or factor.size != 1:
            return None
        current, scale = mul.outputs[0], float(factor.reshape(-1)[0])
    activation = next((n for n in readers.get(current, []) if n.op in _ACTIVATIONS), None)
    if activation is None or len(readers.get(current, [])) != 1:
        return None
    bias = constants[bias_name].reshape(-1).astype(np.float32)
    if table.ndim != 2 or table.shape[1] != bias.size:
        return None
    return LinearHead(table, bias, scale, activation.op)


def _table(name: str, constants: dict[str, np.ndarray], produced: dict[str, _Node]) -> np.ndarray | None:
    """The first layer's float table: an fp32 initializer, or an int8 one dequantized as the graph does."""
    if name in constants:
        return constants[name].astype(np.float32)
    node = produced.get(name)
    if node is None or node.op != "DequantizeLinear" or not all(i in constants for i in node.inputs):
        return None
    quantized, scale = constants[node.inputs[0]], constants[node.inputs[1]]
    zero = constants[node.inputs[2]] if len(node.inputs) > 2 else np.zeros(1)
    if scale.size != 1 or zero.size != 1:
        return None  # per-channel scales: not what the exporter writes
    return ((quantized.astype(np.float32) - float(zero.reshape(-1)[0])) * float(scale.reshape(-1)[0])).astype(
        np.float32
    )
