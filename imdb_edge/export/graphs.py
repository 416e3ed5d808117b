"""Keras model -> ONNX graphs: the dense multi-hot form and the token-id form.

Dense form: converted by tf2onnx's `from_function` with an explicit input signature
(tf2onnx's `from_keras` fails on Keras 3 models; Keras's own `model.export(...,
format="onnx")` wraps the same converter but picks the names and opset itself).

Token-id form: a multi-hot vector times the first kernel is the sum of the kernel
rows of the terms present, so the first layer becomes Gather + ReduceSum over the
review's term ids (padded with id V, a zero row). Compute no longer grows with the
vocabulary. Built from the trained weights with onnx.helper and proven equal to
Keras by the parity check.

Wide form (a linear model and a hidden layer sharing one bag): the table has 1 + k
columns; after the sum, column 0 is the linear score and columns 1.. the hidden
layer, whose one-unit output is added to it before the sigmoid. Same Gather, so the
ensemble costs one lookup per term.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.modelfile.schema import DENSE, INPUT_NAMES, SCORE_OUTPUT, TOKEN_IDS

OPSET = 17
DENSE_INPUT = INPUT_NAMES[DENSE]
IDS_INPUT = INPUT_NAMES[TOKEN_IDS]
OUTPUT = SCORE_OUTPUT
_ACTIVATIONS = {
    "relu": "Relu",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "elu": "Elu",
    "softmax": "Softmax",
    "linear": None,
}


@dataclass(frozen=True)
class DenseLayer:
    """One layer; `wide_activation` marks the head of a wide model (see the module docstring):
    its input's column 0 is added to its output, columns 1.. go through that activation first."""

    kernel: np.ndarray
    bias: np.ndarray
    activation: str
    wide_activation: str | None = None


def dense_layers(model: Any, input_weights: np.ndarray | None = None) -> list[DenseLayer]:
    """The model as a Dense stack on plain multi-hot input, in order (Dropout is skipped).

    A ScaledBag first layer becomes its folded kernel; per-feature `input_weights`
    (Naive-Bayes ratios a dense model was trained with) are folded into the first kernel.
    """
    layers = []
    for layer in model.layers:
        kind = layer.__class__.__name__
        if kind == "Dropout":
            continue
        if kind == "WideHead":
            layers.append(_wide_head(layer))
            continue
        if kind not in ("Dense", "ScaledBag"):
            raise ImdbEdgeError(f"cannot export layer {layer.name!r} of type {kind}: only Dense stacks are supported")
        activation = _activation_name(layer)
        if kind == "ScaledBag":
            kernel, bias = layer.folded_kernel(), np.asarray(layer.get_weights()[1], dtype=np.float32)
        else:
            kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
            if not layers and input_weights is not None:
                kernel = kernel * np.asarray(input_weights, dtype=np.float32)[:, None]
        layers.append(DenseLayer(kernel, bias, activation))
    if not layers:
        raise ImdbEdgeError("the model has no Dense layers")
    return layers


def _activation_name(layer: Any) -> str:
    activation = layer.get_config()["activation"]
    if isinstance(activation, dict):  # serialized form of a Keras activation
        activation = activation.get("config", {}).get("name", activation.get("class_name"))
    if activation not in _ACTIVATIONS:
        raise ImdbEdgeError(f"activation {activation!r} has no ONNX mapping here")
    return str(activation)


def _wide_head(layer: Any) -> DenseLayer:
    kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
    return DenseLayer(kernel, bias, "sigmoid", wide_activation=_activation_name(layer))


def dense_graph(model: Any, input_width: int) -> Any:
    """The reference-shaped graph: float32 multi-hot [N, V] -> score [N, 1]."""
    import tensorflow as tf
    import tf2onnx

    function = tf.function(lambda x: model(x, training=False))
    spec = [tf.TensorSpec((None, input_width), tf.float32, name=DENSE_INPUT)]
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
    old_output = proto.graph.output[0].name
    for node in proto.graph.node:
        node.output[:] = [OUTPUT if name == old_output else name for name in node.output]
    proto.graph.output[0].name = OUTPUT
    proto.graph.name = "imdb_edge_dense"
    return proto


def token_ids_graph(layers: list[DenseLayer]) -> Any:
    """The sparse graph: int64 term ids [N, L] (pad = V) -> score [N, 1] (two labels: a sigmoid) or [N, K]
    (K labels: a softmax)."""
    from onnx import TensorProto, helper, numpy_helper

    first = layers[0]
    table = np.vstack([first.kernel, np.zeros((1, first.kernel.shape[1]), dtype=np.float32)])
    initializers = [
        numpy_helper.from_array(table, "embedding"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "sum_axes"),
    ]
    if any(layer.wide_activation for layer in layers):
        initializers += [
            numpy_helper.from_array(np.array([0], dtype=np.int64), "wide_start"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "wide_end"),
            numpy_helper.from_array(np.array([np.iinfo(np.int64).max], dtype=np.int64), "hidden_end"),
        ]
    nodes = [
        helper.make_node("Gather", ["embedding", IDS_INPUT], ["gathered"], name="first_layer_gather", axis=0),
        helper.make_node("ReduceSum", ["gathered", "sum_axes"], ["summed"], name="first_layer_sum", keepdims=0),
    ]
    current = "summed"
    for index, layer in enumerate(layers):
        bias_name = f"bias_{index}"
        initializers.append(numpy_helper.from_array(layer.bias, bias_name))
        if index > 0:
            kernel_name = f"kernel_{index}"
            initializers.append(numpy_helper.from_array(layer.kernel, kernel_name))
            if layer.wide_activation:
                linear, current = _wide_split(nodes, current, layer.wide_activation, index)
            nodes.append(
                helper.make_node("MatMul", [current, kernel_name], [f"matmul_{index}"], name=f"matmul_{index}")
            )
            current = f"matmul_{index}"
        is_last = index == len(layers) - 1
        op = _ACTIVATIONS[layer.activation]
        added = f"pre_{index}" if op else (OUTPUT if is_last else f"act_{index}")
        nodes.append(helper.make_node("Add", [current, bias_name], [added], name=f"add_{index}"))
        current = added
        if layer.wide_activation:
            nodes.append(helper.make_node("Add", [current, linear], [f"wide_{index}"], name=f"add_wide_{index}"))
            current = f"wide_{index}"
        if op:
            activated = OUTPUT if is_last else f"act_{index}"
            nodes.append(helper.make_node(op, [current], [activated], name=f"activation_{index}"))
            current = activated
    graph = helper.make_graph(
        nodes,
        "imdb_edge_token_ids",
        [helper.make_tensor_value_info(IDS_INPUT, TensorProto.INT64, ["batch", "terms"])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", int(layers[-1].kernel.shape[1])])],
        initializer=initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="imdb-edge")
    proto.ir_version = 8
    return proto


def _wide_split(nodes: list[Any], current: str, activation: str, index: int) -> tuple[str, str]:
    """Column 0 of `current` (the linear score) and activation(columns 1..) (the hidden layer)."""
    from onnx import helper

    linear, hidden = f"wide_linear_{index}", f"wide_hidden_{index}"
    nodes.append(helper.make_node("Slice", [current, "wide_start", "wide_end", "sum_axes"], [linear], name=linear))
    nodes.append(helper.make_node("Slice", [current, "wide_end", "hidden_end", "sum_axes"], [hidden], name=hidden))
    op = _ACTIVATIONS[activation]
    if op is None:
        return linear, hidden
    nodes.append(helper.make_node(op, [hidden], [f"{hidden}_act"], name=f"{hidden}_act"))
    return linear, f"{hidden}_act"
