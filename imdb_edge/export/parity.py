"""Parity: does the ONNX file answer like the Keras model it came from?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from imdb_edge.runtime.decision import decide

FP32_TOLERANCE = 1e-5


@dataclass(frozen=True)
class ParityReport:
    rows: int
    max_abs_diff: float
    mean_abs_diff: float
    label_mismatches: int
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance and self.label_mismatches == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}

    def differences(self) -> dict[str, Any]:
        """The measured differences alone, for comparisons that are reported but not judged."""
        return {k: v for k, v in asdict(self).items() if k != "tolerance"}

    def line(self, name: str) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict}  {name}: max |diff| {self.max_abs_diff:.2e} (tolerance {self.tolerance:.0e}), "
            f"{self.label_mismatches} of {self.rows} labels differ"
        )


def compare(reference: np.ndarray, candidate: np.ndarray, threshold: float | None, tolerance: float) -> ParityReport:
    """Scores of two models on the same texts: (n,) scores of two labels, or (n, K) probabilities."""
    if reference.shape != candidate.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {candidate.shape}")
    diff = np.abs(reference.astype(np.float64) - candidate.astype(np.float64))
    return ParityReport(
        rows=len(reference),
        max_abs_diff=float(diff.max(initial=0.0)),
        mean_abs_diff=float(diff.mean()) if diff.size else 0.0,
        label_mismatches=int((decide(reference, threshold) != decide(candidate, threshold)).sum()),
        tolerance=tolerance,
    )


def accuracy(scores: np.ndarray, labels: np.ndarray, threshold: float | None) -> float:
    """The share of rows whose decided label is `labels` (label indices)."""
    return float((decide(scores, threshold) == labels.astype(np.int64)).mean())
