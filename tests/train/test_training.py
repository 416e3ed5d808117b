"""Training on the tiny fixture: model building, the run folder, the CLI, sweeps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from typer.testing import CliRunner

from imdb_edge.cli import app
from imdb_edge.train.config import TrainConfig
from imdb_edge.train.model import build_model
from imdb_edge.train.sweep import load_plan, run_sweep
from tests.helpers import run_cli

pytestmark = pytest.mark.slow  # trains or exports Keras models

SMALL = ["--hidden", "8", "--epochs", "3", "--batch-size", "16", "--validation-size", "20", "--max-features", "60"]


def test_build_model_follows_the_config() -> None:
    config = TrainConfig(hidden=(16, 8), activation="tanh", loss="mse", optimizer="adam", dropout=0.2)
    model = build_model(config, input_width=100)
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert [layer.units for layer in dense] == [16, 8, 1]
    assert [layer.activation.__name__ for layer in dense] == ["tanh", "tanh", "sigmoid"]
    assert sum(layer.__class__.__name__ == "Dropout" for layer in model.layers) == 2
    assert model.loss == "mse" and model.optimizer.__class__.__name__ == "Adam"
    assert model.count_params() == 100 * 16 + 16 + 16 * 8 + 8 + 8 + 1


def test_train_writes_a_complete_run_folder(imdb_archive: Path, tmp_path: Path) -> None:
    import keras

    out = tmp_path / "run"
    result = run_cli("train", "--data", str(imdb_archive), "--out", str(out), "--json", *SMALL)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    names = {p.name for p in out.iterdir()}
    assert names == {"model.keras", "vectorizer.json", "history.json", "learning_curves.png", "metrics.json"}
    assert document == json.loads((out / "metrics.json").read_text())
    metrics = document["metrics"]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_rows"] == 80
    assert metrics["train_rows"] == 60 and metrics["validation_rows"] == 20
    assert 1 <= metrics["best_epoch"] <= 3
    assert document["config"]["hidden"] == [8] and document["config"]["vectorizer"]["max_features"] == 60
    assert len(document["data"]["fingerprint"]) == 64
    assert {"python", "numpy", "keras"} <= set(document["versions"])
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((out / "history.json").read_text())
    assert len(history["val_loss"]) == metrics["epochs_run"]
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    assert model.input_shape == (None, document["vectorizer"]["size"])
    assert not list(tmp_path.glob(".run.incomplete-*")), "a finished run leaves no staging folder"


def test_same_seed_same_model(imdb_archive: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    scores = []
    for name in ("a", "b"):
        result = runner.invoke(
            app, ["train", "--data", str(imdb_archive), "--out", str(tmp_path / name), "--json", "--seed", "3", *SMALL]
        )
        assert result.exit_code == 0, result.output
        scores.append(json.loads(result.stdout)["metrics"]["test_loss"])
    assert scores[0] == scores[1]


def test_existing_out_is_not_overwritten(imdb_archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = run_cli("train", "--data", str(imdb_archive), "--out", str(out), *SMALL)
    assert result.exit_code == 2
    assert "already exists" in result.output and "Traceback" not in result.output
    assert (out / "keep.txt").read_text() == "precious"


def test_bad_flags_are_one_line_errors(imdb_archive: Path, tmp_path: Path) -> None:
    result = run_cli("train", "--data", str(imdb_archive), "--out", str(tmp_path / "x"), "--hidden", "a,b")
    assert result.exit_code == 2 and "hidden sizes must be integers" in result.output
    result = run_cli("train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "y"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_sweep_tables_and_resume(imdb_archive: Path, tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(
        "seeds = [0, 1]\n[defaults]\nepochs = 2\nbatch_size = 16\nvalidation_size = 20\nearly_stopping = false\n"
        "[defaults.vectorizer]\nmax_features = 60\n"
        '[[runs]]\nname = "one"\nhidden = [8]\nreference = { split = "test", accuracy = 0.5 }\n'
        '[[runs]]\nname = "two"\nhidden = [4, 4]\nloss = "mse"\n'
    )
    out = tmp_path / "sweep"
    table = run_sweep(load_plan(grid), out, data=imdb_archive)
    assert [row["name"] for row in table] == ["one", "two"] and all(row["seeds"] == 2 for row in table)
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert table[0]["delta_points"] == pytest.approx(100 * (table[0]["test_accuracy_mean"] - 0.5))
    accuracies = [json.loads(line)["test_accuracy"] for line in lines if json.loads(line)["name"] == "one"]
    assert table[0]["test_accuracy_mean"] == pytest.approx(np.mean(accuracies))
    markdown = (out / "results.md").read_text()
    assert markdown.count("\n| one |") == 1 and "±" in markdown
    assert (out / "results.csv").read_text().splitlines()[0].startswith("name,epochs")
    # Running again trains nothing new: every (run, seed) is already recorded.
    with open(out / "results.jsonl", "a") as handle:
        handle.write('{"cut off by an interrupt')
    run_sweep(load_plan(grid), out, data=imdb_archive)
    assert len((out / "results.jsonl").read_text().splitlines()) == 5


def test_sweep_seed_splits_give_each_seed_its_own_validation_set(imdb_archive: Path, tmp_path: Path) -> None:
    from imdb_edge.train.features import split_rows
    from imdb_edge.train.run import load_data

    grid = tmp_path / "grid.toml"
    grid.write_text(
        "seeds = [3, 4]\nseed_splits = true\n"
        "[defaults]\nepochs = 1\nbatch_size = 16\nvalidation_size = 20\nearly_stopping = false\n"
        "vectorizer = { max_features = 60 }\n"
        '[[runs]]\nname = "one"\nhidden = [4]\n'
    )
    run_sweep(load_plan(grid), tmp_path / "sweep", data=imdb_archive, validation_only=True)
    rows = [json.loads(line) for line in (tmp_path / "sweep" / "results.jsonl").read_text().splitlines()]
    assert [(row["seed"], row["config"]["split_seed"]) for row in rows] == [(3, 3), (4, 4)]
    train = load_data(imdb_archive).train
    held_out = [set(split_rows(train, TrainConfig(validation_size=20, split_seed=s))[1]) for s in (3, 4)]
    assert held_out[0] != held_out[1]  # two validation sets, not one
    assert all(row["test_accuracy"] is None for row in rows)
    table = run_sweep(load_plan(grid), tmp_path / "sweep", data=imdb_archive, validation_only=True)
    assert len((tmp_path / "sweep" / "results.jsonl").read_text().splitlines()) == 2  # resumed: nothing new
    assert table[0]["seeds"] == 2
    assert {row["data_fingerprint"] for row in rows} == {load_data(imdb_archive).fingerprint}


def test_a_resumed_sweep_never_mixes_datasets(
    imdb_archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.imdb_fixture import make_imdb_folder

    grid = tmp_path / "grid.toml"
    grid.write_text(
        "seeds = [0]\n[defaults]\nepochs = 1\nbatch_size = 16\nvalidation_size = 20\nearly_stopping = false\n"
        'vectorizer = { max_features = 60 }\n[[runs]]\nname = "one"\nhidden = [4]\n'
    )
    other = make_imdb_folder(tmp_path / "other")
    review = next(other.rglob("train/pos/*.txt"))
    review.write_text(review.read_text() + " changed")  # another dataset: its fingerprint differs
    out = tmp_path / "sweep"
    run_sweep(load_plan(grid), out, data=imdb_archive, validation_only=True)
    table = run_sweep(load_plan(grid), out, data=other, validation_only=True)
    assert table[0]["seeds"] == 1  # its own row only, trained again
    assert len((out / "results.jsonl").read_text().splitlines()) == 2
    err = capsys.readouterr().err
    assert "1 result(s) in" in err and "came from another dataset" in err


def test_naive_bayes_ratios_point_the_right_way() -> None:
    from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig
    from imdb_edge.train.vocabulary import nb_ratios

    texts = ["great fun", "great film", "awful film", "awful mess"]
    vectorizer = Vectorizer.fit(texts, VectorizerConfig(max_features=10))
    ratios = dict(
        zip(vectorizer.vocabulary, nb_ratios(vectorizer, texts, np.array([1, 1, 0, 0]), alpha=1.0), strict=True)
    )
    assert ratios["great"] > 0 > ratios["awful"]
    assert ratios["film"] == pytest.approx(0.0, abs=1e-6)


def test_bag_model_equals_dense_model_on_the_same_weights() -> None:
    """ScaledBag on ids computes what Dense computes on the (scaled) multi-hot vector."""
    import keras

    from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig

    vectorizer = Vectorizer.fit(["a b c d e", "c d e f g"], VectorizerConfig(max_features=7))
    weights = np.linspace(0.5, 2.0, vectorizer.size).astype(np.float32)
    keras.utils.set_random_seed(0)
    bag = build_model(TrainConfig(architecture="bag", hidden=(3,)), vectorizer.size, weights)
    texts = ["a b", "g f e", "", "a a a c"]
    kernel = bag.layers[0].folded_kernel()
    bias = np.asarray(bag.layers[0].get_weights()[1])
    expected_hidden = np.maximum(vectorizer.multi_hot(texts) @ kernel + bias, 0)
    hidden = np.asarray(bag.layers[0](vectorizer.padded_ids(texts).astype(np.int32)))
    np.testing.assert_allclose(hidden, expected_hidden, atol=1e-5)
