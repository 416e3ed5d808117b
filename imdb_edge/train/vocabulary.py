"""Which terms the vocabulary keeps: the most frequent (the default), or the most informative.

Term statistics live here too: Naive-Bayes ratios both weight the bag (weighting "nb")
and rank the terms (term_ranking "nb-df" or "nb-movies"), from the same counts of the fit rows.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig

POOL_FEATURES = 2**21
"""Candidates for an informative ranking: the 2**21 most frequent terms with min_df (all of the 932,988 1-3-grams
and 1,231,662 1-4-grams in two or more training reviews; with min_df 1, every n-gram would be several million, a
lookup table of hundreds of MB)."""


Ragged = tuple[np.ndarray, np.ndarray]
"""Feature ids of many texts and their offsets (Vectorizer.feature_ids_batch)."""


_POOL: list[tuple[VectorizerConfig, list[str], Vectorizer]] = []
"""The last candidate pool and the texts it was fitted on: k-fold runs and self-training rebuild the vocabulary
of one training split many times, and the pool (every term with min_df) depends only on those texts."""


def candidate_pool(config: VectorizerConfig, texts: list[str]) -> Vectorizer:
    """Every term with min_df in `texts` (at most POOL_FEATURES, or max_features if more), remembered for the
    same list of texts (the same object) and settings."""
    pool_config = replace(config, max_features=max(POOL_FEATURES, config.max_features))
    if _POOL and _POOL[0][0] == pool_config and _POOL[0][1] is texts:
        return _POOL[0][2]
    pool = Vectorizer.fit(texts, pool_config)
    _POOL[:] = [(pool_config, texts, pool)]
    return pool


def class_presence(
    vectorizer: Vectorizer,
    texts: list[str],
    labels: np.ndarray,
    ragged: Ragged | None = None,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """How many positive and how many negative texts hold each feature (`ragged`: their ids, if known;
    `weights`: what each text counts for, 1 if None)."""
    ids, offsets = ragged or vectorizer.feature_ids_batch(texts)
    owner = np.repeat(np.arange(len(texts)), np.diff(offsets))
    positive = labels.astype(bool)[owner]
    size = vectorizer.size
    if weights is None:
        return np.bincount(ids[positive], minlength=size), np.bincount(ids[~positive], minlength=size)
    per_id = np.asarray(weights, dtype=np.float64)[owner]
    return (
        np.bincount(ids[positive], weights=per_id[positive], minlength=size),
        np.bincount(ids[~positive], weights=per_id[~positive], minlength=size),
    )


def log_count_ratios(positive: np.ndarray, negative: np.ndarray, alpha: float) -> np.ndarray:
    """Naive-Bayes log-count ratios r = log((p/|p|) / (q/|q|)), p and q smoothed by alpha (Wang & Manning 2012)."""
    p, q = alpha + positive, alpha + negative
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def nb_ratios(
    vectorizer: Vectorizer,
    texts: list[str],
    labels: np.ndarray,
    alpha: float,
    classes: int = 2,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """The log-count ratio of every feature on binarized features of `texts`. Two labels: the signed ratio of
    the second to the first (NBSVM); more: the largest |ratio| of one label against the rest, a scale of how
    much a feature tells, since one signed number cannot lean towards K labels. `weights` (two labels only):
    what each text counts for (pseudo-labelled reviews may count less)."""
    if classes == 2:
        return log_count_ratios(*class_presence(vectorizer, texts, labels, weights=weights), alpha)
    if weights is not None:
        raise ImdbEdgeError("weighted Naive-Bayes ratios are for two labels")
    return np.max(np.abs(one_vs_rest_ratios(vectorizer, texts, labels, alpha, classes)), axis=0)


def one_vs_rest_ratios(
    vectorizer: Vectorizer,
    texts: list[str],
    labels: np.ndarray,
    alpha: float,
    classes: int,
    ragged: Ragged | None = None,
) -> np.ndarray:
    """(classes, features): each label's log-count ratio against all the others."""
    ids, offsets = ragged or vectorizer.feature_ids_batch(texts)
    owner_label = np.asarray(labels, dtype=np.int64)[np.repeat(np.arange(len(texts)), np.diff(offsets))]
    counts = np.bincount(owner_label * vectorizer.size + ids, minlength=classes * vectorizer.size)
    counts = counts.reshape(classes, vectorizer.size)
    total = counts.sum(axis=0)
    return np.stack([log_count_ratios(counts[c], total - counts[c], alpha) for c in range(classes)])


def group_presence(vectorizer: Vectorizer, groups: np.ndarray, ragged: Ragged) -> np.ndarray:
    """How many distinct groups (movies) have a text holding each feature (`ragged`: the texts' ids)."""
    ids, offsets = ragged
    names, group_index = np.unique(groups, return_inverse=True)
    owner_group = np.repeat(group_index.astype(np.int64), np.diff(offsets))
    pairs = np.unique(ids * len(names) + owner_group)  # one (feature, group) pair per group holding it
    return np.bincount(pairs // len(names), minlength=vectorizer.size)


def informative_terms(
    config: VectorizerConfig,
    texts: list[str],
    fit_texts: list[str],
    fit_labels: np.ndarray,
    alpha: float,
    fit_groups: np.ndarray | None = None,
    classes: int = 2,
    fit_weights: np.ndarray | None = None,
    extra_texts: list[str] | None = None,
) -> Vectorizer:
    """The max_features terms with the largest |log-count ratio| x document frequency on the fit rows.

    Frequency alone keeps common terms that lean neither way ("however", "the book") over
    rarer ones that lean hard ("it 8 10", "is well paced"); how strongly a term leans, times
    how often it is seen, keeps the terms a linear model leans on. With `fit_groups` (each fit
    row's movie), "how often" counts movies, not reviews: a cast member's name in 30 reviews
    of one film leans hard on the fit rows and tells nothing about a new film. Candidates: every
    term with min_df in `texts` (at most POOL_FEATURES, or max_features if more); the kept terms
    stay in frequency order. Only the fit rows' labels are read. `fit_weights`: what each fit row counts for
    (two labels only); `extra_texts` (unlabelled reviews) add to each term's document frequency, not to its ratio.
    """
    pool = candidate_pool(config, texts)
    ragged = pool.feature_ids_batch(fit_texts)
    if classes == 2:
        positive, negative = class_presence(pool, fit_texts, fit_labels, ragged, fit_weights)
        leaning, present = np.abs(log_count_ratios(positive, negative, alpha)), positive + negative
    else:  # how hard a term leans towards one label against the rest, for the label it leans to most
        if fit_weights is not None:
            raise ImdbEdgeError("weighted term statistics are for two labels")
        leaning = np.max(np.abs(one_vs_rest_ratios(pool, fit_texts, fit_labels, alpha, classes, ragged)), axis=0)
        present = np.bincount(ragged[0], minlength=pool.size)
    if extra_texts:
        present = present + np.bincount(pool.feature_ids_batch(extra_texts)[0], minlength=pool.size)
    spread = present if fit_groups is None else group_presence(pool, fit_groups, ragged)
    score = leaning * spread
    ranked = np.argsort(-score, kind="stable")[: config.max_features]
    keep = np.sort(ranked[score[ranked] > 0])  # a term absent from the fit rows (or leaning neither way) is no choice
    if not keep.size:
        raise ImdbEdgeError("term_ranking: no candidate term leans either way in the fit rows (too few reviews?)")
    terms = pool.vocabulary
    assert terms is not None  # fitted from texts: the terms are known
    return Vectorizer(config, [terms[i] for i in keep])
