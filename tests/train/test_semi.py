"""Self-training settings, unlabelled term statistics and k-fold validation (issue 30), on small fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.data.dataset import Dataset, Split, Unlabelled, load_dataset
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import VectorizerConfig
from imdb_edge.train.config import TrainConfig, config_from_dict
from imdb_edge.train.features import build_features, features_key, fold_assignment, split_rows
from imdb_edge.train.semi import choose_pseudo_labels, teacher_config
from imdb_edge.train.sweep import SweepPlan, SweepRun, kfold_markdown, kfold_table, load_plan
from imdb_edge.train.vocabulary import informative_terms
from tests.helpers import run_cli
from tests.imdb_fixture import make_imdb_folder

BAG = TrainConfig(
    architecture="bag",
    hidden=(),
    term_ranking="nb-df",
    validation_size=20,
    vectorizer=VectorizerConfig(ngram_max=2, max_features=60, weighting="nb"),
)


@pytest.fixture(scope="module")
def with_unsup(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return load_dataset(make_imdb_folder(tmp_path_factory.mktemp("semi"), per_class=30, unsup=40), unlabelled=True)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"folds": 1}, "folds must be 0"),
        ({"folds": 3, "fold": 3}, "fold must be between 0 and folds - 1"),
        ({"pseudo_labels": -1}, "pseudo_labels must be >= 0"),
        ({"pseudo_labels": 10, "pseudo_rounds": 0}, "pseudo_rounds must be >= 1"),
        ({"pseudo_labels": 10, "pseudo_weight": 0}, "pseudo_weight must be > 0"),
        ({"pseudo_labels": 10, "pseudo_targets": "fuzzy"}, "pseudo_targets must be one of hard, soft"),
        ({"pseudo_statistics": True}, "need pseudo_labels > 0"),
        ({"pseudo_labels": 10, "pseudo_loss": False}, "leaves the pseudo-labels nothing to do"),
        ({"teacher_features": 1000}, "need pseudo_labels > 0"),
        ({"unlabelled_df": True, "term_ranking": "frequency"}, "needs term_ranking = nb-df"),
        ({"pseudo_labels": 10, "architecture": "dense"}, "for architecture bag"),
    ],
)
def test_bad_settings_are_refused(settings: dict, message: str) -> None:
    base = {"architecture": "bag", "hidden": [], "term_ranking": "nb-df"}
    with pytest.raises(ImdbEdgeError, match=message):
        config_from_dict({**base, **settings})


def test_settings_come_from_toml_and_flags(tmp_path: Path) -> None:
    from imdb_edge.train.options import config_from_options

    toml = tmp_path / "semi.toml"
    toml.write_text('pseudo_labels = 20000\npseudo_targets = "soft"\nunlabelled_df = true\n')
    config = config_from_options("fourgrams", toml, {"pseudo_weight": 0.5, "teacher_features": 10})
    assert (config.pseudo_labels, config.pseudo_targets, config.pseudo_weight) == (20000, "soft", 0.5)
    assert config.unlabelled_df and config.teacher_features == 10 and config.uses_unlabelled
    assert not TrainConfig().uses_unlabelled
    teacher = teacher_config(config)
    assert teacher.pseudo_labels == 0 and teacher.vectorizer.max_features == 10 and teacher.unlabelled_df
    assert features_key(teacher) == features_key(
        config.updated(pseudo_labels=0, teacher_features=0).updated(vectorizer={"max_features": 10})
    )


def test_folds_validate_every_row_once_and_keep_movies_whole() -> None:
    movies = np.repeat(np.arange(60), np.arange(60) % 5 + 1)
    for groups in (None, movies):
        folds = fold_assignment(len(movies), 5, seed=7, groups=groups)
        sizes = np.bincount(folds, minlength=5)
        assert sizes.sum() == len(movies) and sizes.max() - sizes.min() <= (1 if groups is None else 5)
        assert np.array_equal(folds, fold_assignment(len(movies), 5, seed=7, groups=groups))
    by_movie = fold_assignment(len(movies), 5, seed=7, groups=movies)
    assert all(len(set(by_movie[movies == m])) == 1 for m in range(60))
    with pytest.raises(ImdbEdgeError, match="need at least 5 movies"):
        fold_assignment(10, 5, seed=0, groups=np.zeros(10))


def test_split_rows_with_folds(with_unsup: Dataset) -> None:
    train = with_unsup.train
    held = []
    for fold in range(3):
        fit, val = split_rows(train, BAG.updated(folds=3, fold=fold, validation_groups="movie"))
        assert len(fit) + len(val) == len(train) and not set(fit) & set(val)
        assert train.movies is not None and not set(train.movies[fit]) & set(train.movies[val])
        held.append(set(val.tolist()))
    assert set().union(*held) == set(range(len(train))) and sum(map(len, held)) == len(train)


def test_pseudo_labels_are_the_most_confident_of_each_label() -> None:
    texts = [f"review {i}" for i in range(10)]
    scores = np.array([0.99, 0.1, 0.6, 0.45, 0.97, 0.02, 0.8, 0.3, 0.51, 0.49], dtype=np.float32)
    pseudo, summary = choose_pseudo_labels(texts, scores, config_from_dict({**_bag(), "pseudo_labels": 4}))
    assert pseudo.texts == ["review 0", "review 1", "review 4", "review 5"]
    assert pseudo.targets.tolist() == [1, 0, 1, 0] and summary["positive"] == 2
    soft, _ = choose_pseudo_labels(
        texts, scores, config_from_dict({**_bag(), "pseudo_labels": 4, "pseudo_targets": "soft", "pseudo_weight": 0.5})
    )
    assert np.allclose(soft.targets, [0.99, 0.1, 0.97, 0.02]) and soft.weights.tolist() == [0.5] * 4
    # never a review the teacher calls the other label, even when more are asked for than it calls one label
    skewed, _ = choose_pseudo_labels(
        texts, np.full(10, 0.9, np.float32), config_from_dict({**_bag(), "pseudo_labels": 10})
    )
    assert len(skewed.texts) == 5 and skewed.targets.tolist() == [1] * 5


def _bag() -> dict:
    return {"architecture": "bag", "hidden": [], "term_ranking": "nb-df"}


def test_pseudo_rows_join_the_fit_rows_with_their_weights(with_unsup: Dataset) -> None:
    from imdb_edge.train.features import PseudoLabels
    from imdb_edge.train.training import training_inputs

    assert with_unsup.unlabelled is not None
    texts = with_unsup.unlabelled.texts[:10]
    pseudo = PseudoLabels(texts, np.array([1, 0] * 5, np.float32), np.full(10, 0.25, np.float32))
    config = BAG.updated(pseudo_labels=10)
    plain = build_features(with_unsup, config)
    features = build_features(with_unsup, config, pseudo)
    assert plain.vectorizer.vocabulary == features.vectorizer.vocabulary  # statistics of the fit rows only
    assert np.array_equal(plain.vectorizer.feature_weights, features.vectorizer.feature_weights)
    x, y, weights = training_inputs(config, features)
    fit = len(features.fit_rows)
    assert len(x) == len(y) == fit + 10 and weights is not None
    assert weights[:fit].tolist() == [1.0] * fit and weights[fit:].tolist() == [0.25] * 10
    assert y[fit:].tolist() == [1, 0] * 5
    counted = build_features(with_unsup, config.updated(pseudo_statistics=True), pseudo)
    assert not np.array_equal(plain.vectorizer.feature_weights, counted.vectorizer.feature_weights)
    assert counted.x_pseudo is not None and len(counted.x_pseudo) == 10
    statistics_only = build_features(with_unsup, config.updated(pseudo_statistics=True, pseudo_loss=False), pseudo)
    assert statistics_only.x_pseudo is None
    assert np.array_equal(statistics_only.vectorizer.feature_weights, counted.vectorizer.feature_weights)


def test_unlabelled_df_counts_unlabelled_reviews_in_the_ranking() -> None:
    texts = ["a gem indeed", "a gem", "a waste", "a waste indeed", "dull waste", "fine gem"]
    labels = np.array([1, 1, 0, 0, 0, 1])
    config = VectorizerConfig(ngram_max=1, max_features=2, min_df=1)
    plain = informative_terms(config, texts, texts, labels, alpha=1.0).vocabulary
    extra = ["dull dull", "dull again", "dull story", "dull plot", "dull one"]
    counted = informative_terms(config, texts + extra, texts, labels, alpha=1.0, extra_texts=extra).vocabulary
    assert plain == ["gem", "waste"] and counted is not None and "dull" in counted


def test_self_training_needs_unlabelled_reviews(imdb_archive: Path) -> None:
    from imdb_edge.train.semi import prepare_features

    with pytest.raises(ImdbEdgeError, match="pseudo_labels needs unlabelled reviews: pass --unlabelled PATH"):
        prepare_features(load_dataset(imdb_archive), BAG.updated(pseudo_labels=10))
    with pytest.raises(ImdbEdgeError, match="unlabelled_df needs unlabelled reviews"):
        build_features(load_dataset(imdb_archive), BAG.updated(unlabelled_df=True))


def test_self_training_is_for_two_labels() -> None:
    from imdb_edge.train.semi import prepare_features

    split = Split(["a b", "c d", "e f"], np.array([0, 1, 2]))
    three = Dataset(split, split, "memory", "x", labels=("a", "b", "c"), unlabelled=Unlabelled(["g h"], "m", "y"))
    with pytest.raises(ImdbEdgeError, match="for two labels"):
        prepare_features(three, BAG.updated(pseudo_labels=10, validation_size=0, early_stopping=False))


def test_sweep_folds_from_the_file_or_the_flag(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text('seeds = [0]\nfolds = 5\n[defaults]\narchitecture = "bag"\nhidden = []\n[[runs]]\nname = "a"\n')
    plan = load_plan(grid)
    assert plan.folds == 5 and plan.fold_list == [0, 1, 2, 3, 4]
    assert plan.seed_config(plan.runs[0], 0, 3).fold == 3 and load_plan(grid, folds=0).folds == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('folds = 1\n[[runs]]\nname = "a"\n')
    with pytest.raises(ImdbEdgeError, match="folds must be 0"):
        load_plan(bad)
    bad.write_text('folds = 3\n[[runs]]\nname = "a"\nfold = 1\n')
    with pytest.raises(ImdbEdgeError, match="sets each run's folds and fold itself"):
        load_plan(bad)


def test_kfold_table_pairs_each_fold_with_the_first_run() -> None:
    runs = [
        SweepRun(name, config_from_dict(_bag()).updated(**extra), {})
        for name, extra in (("base", {}), ("new", {"pseudo_labels": 5}))
    ]
    plan = SweepPlan(runs, [0], folds=3)
    rows = []
    for run, accuracies in zip(runs, ([0.90, 0.91, 0.92], [0.91, 0.93, 0.92]), strict=True):
        for fold, accuracy in enumerate(accuracies):
            config = plan.seed_config(run, 0, fold)
            rows.append(
                {
                    "name": run.name,
                    "seed": 0,
                    "validation_only": True,
                    "config": config.to_dict(),
                    "val_accuracy": accuracy,
                    "validation_rows": 100,
                    "train_seconds": 1.0,
                    "val_short_accuracy": 0.7,
                    "val_short_by_kind": {"first sentence": 0.6},
                }
            )
    table = kfold_table(plan, json.loads(json.dumps(rows)), validation_only=True)
    assert table[1]["differences"] == pytest.approx([1.0, 2.0, 0.0])
    assert table[1]["difference_mean"] == pytest.approx(1.0) and table[1]["difference_se"] == pytest.approx(1 / 3**0.5)
    assert table[0]["val_accuracy_pooled"] == pytest.approx(0.91)
    assert "| new | 3 | 92.00 | +1.00, +2.00, +0.00 | +1.000 ± 0.577 | +1.7 |" in kfold_markdown(table)


@pytest.mark.slow
def test_train_names_a_missing_unlabelled_path(imdb_archive: Path, tmp_path: Path) -> None:
    result = run_cli(
        "train",
        "--data",
        str(imdb_archive),
        "--unlabelled",
        str(tmp_path / "missing"),
        "--output",
        str(tmp_path / "run"),
        "--quiet",
    )
    assert result.exit_code != 0 and "--unlabelled points at" in result.output + (result.stderr or "")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_train_with_pseudo_labels_and_an_unsup_archive(tmp_path: Path) -> None:
    """The labelled archive plus the unsup one, self-training for two rounds: a run that exports like any."""
    from tests.imdb_fixture import make_imdb_archive, make_unsup_archive

    folder = make_imdb_folder(tmp_path / "data", per_class=30, unsup=40)
    unsup = make_unsup_archive(folder, tmp_path / "unsup.tar.gz")
    import shutil

    shutil.rmtree(folder / "train" / "unsup")
    labelled = make_imdb_archive(folder, tmp_path / "labelled.tar.gz")
    result = run_cli(
        "train",
        "--data",
        str(labelled),
        "--unlabelled",
        str(unsup),
        "--architecture",
        "bag",
        "--hidden",
        "none",
        "--weighting",
        "nb",
        "--term-ranking",
        "nb-df",
        "--ngrams",
        "2",
        "--max-features",
        "80",
        "--validation-size",
        "12",
        "--epochs",
        "2",
        "--no-early-stopping",
        "--pseudo-labels",
        "20",
        "--pseudo-rounds",
        "2",
        "--pseudo-targets",
        "soft",
        "--unlabelled-df",
        "--output",
        str(tmp_path / "run"),
        "--json",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    rounds = document["metrics"]["pseudo_labels"]["rounds"]
    assert [r["round"] for r in rounds] == [1, 2] and all(r["chosen"] <= 20 for r in rounds)
    assert document["metrics"]["train_rows"] > document["metrics"]["validation_rows"]
    assert document["data"]["unlabelled"]["reviews"] == 40
    assert document["config"]["pseudo_targets"] == "soft"


def test_sweep_rows_that_read_other_unlabelled_reviews_are_not_reused() -> None:
    from imdb_edge.train.sweep import _rows_of_dataset

    semi = config_from_dict({**_bag(), "pseudo_labels": 5}).to_dict()
    plain = config_from_dict(_bag()).to_dict()
    rows = [
        {"name": "a", "seed": 0, "config": semi, "data_fingerprint": "d", "unlabelled_fingerprint": "u1"},
        {"name": "b", "seed": 0, "config": plain, "data_fingerprint": "d", "unlabelled_fingerprint": "u1"},
        {"name": "c", "seed": 0, "config": semi, "data_fingerprint": "d"},  # recorded none: an older row
    ]
    assert [r["name"] for r in _rows_of_dataset(rows, "d", unlabelled="u1")] == ["a", "b", "c"]
    assert [r["name"] for r in _rows_of_dataset(rows, "d", unlabelled="u2")] == ["b", "c"]
    assert [r["name"] for r in _rows_of_dataset(rows, "d", unlabelled=None)] == ["b", "c"]
