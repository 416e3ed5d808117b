"""Dataset -> vectorizer + model inputs, computed once and shared by many runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.data.dataset import Dataset, Split, holdout_by_group, holdout_split
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import Vectorizer
from imdb_edge.train.config import TrainConfig
from imdb_edge.train.short_texts import PIECES, review_pieces
from imdb_edge.train.vocabulary import informative_terms, nb_ratios

SCORE_BATCH = 512  # reviews per Keras call when scoring


@dataclass
class Features:
    """A dataset encoded for one vocabulary: the model inputs and labels of every split.

    Labels are label indices: float32 0/1 for two labels (a sigmoid's target), int32 for more (a softmax's)."""

    vectorizer: Vectorizer
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seconds: float
    x_fragments: np.ndarray | None = None
    y_fragments: np.ndarray | None = None
    val_pieces: ValidationPieces | None = None
    fit_rows: np.ndarray | None = None
    """Training rows the model learns from (None: all of them)."""
    val_rows: np.ndarray | None = None
    """Training rows held out for validation (None: a refit, no validation)."""
    labels: tuple[str, ...] = ("negative", "positive")

    @property
    def classes(self) -> int:
        return len(self.labels)


@dataclass
class ValidationPieces:
    """Short pieces of the validation reviews (short_texts.PIECES), to score short-text accuracy in selection."""

    texts: list[str]
    kinds: list[str]
    labels: np.ndarray


def features_key(config: TrainConfig) -> tuple[Any, ...]:
    """Everything the features depend on: runs that share it share one encoding."""
    return (
        config.vectorizer,
        config.architecture,
        config.validation_size,
        config.split_seed,
        config.nb_alpha,
        config.fragments,
        config.fragment_words,
        config.term_ranking,
        config.validation_groups,
    )


def split_rows(train: Split, config: TrainConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The fit rows and the validation rows of the training split: all rows and None for a refit
    (validation_size 0); the rows of a validation file; else reviews drawn at random (at most a fifth of the
    rows when the split is small for validation_size), or whole movies (validation_groups "movie")."""
    if train.validation is not None:
        rows = np.arange(len(train))
        return np.setdiff1d(rows, train.validation), train.validation
    if config.validation_size == 0:
        return np.arange(len(train)), None
    if config.validation_groups == "review":
        return holdout_split(len(train), validation_size(config, len(train)), config.split_seed)
    return holdout_by_group(_movies_of(train, "validation_groups = movie"), config.validation_size, config.split_seed)


def validation_size(config: TrainConfig, rows: int) -> int:
    """config.validation_size, or a fifth of the rows when that would leave fewer than half to fit (a user's
    file of 2,000 rows and the IMDB-sized default of 10,000)."""
    return config.validation_size if 2 * config.validation_size <= rows else max(1, rows // 5)


def _movies_of(train: Split, setting: str) -> np.ndarray:
    """Each training review's movie, or a clear error naming the `setting` that needs them."""
    if train.movies is None:
        raise ImdbEdgeError(
            f"{setting} needs the movie of each training review (train/urls_pos.txt and "
            f"train/urls_neg.txt of the official archive): {train.movies_missing}"
        )
    return train.movies


def review_fragments(
    texts: list[str], labels: np.ndarray, per_review: int, words: tuple[int, int], seed: int
) -> tuple[list[str], np.ndarray]:  # labels keep their dtype
    """`per_review` random runs of consecutive words from each review, labelled like the review.

    Short inputs ("meh", one sentence) look nothing like a 230-word review; training on
    pieces of reviews teaches the model what a few words are worth on their own.
    """
    rng = np.random.default_rng(seed)
    fragments: list[str] = []
    fragment_labels: list[int] = []
    for text, label in zip(texts, labels, strict=True):
        tokens = text.split()
        for _ in range(per_review):
            length = min(int(rng.integers(words[0], words[1] + 1)), len(tokens))
            start = int(rng.integers(0, len(tokens) - length + 1))
            fragments.append(" ".join(tokens[start : start + length]))
            fragment_labels.append(int(label))
    return fragments, np.array(fragment_labels, dtype=labels.dtype)


def encode(vectorizer: Vectorizer, texts: list[str], architecture: str) -> np.ndarray:
    """Model input: term ids (int32, padded with V) for bag models, weighted multi-hot for dense."""
    if architecture == "bag":
        return vectorizer.padded_ids(texts).astype(np.int32)
    return vectorizer.multi_hot(texts)


def model_scores(model: Any, vectorizer: Vectorizer, architecture: str, texts: list[str]) -> np.ndarray:
    """A Keras model's scores for `texts`, encoded and run in batches of SCORE_BATCH: (n,) for a sigmoid
    output (two labels), (n, K) for a softmax over K labels, as the runtime gives them."""
    batches = [
        np.asarray(model(encode(vectorizer, texts[i : i + SCORE_BATCH], architecture), training=False))
        for i in range(0, len(texts), SCORE_BATCH)
    ]
    scores = np.concatenate([b.reshape(len(b), -1) for b in batches]) if batches else np.empty((0, 1))
    return scores.reshape(-1) if scores.shape[1] == 1 else scores


def build_features(dataset: Dataset, config: TrainConfig) -> Features:
    """Fit the vocabulary on the training split only (labels: of its fit rows only), encode both splits."""
    start = time.perf_counter()
    classes = len(dataset.labels)
    fit_rows, val_rows = split_rows(dataset.train, config)
    texts, labels = [dataset.train.texts[i] for i in fit_rows], dataset.train.labels[fit_rows]
    label_type = np.float32 if classes == 2 else np.int32
    if config.term_ranking in ("nb-df", "nb-movies"):
        groups = None if config.term_ranking == "nb-df" else _movies_of(dataset.train, "term_ranking = nb-movies")
        vectorizer = informative_terms(
            config.vectorizer,
            dataset.train.texts,
            texts,
            labels,
            config.nb_alpha,
            None if groups is None else groups[fit_rows],
            classes,
        )
    else:
        vectorizer = Vectorizer.fit(dataset.train.texts, config.vectorizer)
    if config.vectorizer.weighting == "nb":
        vectorizer = vectorizer.with_weights(nb_ratios(vectorizer, texts, labels, config.nb_alpha, classes))
    val_pieces = None
    if val_rows is not None:
        pieces, kinds = review_pieces([dataset.train.texts[i] for i in val_rows])
        piece_labels = np.tile(dataset.train.labels[val_rows], len(PIECES)).astype(label_type)
        val_pieces = ValidationPieces(pieces, kinds, piece_labels)
    x_fragments = y_fragments = None
    if config.fragments:
        fragments, y_fragments = review_fragments(
            texts, labels.astype(label_type), config.fragments, config.fragment_words, config.split_seed
        )
        x_fragments = encode(vectorizer, fragments, config.architecture)
    return Features(
        vectorizer=vectorizer,
        x_train=encode(vectorizer, dataset.train.texts, config.architecture),
        y_train=dataset.train.labels.astype(label_type),
        x_test=encode(vectorizer, dataset.test.texts, config.architecture),
        y_test=dataset.test.labels.astype(label_type),
        seconds=time.perf_counter() - start,
        x_fragments=x_fragments,
        y_fragments=y_fragments,
        val_pieces=val_pieces,
        fit_rows=fit_rows,
        val_rows=val_rows,
        labels=tuple(dataset.labels),
    )
