"""The padding proof: a token-id graph shows from its own nodes that padding a batch cannot change a score.

A load probe that pads a few times cannot prove it (a graph can count its padding ids and act only above a
threshold); this reads it from the graph, whatever the widths a run will use (issue 28's pad4.onnx)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imdb_edge.runtime.modelfile.onnx_fields import (
    ATTR_GRAPH,
    ATTR_GRAPHS,
    ATTR_INT,
    ATTR_INTS,
    ATTR_NAME,
    GRAPH_INITIALIZER,
    GRAPH_NODE,
    MODEL_GRAPH,
    NODE_ATTRIBUTE,
    NODE_INPUT,
    NODE_OP,
    NODE_OUTPUT,
    TENSOR_NAME,
)
from imdb_edge.runtime.modelfile.protowire import Corrupt, fields, submessages, values_of, varints
from imdb_edge.runtime.modelfile.weights import named_array


class _GraphNode:
    """A node of the graph as the padding proof needs it: operator, names in and out, integer attributes."""

    def __init__(self, data: Any) -> None:
        parts = fields(data)
        text = lambda value: bytes(value).decode("utf-8", "replace")  # noqa: E731
        self.op = next((text(v) for n, w, v in parts if n == NODE_OP and w == 2), "")
        self.inputs = [text(v) for n, w, v in parts if n == NODE_INPUT and w == 2]
        self.outputs = [text(v) for n, w, v in parts if n == NODE_OUTPUT and w == 2]
        self.ints: dict[str, list[int]] = {}
        self.has_subgraph = False
        for attribute in (v for n, w, v in parts if n == NODE_ATTRIBUTE and w == 2):
            attribute_parts = fields(attribute)
            name = next((text(v) for n, w, v in attribute_parts if n == ATTR_NAME and w == 2), "")
            for number, wire, value in attribute_parts:
                if number == ATTR_INT and wire == 0:
                    self.ints[name] = [value - (1 << 64) if value >= 1 << 63 else value]
                elif number == ATTR_INTS:
                    found = varints(value) if wire == 2 else [value]
                    self.ints.setdefault(name, []).extend(v - (1 << 64) if v >= 1 << 63 else v for v in found)
                elif number in (ATTR_GRAPH, ATTR_GRAPHS):
                    self.has_subgraph = True


def padding_unproven(graph_model: bytes, ids_input: str, pad: int) -> str | None:
    """Why padding a token-id batch might change a review's score, or None when the graph itself proves it
    cannot.

    Proven: the ids reach nothing but one Gather from a constant table (fp32, or int8 behind a
    DequantizeLinear, either side of the Gather), whose padding row `pad` is exactly zero, summed by one
    ReduceSum over each review's ids (axis 1). So a review's sum is the same whatever the padding width (up to
    the order of float addition), and the rest of the graph sees only that sum: not the ids, not how many
    there are, not the width. A probe that pads a few times cannot prove this (a graph can count its padding
    ids and act only above a threshold); this reads it from the graph, whatever the widths a run will use.
    Not proven here: that the rest of the graph keeps the reviews of a batch apart (the load probe and the
    graph check's operator list are what stand against a graph that mixes them).
    """
    try:
        graph = submessages(memoryview(graph_model), MODEL_GRAPH)[0]
        parts = fields(graph)
        tensors = {
            bytes(submessages(t, TENSOR_NAME)[0]).decode("utf-8", "replace"): t
            for t in values_of(parts, GRAPH_INITIALIZER)
            if submessages(t, TENSOR_NAME)
        }
        nodes = [_GraphNode(n) for n in values_of(parts, GRAPH_NODE)]
    except (Corrupt, IndexError):
        return "its graph cannot be read"
    if any(node.has_subgraph for node in nodes):
        return "a node holds a subgraph"
    if ids_input in tensors or any(ids_input in node.outputs for node in nodes):
        return "a constant or a node shadows the ids"

    def readers(name: str) -> list[_GraphNode]:
        return [node for node in nodes if name in node.inputs]

    def constant(name: str) -> np.ndarray | None:
        found = named_array(tensors[name]) if name in tensors else None
        return found[1] if found else None

    gathers = readers(ids_input)
    if len(gathers) != 1 or gathers[0].op != "Gather" or gathers[0].inputs[1:] != [ids_input]:
        return "the ids are read by something other than one Gather from the first layer's table"
    gather = gathers[0]
    if gather.ints.get("axis", [0]) != [0] or len(gather.outputs) != 1 or ids_input == gather.inputs[0]:
        return "the Gather does not pick rows of a table"
    table_name, after = gather.inputs[0], readers(gather.outputs[0])
    row: np.ndarray | None = None
    if table_name in tensors and len(after) == 1 and after[0].op == "DequantizeLinear":  # int8 rows, then scaled
        quantized, dequantize = constant(table_name), after[0]
        row = _dequantized_row(quantized, dequantize.inputs[1:], constant, pad)
        after = readers(dequantize.outputs[0]) if len(dequantize.outputs) == 1 else []
    elif table_name in tensors:
        table = constant(table_name)
        row = table[pad] if table is not None and table.ndim >= 1 and len(table) > pad else None
    else:
        producers = [node for node in nodes if table_name in node.outputs]
        if len(producers) == 1 and producers[0].op == "DequantizeLinear" and producers[0].inputs[0] in tensors:
            row = _dequantized_row(constant(producers[0].inputs[0]), producers[0].inputs[1:], constant, pad)
    if row is None:
        return "its first layer's table is not a constant the runtime can read"
    if len(after) != 1 or after[0].op != "ReduceSum":
        return "the gathered rows go elsewhere than one ReduceSum"
    reduce = after[0]
    axes = constant(reduce.inputs[1]) if len(reduce.inputs) > 1 and reduce.inputs[1] else None
    if (axes.reshape(-1).tolist() if axes is not None else reduce.ints.get("axes")) != [1]:
        return "the ReduceSum does not sum each review's ids (axis 1)"
    if not np.all(np.asarray(row, dtype=np.float64) == 0.0):
        return f"the padding row (id {pad}) of its first layer's table is not zero"
    return None


def _dequantized_row(quantized: np.ndarray | None, scales: list[str], constant: Any, pad: int) -> np.ndarray | None:
    """Row `pad` of an int8 table as DequantizeLinear makes it, for one scale and zero point (what export
    writes); None for anything else."""
    if quantized is None or quantized.ndim < 1 or len(quantized) <= pad or not scales:
        return None
    scale = constant(scales[0])
    zero = constant(scales[1]) if len(scales) > 1 and scales[1] else np.zeros(1)
    if scale is None or zero is None or scale.size != 1 or zero.size != 1:
        return None
    return (quantized[pad].astype(np.float64) - float(zero.reshape(-1)[0])) * float(scale.reshape(-1)[0])
