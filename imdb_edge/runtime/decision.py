"""The decision rule over many scores at once: which label each row gets."""

from __future__ import annotations

import numpy as np


def decide(scores: np.ndarray, threshold: float | None) -> np.ndarray:
    """Each row's label index: for two labels (scores of shape (n,)) the second at or above `threshold`; for
    more (shape (n, K)) the likeliest."""
    if scores.ndim == 1:
        if threshold is None:
            raise ValueError("one score a row needs a threshold")
        return (scores >= threshold).astype(np.int64)
    return np.argmax(scores, axis=1)
