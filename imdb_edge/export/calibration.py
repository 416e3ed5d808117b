"""How far a model's probabilities can be trusted, measured at export, and a temperature when it helps.

Temperature scaling (Guo et al. 2017) divides the logits by one scalar T, fitted on the
validation rows by minimising the log loss: the ranking of the labels cannot change, so no
decision at threshold 0.5 (two labels) or of the likeliest label (more) changes, only how
sure the scores say the model is. The export applies it (a Mul before the final activation)
only where it lowers the test set's expected calibration error, and records both figures.
A refit on every training row (validation_size 0, the shipped model's settings) kept no
validation rows to fit on: no temperature then, and the record says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imdb_edge.evaluation.metrics import calibration, probabilities_of

_EPSILON = 1e-7
_GRID = np.exp(np.linspace(np.log(0.05), np.log(20.0), 401))


def logits_of(scores: np.ndarray) -> np.ndarray:
    """Logits whose activation gives `scores`: log-odds for (n,) two-label scores, log-probabilities for
    (n, K) (a softmax is unchanged by a shift, so these serve as its logits)."""
    clipped = np.clip(scores.astype(np.float64), _EPSILON, 1 - _EPSILON)
    return np.log(clipped) - np.log1p(-clipped) if scores.ndim == 1 else np.log(clipped)


def scaled(logits: np.ndarray, temperature: float) -> np.ndarray:
    """The probabilities of `logits / temperature`, in the runtime's shape: (n,) or (n, K)."""
    z = logits / temperature
    if z.ndim == 1:
        return 1.0 / (1.0 + np.exp(-z))
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_loss(scores: np.ndarray, truth: np.ndarray) -> float:
    probabilities = probabilities_of(scores)
    return float(-np.log(np.clip(probabilities[np.arange(len(truth)), truth], _EPSILON, 1.0)).mean())


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The T in [0.05, 20] (a fine log grid) with the least log loss of softmax(logits / T) on these rows."""
    logits = logits_of(scores)
    losses = [log_loss(scaled(logits, t), truth) for t in _GRID]
    return float(_GRID[int(np.argmin(losses))])


def figures(scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"ece": calibration(probabilities_of(scores), truth).ece, "log_loss": log_loss(scores, truth)}


def decide_temperature(
    validation: tuple[np.ndarray, np.ndarray] | None, test: tuple[np.ndarray, np.ndarray]
) -> tuple[float | None, dict[str, Any]]:
    """(the temperature to apply or None, the calibration report): fitted on `validation` (scores, truth),
    kept only if it lowers the test ECE."""
    before = figures(*test)
    if validation is None:
        return None, {"test": before, "temperature": None, "why": "the run kept no validation rows to fit one on"}
    temperature = fit_temperature(*validation)
    after_scores = scaled(logits_of(test[0]), temperature)
    after = figures(after_scores, test[1])
    report = {
        "test_before": before,
        "test_after": after,
        "temperature": temperature,
        "fitted_on_rows": len(validation[1]),
    }
    if after["ece"] < before["ece"]:
        return temperature, {**report, "test": after, "applied": True}
    return None, {**report, "test": before, "applied": False, "why": "it did not lower the test ECE"}


def apply_temperature(proto: Any, temperature: float) -> Any:
    """`proto` with its final activation's input multiplied by 1 / temperature (in place; returned)."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    output = graph.output[0].name
    final = next((n for n in graph.node if output in n.output and n.op_type in ("Sigmoid", "Softmax")), None)
    if final is None:
        raise ValueError("the graph's output is not a Sigmoid or Softmax: no logit to scale")
    logits, scaled_name = final.input[0], f"{final.input[0]}_over_temperature"
    inverse = numpy_helper.from_array(np.array(1.0 / temperature, dtype=np.float32), "inverse_temperature")
    graph.initializer.append(inverse)
    nodes = list(graph.node)
    index = nodes.index(final)
    final.input[0] = scaled_name
    mul = helper.make_node("Mul", [logits, "inverse_temperature"], [scaled_name], name="temperature")
    del graph.node[:]
    graph.node.extend([*nodes[:index], mul, *nodes[index:]])
    return proto
