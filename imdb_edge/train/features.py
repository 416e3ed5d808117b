"""Dataset -> vectorizer + model inputs, computed once and shared by many runs."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig
from imdb_edge.train.data import Dataset


@dataclass
class Features:
    vectorizer: Vectorizer
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seconds: float


def build_features(dataset: Dataset, config: VectorizerConfig) -> Features:
    """Fit the vocabulary on the training split only, then encode both splits."""
    start = time.perf_counter()
    vectorizer = Vectorizer.fit(dataset.train.texts, config)
    return Features(
        vectorizer=vectorizer,
        x_train=vectorizer.multi_hot(dataset.train.texts),
        y_train=dataset.train.labels.astype(np.float32),
        x_test=vectorizer.multi_hot(dataset.test.texts),
        y_test=dataset.test.labels.astype(np.float32),
        seconds=time.perf_counter() - start,
    )
