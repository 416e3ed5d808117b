"""term_ranking "nb-df": the vocabulary keeps the terms that decide reviews, chosen from training labels only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.data.dataset import Dataset, Split, holdout_split, load_dataset
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig
from imdb_edge.train.config import TrainConfig, config_from_dict
from imdb_edge.train.features import build_features, features_key
from imdb_edge.train.vocabulary import informative_terms
from tests.helpers import run_cli

# "the film" is in every review (neutral); "waste" only in negatives, "gem" only in positives, each in fewer.
TEXTS = [
    "the film was a gem",
    "the film is a gem indeed",
    "the film felt like a gem",
    "the film was a waste",
    "the film is a waste of time",
    "the film felt like a waste",
    "the film and the cast",
    "the film and the plot",
]
LABELS = np.array([1, 1, 1, 0, 0, 0, 1, 0])
CONFIG = VectorizerConfig(max_features=2, ngram_max=2, min_df=2, weighting="nb")


def test_frequency_keeps_the_common_neutral_terms_and_nb_df_the_deciding_ones() -> None:
    assert Vectorizer.fit(TEXTS, CONFIG).vocabulary == ["film", "the"]
    chosen = informative_terms(CONFIG, TEXTS, TEXTS, LABELS, alpha=1.0)
    assert chosen.vocabulary == ["a gem", "a waste"]  # ties with "gem" and "waste": frequency order decides
    assert chosen.config == CONFIG  # the stored settings do not change: the runtime needs nothing new


def test_kept_terms_stay_in_frequency_order() -> None:
    config = VectorizerConfig(max_features=4, ngram_max=2, min_df=2, weighting="nb")
    chosen = informative_terms(config, TEXTS, TEXTS, LABELS, alpha=1.0).vocabulary or []
    by_frequency = Vectorizer.fit(TEXTS, VectorizerConfig(max_features=10**6, ngram_max=2, min_df=2)).vocabulary or []
    assert len(chosen) == 4 and chosen == [term for term in by_frequency if term in chosen]


def _dataset(labels: np.ndarray) -> Dataset:
    split = Split(texts=TEXTS * 3, labels=labels, ratings=np.ones(len(labels), np.int8), ids=np.arange(len(labels)))
    return Dataset(train=split, test=split, source="memory", fingerprint="x")


def test_validation_labels_do_not_choose_the_vocabulary() -> None:
    """Flipping every label of the held-out rows changes nothing: only the fit rows' labels are read."""
    labels = np.tile(LABELS, 3).astype(np.int8)
    config = TrainConfig(architecture="bag", hidden=(), validation_size=8, term_ranking="nb-df", vectorizer=CONFIG)
    held_out = holdout_split(len(labels), 8, config.split_seed)[1]
    flipped = labels.copy()
    flipped[held_out] = 1 - flipped[held_out]
    first = build_features(_dataset(labels), config).vectorizer.vocabulary
    assert build_features(_dataset(flipped), config).vectorizer.vocabulary == first
    refit = config.updated(validation_size=0, early_stopping=False)  # a refit reads every row's label
    assert (
        build_features(_dataset(flipped), refit).vectorizer.vocabulary
        != build_features(_dataset(np.zeros_like(labels)), refit).vectorizer.vocabulary
    )


def test_terms_absent_from_the_fit_rows_are_never_chosen() -> None:
    """More room than scored terms: the vocabulary stops short rather than take terms only held-out texts have."""
    config = VectorizerConfig(max_features=1000, ngram_max=1, min_df=1, weighting="nb")
    held_out = "unseenword elsewhere"
    chosen = informative_terms(config, [*TEXTS, held_out], TEXTS, LABELS, alpha=1.0).vocabulary or []
    assert "unseenword" not in chosen and {"gem", "waste"} <= set(chosen)


def test_runs_that_rank_terms_differently_do_not_share_features() -> None:
    base = TrainConfig(architecture="bag", vectorizer=CONFIG)
    assert features_key(base) != features_key(base.updated(term_ranking="nb-df"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"term_ranking": "chi2"}, "term_ranking must be one of frequency, nb-df, nb-movies"),
        (
            {"term_ranking": "nb-df", "architecture": "bag", "vectorizer": {"hash_buckets": 1024}},
            "hashed n-grams .* keep no vocabulary",
        ),
    ],
)
def test_bad_rankings_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ImdbEdgeError, match=message):
        config_from_dict(changes)


@pytest.mark.slow
def test_train_cli_ranks_terms_and_records_it(imdb_archive: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")

    out = tmp_path / "run"
    flags = ["--architecture", "bag", "--hidden", "none", "--epochs", "2", "--batch-size", "16"]
    flags += ["--validation-size", "20", "--max-features", "50", "--ngrams", "2", "--weighting", "nb"]
    result = run_cli("train", "--data", str(imdb_archive), "--out", str(out), "--term-ranking", "nb-df", *flags)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["term_ranking"] == "nb-df"
    terms = json.loads((out / "vectorizer.json").read_text())["vocabulary"]
    dataset = load_dataset(imdb_archive)
    settings = VectorizerConfig(max_features=50, ngram_max=2, min_df=1, weighting="nb")
    fit_rows = holdout_split(len(dataset.train), 20, TrainConfig().split_seed)[0]
    expected = informative_terms(
        settings,
        dataset.train.texts,
        [dataset.train.texts[i] for i in fit_rows],
        dataset.train.labels[fit_rows],
        alpha=1.0,
    ).vocabulary
    assert terms == expected != Vectorizer.fit(dataset.train.texts, settings).vocabulary


def test_candidates_are_the_most_frequent_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """With min_df 1 every n-gram would be a candidate (millions on IMDB): the pool is capped by frequency."""
    import imdb_edge.train.vocabulary as vocabulary

    config = VectorizerConfig(max_features=2, ngram_max=2, min_df=1, weighting="nb")
    monkeypatch.setattr(vocabulary, "POOL_FEATURES", 6)  # film, the, the film, a, a gem, a waste
    assert informative_terms(config, TEXTS, TEXTS, LABELS, alpha=1.0).vocabulary == ["a gem", "a waste"]
    monkeypatch.setattr(vocabulary, "POOL_FEATURES", 4)  # film, the, the film, a: none leans either way
    with pytest.raises(ImdbEdgeError, match="no candidate term leans either way in the fit rows"):
        informative_terms(config, TEXTS, TEXTS, LABELS, alpha=1.0)


def test_nb_movies_counts_movies_not_reviews() -> None:
    """A name in many reviews of one film leans hard and says nothing of the next film: counted once."""
    texts = ["branagh shines"] * 4 + ["a gem", "a gem here", "a waste", "a waste here"]
    labels = np.array([1, 1, 1, 1, 1, 1, 0, 0])
    movies = np.array(["tt1"] * 4 + ["tt2", "tt3", "tt4", "tt5"])
    config = VectorizerConfig(max_features=2, ngram_max=2, min_df=2, weighting="nb")
    by_reviews = informative_terms(config, texts, texts, labels, alpha=1.0).vocabulary or []
    by_movies = informative_terms(config, texts, texts, labels, alpha=1.0, fit_groups=movies).vocabulary or []
    assert "branagh" in by_reviews and "branagh" not in by_movies
    assert set(by_movies) <= {"a gem", "gem", "a waste", "waste"}


def test_nb_movies_needs_the_movies() -> None:
    config = TrainConfig(architecture="bag", hidden=(), validation_size=8, term_ranking="nb-movies", vectorizer=CONFIG)
    with pytest.raises(ImdbEdgeError, match="term_ranking = nb-movies needs the movie of each training review"):
        build_features(_dataset(np.tile(LABELS, 3).astype(np.int8)), config)
    split = _dataset(np.tile(LABELS, 3).astype(np.int8)).train
    split.movies = np.array([f"tt{i % 5}" for i in range(len(split))])
    features = build_features(Dataset(train=split, test=split, source="memory", fingerprint="x"), config)
    assert features.vectorizer.size == 2
