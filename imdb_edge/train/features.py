"""Dataset -> vectorizer + model inputs, computed once and shared by many runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.data.dataset import Dataset, Split, holdout_by_group, holdout_split
from imdb_edge.data.short_texts import PIECES, review_pieces
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import Vectorizer
from imdb_edge.train.config import TrainConfig
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
    x_pseudo: np.ndarray | None = None
    """Pseudo-labelled unlabelled reviews (self-training), their targets and loss weights."""
    y_pseudo: np.ndarray | None = None
    w_pseudo: np.ndarray | None = None
    pseudo_summary: dict[str, Any] | None = None
    """How the pseudo-labels were made (teacher figures, counts, confidence), for metrics.json."""

    @property
    def classes(self) -> int:
        return len(self.labels)


@dataclass
class PseudoLabels:
    """Unlabelled reviews with a teacher's targets (0/1, or its probability) and each one's loss weight."""

    texts: list[str]
    targets: np.ndarray
    weights: np.ndarray


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
        config.folds,
        config.fold,
        config.unlabelled_df,
        # self-training: the teacher's seed decides the pseudo-labels, so the features too
        (
            config.pseudo_labels,
            config.pseudo_rounds,
            config.pseudo_weight,
            config.pseudo_targets,
            config.pseudo_statistics,
            config.pseudo_loss,
            config.teacher_features,
            config.seed,
            config.epochs,
            config.learning_rate,
            config.batch_size,
            config.optimizer,
        )
        if config.pseudo_labels
        else None,
    )


def split_rows(train: Split, config: TrainConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The fit rows and the validation rows of the training split: all rows and None for a refit
    (validation_size 0); the rows of a validation file; else reviews drawn at random (at most a fifth of the
    rows when the split is small for validation_size), or whole movies (validation_groups "movie")."""
    if train.validation is not None:
        rows = np.arange(len(train))
        return np.setdiff1d(rows, train.validation), train.validation
    if config.folds:
        groups = _movies_of(train, "validation_groups = movie") if config.validation_groups == "movie" else None
        assignment = fold_assignment(len(train), config.folds, config.split_seed, groups)
        rows = np.random.default_rng(config.split_seed).permutation(len(train))  # rows in a seeded order
        held = assignment[rows] == config.fold
        return rows[~held], rows[held]
    if config.validation_size == 0:
        return np.arange(len(train)), None
    if config.validation_groups == "review":
        return holdout_split(len(train), validation_size(config, len(train)), config.split_seed)
    return holdout_by_group(_movies_of(train, "validation_groups = movie"), config.validation_size, config.split_seed)


def fold_assignment(rows: int, folds: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Each row's fold (0..folds-1): every row is validated once over the folds. Rows at random, in folds whose
    sizes differ by at most one; with `groups` (movies), whole groups, each to the fold with the fewest rows so
    far, in a seeded order of groups, largest first (so sizes end within one group of each other)."""
    if not 2 <= folds <= rows:
        raise ImdbEdgeError(f"{folds} folds need between 2 and {rows} rows")
    rng = np.random.default_rng(seed)
    if groups is None:
        assignment = np.empty(rows, dtype=np.int64)
        assignment[rng.permutation(rows)] = np.arange(rows) % folds
        return assignment
    names, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if len(names) < folds:
        raise ImdbEdgeError(f"{folds} folds by movie need at least {folds} movies, the training rows have {len(names)}")
    order = rng.permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]
    sizes = np.zeros(folds, dtype=np.int64)
    group_fold = np.empty(len(names), dtype=np.int64)
    for group in order.tolist():
        target = int(np.argmin(sizes))
        group_fold[group] = target
        sizes[target] += counts[group]
    return group_fold[inverse]


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


def unlabelled_texts(dataset: Dataset, setting: str) -> list[str]:
    """The dataset's unlabelled reviews, or a clear error naming the `setting` that needs them."""
    if dataset.unlabelled is None or not len(dataset.unlabelled):
        raise ImdbEdgeError(
            f"{setting} needs unlabelled reviews: pass --unlabelled PATH (aclImdb_v1_unsup.tar.gz, or a folder with "
            "aclImdb/train/unsup/), or --data with a train/unsup folder (the official archive has one)"
        )
    return dataset.unlabelled.texts


def build_features(
    dataset: Dataset, config: TrainConfig, pseudo: PseudoLabels | None = None, vectorizer: Vectorizer | None = None
) -> Features:
    """Fit the vocabulary on the training split only (labels: of its fit rows only), encode both splits.

    `pseudo`: pseudo-labelled unlabelled reviews, added to the fit rows (and, with pseudo_statistics, to the
    counts behind the term ranking and the Naive-Bayes ratios). `vectorizer`: keep this vocabulary and weights.
    """
    start = time.perf_counter()
    classes = len(dataset.labels)
    fit_rows, val_rows = split_rows(dataset.train, config)
    texts, labels = [dataset.train.texts[i] for i in fit_rows], dataset.train.labels[fit_rows]
    label_type = np.float32 if classes == 2 else np.int32
    weights = None
    if pseudo is not None and config.pseudo_statistics:
        texts = texts + pseudo.texts
        labels = np.concatenate([labels.astype(np.float32), (pseudo.targets >= 0.5).astype(np.float32)])
        weights = np.concatenate([np.ones(len(fit_rows)), pseudo.weights]).astype(np.float64)
    if vectorizer is not None:
        pass
    elif config.term_ranking in ("nb-df", "nb-movies"):
        groups = None if config.term_ranking == "nb-df" else _movies_of(dataset.train, "term_ranking = nb-movies")
        if groups is not None and weights is not None:
            raise ImdbEdgeError("pseudo_statistics counts reviews, and nb-movies counts movies: use nb-df with it")
        vectorizer = informative_terms(
            config.vectorizer,
            dataset.train.texts,
            texts,
            labels,
            config.nb_alpha,
            None if groups is None else groups[fit_rows],
            classes,
            fit_weights=weights,
            extra_texts=unlabelled_texts(dataset, "unlabelled_df") if config.unlabelled_df else None,
        )
    else:
        vectorizer = Vectorizer.fit(dataset.train.texts, config.vectorizer)
    if config.vectorizer.weighting == "nb" and vectorizer.feature_weights is None:
        vectorizer = vectorizer.with_weights(nb_ratios(vectorizer, texts, labels, config.nb_alpha, classes, weights))
    val_pieces = None
    if val_rows is not None:
        pieces, kinds = review_pieces([dataset.train.texts[i] for i in val_rows])
        piece_labels = np.tile(dataset.train.labels[val_rows], len(PIECES)).astype(label_type)
        val_pieces = ValidationPieces(pieces, kinds, piece_labels)
    trained = pseudo if config.pseudo_loss else None
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
        x_pseudo=None if trained is None else encode(vectorizer, trained.texts, config.architecture),
        y_pseudo=None if trained is None else trained.targets.astype(np.float32),
        w_pseudo=None if trained is None else trained.weights.astype(np.float32),
    )
