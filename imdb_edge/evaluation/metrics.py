"""Accuracy, per-label precision/recall/F1, the confusion matrix, log loss and calibration, from probabilities.

numpy only. `probabilities` is (n, K): every label's probability for each row (a model of two
labels gives 1 - score and score); `truth` the true label indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ECE_BINS = 10
LOG_LOSS_EPSILON = 1e-7


@dataclass(frozen=True)
class Calibration:
    """Expected calibration error over equal-width confidence bins, and each bin's figures (for the diagram)."""

    ece: float
    bins: list[dict[str, Any]]


def calibration(probabilities: np.ndarray, truth: np.ndarray, bins: int = ECE_BINS) -> Calibration:
    """ECE: the rows' mean |accuracy - confidence| per bin of confidence (the top probability), weighted by
    each bin's share of rows (Guo et al. 2017)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    report, ece = [], 0.0
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        accuracy = float(correct[members].mean()) if count else None
        mean_confidence = float(confidence[members].mean()) if count else None
        if count:
            ece += count / len(truth) * abs(accuracy - mean_confidence)  # type: ignore[operator]
        report.append(
            {"low": float(edges[b]), "high": float(edges[b + 1]), "rows": count, "accuracy": accuracy,
             "confidence": mean_confidence}
        )  # fmt: skip
    return Calibration(float(ece), report)


def evaluate_probabilities(probabilities: np.ndarray, truth: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """Every figure `evaluate` reports, as one JSON-ready document."""
    if len(truth) == 0:
        raise ValueError("no rows to evaluate")
    predicted = probabilities.argmax(axis=1)
    k = len(labels)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    per_class = {}
    for index, label in enumerate(labels):
        tp = int(confusion[index, index])
        predicted_count, support = int(confusion[:, index].sum()), int(confusion[index, :].sum())
        precision = tp / predicted_count if predicted_count else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    true_probability = np.clip(probabilities[np.arange(len(truth)), truth], LOG_LOSS_EPSILON, 1.0)
    calibrated = calibration(probabilities, truth)
    supported = [per_class[label]["f1"] for label in labels if per_class[label]["support"]]
    return {
        "rows": len(truth),
        "labels": list(labels),
        "accuracy": float((predicted == truth).mean()),
        "macro_f1": float(np.mean(supported)) if supported else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "log_loss": float(-np.log(true_probability).mean()),
        "ece": calibrated.ece,
        "calibration_bins": calibrated.bins,
        "majority_baseline": float(np.bincount(truth, minlength=k).max() / len(truth)),
    }


def probabilities_of(scores: np.ndarray) -> np.ndarray:
    """(n, K) probabilities from a runtime's scores: (n,) of two labels become columns 1 - s and s."""
    if scores.ndim == 1:
        return np.stack([1.0 - scores, scores], axis=1)
    return scores
