"""Training options: refit on all reviews, review fragments, bag dropout, wide models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imdb_edge.data.dataset import Split
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.train.config import TrainConfig, config_from_dict
from imdb_edge.train.features import review_fragments, split_rows


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"validation_size": 0}, "needs early_stopping = false"),
        ({"validation_size": -1}, "validation_size must be >= 0"),
        ({"bag_dropout": 1.0}, "bag_dropout"),
        ({"fragments": -1}, "fragments must be >= 0"),
        ({"fragment_words": [5, 2]}, "fragment_words"),
        ({"wide": True, "architecture": "dense", "hidden": [8]}, "wide = true needs"),
        ({"wide": True, "architecture": "bag", "hidden": []}, "wide = true needs"),
    ],
)
def test_invalid_options_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ImdbEdgeError, match=message):
        config_from_dict(changes)


def test_new_options_round_trip_through_to_dict() -> None:
    config = config_from_dict(
        {"fragments": 2, "fragment_words": [4, 9], "bag_dropout": 0.25, "validation_size": 0, "early_stopping": False}
    )
    assert config_from_dict(config.to_dict()) == config
    assert config.fragment_words == (4, 9)


def test_refit_uses_every_training_row_and_holdout_does_not() -> None:
    train = Split(texts=["x"] * 100, labels=np.zeros(100), ratings=np.zeros(100), ids=np.arange(100))
    fit, held_out = split_rows(train, TrainConfig(validation_size=0, early_stopping=False))
    assert np.array_equal(fit, np.arange(100)) and held_out is None
    fit, held_out = split_rows(train, TrainConfig(validation_size=30))
    assert held_out is not None and len(held_out) == 30
    assert len(fit) == 70 and set(fit.tolist()) | set(held_out.tolist()) == set(range(100))


def test_fragments_are_runs_of_the_review_words_with_its_label() -> None:
    texts = ["one two three four five six seven eight nine ten", "short one"]
    fragments, labels = review_fragments(texts, np.array([1, 0]), per_review=5, words=(2, 4), seed=0)
    assert len(fragments) == 10 and labels.tolist() == [1.0] * 5 + [0.0] * 5
    for fragment in fragments[:5]:
        words = fragment.split()
        assert 2 <= len(words) <= 4 and fragment in texts[0]
    assert all(fragment == "short one" for fragment in fragments[5:])  # never longer than the review
    again, _ = review_fragments(texts, np.array([1, 0]), per_review=5, words=(2, 4), seed=0)
    assert again == fragments


tf = pytest.importorskip("tensorflow")


def test_bag_dropout_only_acts_while_training() -> None:
    import keras

    from imdb_edge.train.layers import ScaledBag

    keras.utils.set_random_seed(0)
    plain, dropped = ScaledBag(50, 3, dropout=0.0), ScaledBag(50, 3, dropout=0.5)
    ids = np.arange(40, dtype=np.int32).reshape(2, 20)
    plain.build((None, None))
    dropped.build((None, None))
    dropped.set_weights(plain.get_weights())
    np.testing.assert_allclose(np.asarray(dropped(ids)), np.asarray(plain(ids)), atol=1e-6)
    assert not np.allclose(np.asarray(dropped(ids, training=True)), np.asarray(plain(ids)))


@pytest.mark.slow
def test_refit_with_fragments_trains_on_every_review_and_its_pieces(imdb_archive: Path, tmp_path: Path) -> None:
    from imdb_edge.train.run import train_to_folder

    config = config_from_dict(
        {
            "architecture": "bag",
            "hidden": [4],
            "wide": True,
            "epochs": 2,
            "batch_size": 16,
            "validation_size": 0,
            "early_stopping": False,
            "fragments": 2,
            "vectorizer": {"ngram_max": 2, "weighting": "nb"},
        }
    )
    document = train_to_folder(config, tmp_path / "run", data=imdb_archive, report=None)
    metrics = document["metrics"]
    assert metrics["train_rows"] == 80 + 2 * 80  # the fixture's 80 training reviews, each with 2 fragments
    assert metrics["validation_rows"] == 0 and metrics["val_accuracy"] is None and metrics["best_epoch"] is None
    assert metrics["used_epoch"] == metrics["epochs_run"] == 2
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert (tmp_path / "run" / "learning_curves.png").exists()


@pytest.mark.slow
def test_selection_reports_short_text_accuracy_on_validation_only(imdb_archive: Path, tmp_path: Path) -> None:
    import json

    from imdb_edge.train.sweep import load_plan, run_sweep

    grid = tmp_path / "grid.toml"
    grid.write_text(
        "seeds = [0]\n[defaults]\narchitecture = 'bag'\nhidden = []\nepochs = 2\nbatch_size = 16\n"
        "validation_size = 20\n[[runs]]\nname = 'lin'\n"
    )
    table = run_sweep(load_plan(grid), tmp_path / "sweep", data=imdb_archive, validation_only=True)
    row = json.loads((tmp_path / "sweep" / "results.jsonl").read_text())
    kinds = row["val_short_by_kind"]
    assert set(kinds) == {"first sentence", "first 20 words", "last 30 words", "all"}
    assert all(0.0 <= value <= 1.0 for value in kinds.values())
    assert row["val_short_accuracy"] == kinds["all"] and row["test_accuracy"] is None
    assert table[0]["val_short_accuracy_mean"] == pytest.approx(kinds["all"])
    line = next(line for line in (tmp_path / "sweep" / "results.md").read_text().splitlines() if "| lin |" in line)
    assert f"| {100 * kinds['all']:.2f} ± 0.00 |" in line


def test_fold_wide_mixes_the_two_models_logits() -> None:
    """The folded model's logit is (1 - w) * linear logit + w * hidden logit, for any weights."""
    from types import SimpleNamespace

    import keras

    from imdb_edge.train.model import build_model
    from imdb_edge.train.training import fold_wide

    size, weights = 30, np.linspace(-1, 1, 30).astype(np.float32)
    keras.utils.set_random_seed(1)
    linear = build_model(TrainConfig(architecture="bag", hidden=()), size, weights)
    hidden = build_model(TrainConfig(architecture="bag", hidden=(3,)), size, weights)
    for model in (linear, hidden):
        model.set_weights([np.random.default_rng(2).normal(0, 0.5, w.shape) for w in model.get_weights()])
        model.layers[0].set_scale(weights)
    config = TrainConfig(architecture="bag", hidden=(3,), wide=True, wide_weight=0.3)
    features = SimpleNamespace(vectorizer=SimpleNamespace(size=size, feature_weights=weights), classes=2)
    folded = fold_wide(config, features, linear, hidden)  # type: ignore[arg-type]
    ids = np.array([[0, 5, 7, size], [2, 29, size, size], [size, size, size, size]], dtype=np.int32)

    def logit(model: object) -> np.ndarray:
        p = np.asarray(model(ids), dtype=np.float64).reshape(-1)  # type: ignore[operator]
        return np.log(p / (1 - p))

    np.testing.assert_allclose(logit(folded), 0.7 * logit(linear) + 0.3 * logit(hidden), atol=1e-4)
