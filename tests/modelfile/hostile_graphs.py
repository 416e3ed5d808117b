"""Hostile graphs that pass every load check, the padding proof included: the small model's own first layer
(Gather from its table, then ReduceSum over each review's ids), then something slow or broken computed from
that sum, added to the real logit times zero, so the scores are the small model's whenever it answers.

Needs the `onnx` package, as tests/model_factory.py does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx", reason="building test models needs the onnx package (pip install '.[onnx]')")

from tests.model_factory import restamp


def after_the_sum(model_bytes: bytes, nodes: list[Any], constants: dict[str, np.ndarray], extra: str) -> bytes:
    """The small model (tests/model_factory.build_model_bytes) with `nodes` computing `extra` from its first
    layer's sum ("summed", rows x units); the score becomes sigmoid(logit + 0 * extra)."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load_model_from_string(model_bytes)
    graph = proto.graph
    kept = [node for node in graph.node if node.op_type != "Sigmoid"]
    logit = next(node for node in graph.node if node.op_type == "Sigmoid").input[0]
    del graph.node[:]
    graph.node.extend(kept)
    graph.node.extend(nodes)
    graph.node.extend(
        [
            helper.make_node("ReduceSum", [extra, "hostile_all"], ["hostile_total"], keepdims=0),
            helper.make_node("Mul", ["hostile_total", "hostile_zero"], ["hostile_nothing"]),
            helper.make_node("Add", [logit, "hostile_nothing"], ["hostile_logit"]),
            helper.make_node("Sigmoid", ["hostile_logit"], ["score"]),
        ]
    )
    constants = {
        **constants,
        "hostile_all": np.array([0, 1], dtype=np.int64),
        "hostile_zero": np.array(0.0, dtype=np.float32),
    }
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())
    return restamp(model_bytes, {}, graph=graph)


def _chain(start: str, matmuls: int, prefix: str) -> tuple[list[Any], str]:
    from onnx import helper

    nodes, current = [], start
    for i in range(matmuls):
        nodes.append(helper.make_node("MatMul", [current, current], [f"{prefix}m{i}"]))
        nodes.append(helper.make_node("Tanh", [f"{prefix}m{i}"], [f"{prefix}t{i}"]))
        current = f"{prefix}t{i}"
    return nodes, current


def batch_cubed(model_bytes: bytes, matmuls: int = 60) -> bytes:
    """Fast on the load probe's two rows, slow on a real batch: an n x n matrix (n = rows) multiplied by itself
    `matmuls` times."""
    from onnx import helper

    nodes = [
        helper.make_node("ReduceSum", ["summed", "hostile_axis_1"], ["hostile_row"], keepdims=1),
        helper.make_node("Reshape", ["hostile_row", "hostile_as_row"], ["hostile_across"]),
        helper.make_node("MatMul", ["hostile_row", "hostile_across"], ["hostile_square"]),
    ]
    chain, last = _chain("hostile_square", matmuls, "b")
    constants = {"hostile_axis_1": np.array([1], np.int64), "hostile_as_row": np.array([1, -1], np.int64)}
    return after_the_sum(model_bytes, nodes + chain, constants, last)


def two_rows_only(model_bytes: bytes) -> bytes:
    """Runs on the load probe (always two rows) and fails on anything else: the sum is reshaped to two rows."""
    from onnx import helper

    nodes = [
        helper.make_node("ReduceSum", ["summed", "hostile_axis_1"], ["hostile_row"], keepdims=1),
        helper.make_node("Reshape", ["hostile_row", "hostile_two_rows"], ["hostile_pair"]),
    ]
    constants = {"hostile_axis_1": np.array([1], np.int64), "hostile_two_rows": np.array([2, 1], np.int64)}
    return after_the_sum(model_bytes, nodes, constants, "hostile_pair")


def slow_on_good_words(model_bytes: bytes, matmuls: int = 200) -> bytes:
    """Fast unless a review holds a GOOD word (its first unit's sum passes 1.5, as the small model's table
    makes it): then a 2048 x 2048 matrix is multiplied by itself `matmuls` times. The load probe (no word;
    the last term, a BAD one) and a plain first review are fast; "a great film" takes minutes."""
    from onnx import helper

    nodes = [
        helper.make_node("Slice", ["summed", "hostile_0", "hostile_1", "hostile_1"], ["hostile_first"]),
        helper.make_node("Reshape", ["hostile_first", "hostile_flat"], ["hostile_values"]),
        helper.make_node("Greater", ["hostile_values", "hostile_bar"], ["hostile_hit"]),
        helper.make_node("Compress", ["hostile_values", "hostile_hit"], ["hostile_hits"], axis=0),
        helper.make_node("Reshape", ["hostile_hits", "hostile_as_row"], ["hostile_d0"]),
    ]
    current = "hostile_d0"
    for i in range(11):  # 1 x hits -> 1 x 2048 hits
        nodes.append(helper.make_node("Concat", [current, current], [f"hostile_d{i + 1}"], axis=1))
        current = f"hostile_d{i + 1}"
    nodes += [
        helper.make_node("Reshape", [current, "hostile_as_column"], ["hostile_column"]),
        helper.make_node("MatMul", ["hostile_column", current], ["hostile_square"]),
    ]
    chain, last = _chain("hostile_square", matmuls, "s")
    constants = {
        "hostile_0": np.array([0], np.int64),
        "hostile_1": np.array([1], np.int64),
        "hostile_flat": np.array([-1], np.int64),
        "hostile_bar": np.array(1.5, np.float32),
        "hostile_as_row": np.array([1, -1], np.int64),
        "hostile_as_column": np.array([-1, 1], np.int64),
    }
    return after_the_sum(model_bytes, nodes + chain, constants, last)
