"""The native vectorizer on all 50,000 real reviews: the same ids and scores as the Python definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imdb_edge.runtime import vectorizer as module
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig

pytestmark = [
    pytest.mark.skipif(module._native is None, reason="native vectorizer not built or forced off"),
]


@pytest.fixture(scope="module")
def reviews(full_data: Path) -> list[str]:
    from imdb_edge.data.dataset import load_dataset

    dataset = load_dataset(full_data)
    texts = dataset.train.texts + dataset.test.texts
    assert len(texts) == 50_000
    return texts


def _same_ids(vec: Vectorizer, texts: list[str]) -> None:
    """Identical ragged ids (so identical padded ids and multi-hot rows) from native and the definition."""
    assert vec.implementation == "native"
    ids, offsets = vec.feature_ids_batch(texts)
    expected_ids, expected_offsets = vec.pure_python().feature_ids_batch(texts)
    np.testing.assert_array_equal(offsets, expected_offsets)
    np.testing.assert_array_equal(ids, expected_ids)
    assert ids.size > 10 * len(texts)  # the reviews really hit the vocabulary


def test_unigram_vocabulary_ids_are_identical_on_all_reviews(reviews: list[str]) -> None:
    vec = Vectorizer.fit(reviews[:25_000], VectorizerConfig(max_features=10_000))
    _same_ids(vec, reviews)


def test_shipped_trigram_vocabulary_ids_and_scores_are_identical_on_all_reviews(reviews: list[str]) -> None:
    native = Classifier.load()
    # the shipped fourgrams model: 200,000 1-4-grams
    assert native.vectorizer.config.ngram_max >= 2 and native.vectorizer.size >= 100_000
    _same_ids(native.vectorizer, reviews)
    pure = Classifier.load()
    pure.vectorizer = pure.vectorizer.pure_python()
    scores = native.scores(reviews)
    np.testing.assert_array_equal(scores, pure.scores(reviews))
    labels = scores >= native.threshold
    assert 0.3 < labels.mean() < 0.7


@pytest.mark.parametrize("ngram_max", [1, 3])
def test_hashed_ids_are_identical_on_all_reviews(reviews: list[str], ngram_max: int) -> None:
    vec = Vectorizer(VectorizerConfig(hash_buckets=2**21, ngram_max=ngram_max), None)
    _same_ids(vec, reviews)


def test_one_review_entry_points_match_the_batch_on_all_reviews(reviews: list[str]) -> None:
    """ids() and padded([text]) (the kernel's own scratch for reviews under 4 KiB, per-call scratch above) give
    each review the row the definition gives it in the batch."""
    vec = Classifier.load().vectorizer
    expected_ids, offsets = vec.pure_python().feature_ids_batch(reviews)
    assert sum(len(t.encode("utf-8", "surrogatepass")) >= 4096 for t in reviews) > 100  # both scratch paths
    for i, text in enumerate(reviews):
        expected = expected_ids[offsets[i] : offsets[i + 1]]
        np.testing.assert_array_equal(vec.feature_ids(text), expected)
        row = vec.padded_ids([text], 1)
        assert row.shape == (1, max(expected.size, 1))
        np.testing.assert_array_equal(row[0, : expected.size], expected)
