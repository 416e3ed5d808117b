"""Dataset -> vectorizer + model inputs, computed once and shared by many runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.data.dataset import Dataset, holdout_split
from imdb_edge.runtime.vectorizer import Vectorizer
from imdb_edge.train.config import TrainConfig


@dataclass
class Features:
    vectorizer: Vectorizer
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seconds: float


def features_key(config: TrainConfig) -> tuple[Any, ...]:
    """Everything the features depend on: runs that share it share one encoding."""
    return (config.vectorizer, config.architecture, config.validation_size, config.split_seed, config.nb_alpha)


def nb_ratios(vectorizer: Vectorizer, texts: list[str], labels: np.ndarray, alpha: float) -> np.ndarray:
    """Naive-Bayes log-count ratios r = log((p/|p|) / (q/|q|)) on binarized features (Wang & Manning 2012)."""
    ids, offsets = vectorizer.feature_ids_batch(texts)
    owner = np.repeat(np.arange(len(texts)), np.diff(offsets))
    positive = labels.astype(bool)[owner]
    p = alpha + np.bincount(ids[positive], minlength=vectorizer.size)
    q = alpha + np.bincount(ids[~positive], minlength=vectorizer.size)
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def encode(vectorizer: Vectorizer, texts: list[str], architecture: str) -> np.ndarray:
    """Model input: term ids (int32, padded with V) for bag models, weighted multi-hot for dense."""
    if architecture == "bag":
        return vectorizer.padded_ids(texts).astype(np.int32)
    return vectorizer.multi_hot(texts)


def build_features(dataset: Dataset, config: TrainConfig) -> Features:
    """Fit the vocabulary on the training split only (Naive-Bayes ratios on its fit rows), encode both splits."""
    start = time.perf_counter()
    vectorizer = Vectorizer.fit(dataset.train.texts, config.vectorizer)
    if config.vectorizer.weighting == "nb":
        fit_rows, _ = holdout_split(len(dataset.train), config.validation_size, config.split_seed)
        texts = [dataset.train.texts[i] for i in fit_rows]
        vectorizer = vectorizer.with_weights(
            nb_ratios(vectorizer, texts, dataset.train.labels[fit_rows], config.nb_alpha)
        )
    return Features(
        vectorizer=vectorizer,
        x_train=encode(vectorizer, dataset.train.texts, config.architecture),
        y_train=dataset.train.labels.astype(np.float32),
        x_test=encode(vectorizer, dataset.test.texts, config.architecture),
        y_test=dataset.test.labels.astype(np.float32),
        seconds=time.perf_counter() - start,
    )
