"""int8 weights with onnxruntime's own dynamic quantization (weights int8, activations on the fly)."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def first_layer_node(proto: Any) -> str:
    """The node that reads the graph input through the big first-layer weights."""
    graph_input = proto.graph.input[0].name
    for node in proto.graph.node:
        if node.op_type in ("Gather", "MatMul") and graph_input in node.input:
            return str(node.name)
    raise ValueError("no Gather or MatMul node reads the graph input")


@contextlib.contextmanager
def _root_logger_quiet() -> Iterator[None]:
    """quantize_dynamic logs advice about static pre-processing on the root logger; it does
    not apply here. Silence it for the call only, then give the caller its level back."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(max(previous, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(previous)


def quantize_int8(proto: Any, per_channel: bool = False) -> Any:
    """Return a copy of `proto` whose first-layer weights (almost all of them) are int8.

    Only the first layer is quantized: its input is ids or 0/1 values, so the result
    does not depend on the other reviews in the batch. Quantizing the later MatMuls
    would scale their activations per batch (DynamicQuantizeLinear), making a
    review's score depend on its neighbours, for a saving of a few hundred bytes.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _root_logger_quiet(), tempfile.TemporaryDirectory(prefix="imdb-edge-quant-") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save_model(proto, source)
        quantize_dynamic(
            source,
            target,
            op_types_to_quantize=["MatMul", "Gather"],
            nodes_to_quantize=[first_layer_node(proto)],
            per_channel=per_channel,
            weight_type=QuantType.QInt8,
        )
        return dequantize_table_once(onnx.load_model(target))


def dequantize_table_once(proto: Any) -> Any:
    """Turn Gather(int8 table) -> DequantizeLinear into DequantizeLinear(int8 table) -> Gather.

    Same numbers (dequantizing is elementwise), but the dequantized table is now a
    constant: onnxruntime folds it once at load (with `session.disable_quant_qdq`,
    which the runtime sets), so the file stays int8 while each review costs what the
    fp32 graph costs, instead of dequantizing the gathered rows on every call.
    """
    from onnx import helper

    graph = proto.graph
    initializers = {init.name for init in graph.initializer}
    nodes = list(graph.node)
    for index, gather in enumerate(nodes):
        if gather.op_type != "Gather" or gather.input[0] not in initializers:
            continue
        readers = [n for n in nodes if gather.output[0] in n.input]
        if len(readers) != 1 or readers[0].op_type != "DequantizeLinear":
            continue
        dequantize = readers[0]
        if not all(name in initializers for name in dequantize.input[1:]):
            continue
        table = f"{gather.input[0]}_dequantized"
        inputs = [gather.input[0], *dequantize.input[1:]]
        new_dequantize = helper.make_node("DequantizeLinear", inputs, [table], name=f"{gather.name}_dequantize")
        new_gather = helper.make_node("Gather", [table, gather.input[1]], [dequantize.output[0]], name=gather.name)
        new_gather.attribute.extend(gather.attribute)
        rest = [n for n in nodes if n is not gather and n is not dequantize]
        del graph.node[:]
        graph.node.extend([*rest[:index], new_dequantize, new_gather, *rest[index:]])
        return proto
    return proto
