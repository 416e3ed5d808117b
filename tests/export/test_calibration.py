"""Calibration measured at export (and a temperature where it helps), and explanations of exported models of
the reference family (dense, hidden layers) and of a linear bag with a temperature."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from imdb_edge import Classifier
from imdb_edge.data.dataset import load_dataset
from imdb_edge.export import pipeline
from imdb_edge.export.calibration import apply_temperature, fit_temperature, logits_of, scaled
from imdb_edge.train.config import TrainConfig, config_from_dict
from imdb_edge.train.run import train_to_folder
from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def test_temperature_scaling_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1, 4000)
    truth = (rng.random(4000) < 1 / (1 + np.exp(-logits))).astype(np.int64)  # calibrated at T = 1
    overconfident = scaled(logits, 1 / 3)  # the same model, its logits tripled
    assert fit_temperature(overconfident, truth) == pytest.approx(3.0, rel=0.1)
    np.testing.assert_allclose(scaled(logits_of(overconfident), 3.0), scaled(logits, 1.0), atol=1e-6)


@pytest.fixture(scope="module")
def runs(imdb_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A reference-family run (dense, a hidden layer, held-out validation) and a linear bag run."""
    root = tmp_path_factory.mktemp("calibration")
    made = {}
    configs = {
        "dense": TrainConfig(hidden=(8,), epochs=6, batch_size=16, validation_size=20),
        "bag": config_from_dict(
            {"architecture": "bag", "hidden": [], "epochs": 8, "batch_size": 16, "validation_size": 20,
             "optimizer": "adam", "learning_rate": 0.01, "vectorizer": {"weighting": "nb"}}
        ),
    }  # fmt: skip
    for name, config in configs.items():
        train_to_folder(config, root / name, data=imdb_archive, report=None)
        made[name] = root / name
    return made


def test_export_records_calibration_and_keeps_every_label(
    runs: dict[str, Path], imdb_archive: Path, tmp_path: Path
) -> None:
    for name, run in runs.items():
        out = tmp_path / f"{name}.onnx"
        report = pipeline.export_run(
            run, out, input_form="dense" if name == "dense" else "token_ids", data=imdb_archive
        )
        calibration = report["export"]["calibration"]
        assert calibration["fitted_on_rows"] == 20 and {"ece", "log_loss"} <= set(calibration["test"])
        if calibration["applied"]:
            assert calibration["labels_changed"] == 0
            assert calibration["test"]["ece"] < calibration["test_before"]["ece"]
        info = run_cli("info", str(out)).stdout
        assert "calibration     test ECE" in info
        texts = load_dataset(imdb_archive).test.texts
        assert report["export"]["test_accuracy"] == pytest.approx(
            np.mean(
                [
                    p.label == ("positive" if i >= 40 else "negative")
                    for i, p in enumerate(Classifier.load(out).predict_batch(texts))
                ]
            )
        )


def test_explanations_of_a_dense_reference_model_and_a_tempered_linear_one(
    runs: dict[str, Path], imdb_archive: Path, tmp_path: Path
) -> None:
    dense = tmp_path / "dense.onnx"
    pipeline.export_run(runs["dense"], dense, input_form="dense", data=imdb_archive)
    classifier = Classifier.load(dense)
    explanation = classifier.explain("A wonderful, brilliant and moving film", k=2)
    assert explanation.method == "leave-one-out" and explanation.terms
    row = json.loads(run_cli("classify", "-m", str(dense), "--explain", "--json", "A wonderful film").stdout)
    assert row["explanation"] and row["known_terms"] >= 1

    linear = tmp_path / "bag.onnx"
    pipeline.export_run(runs["bag"], linear, data=imdb_archive)
    tempered = tmp_path / "tempered.onnx"
    import onnx

    from tests.model_factory import restamp

    proto = onnx.load(linear)
    paths = [linear]
    if not any(node.name == "temperature" for node in proto.graph.node):  # export chose none: add one
        tempered.write_bytes(restamp(linear.read_bytes(), {}, graph=apply_temperature(proto, 2.0).graph))
        paths.append(tempered)
    for path in paths:
        explanation = Classifier.load(path).explain("A wonderful brilliant film, awful plot", k=1000)
        assert explanation.method == "exact"
        towards = sum(p.contribution for p in explanation.terms if p.label == "positive")
        away = sum(p.contribution for p in explanation.terms if p.label == "negative")
        assert explanation.bias + towards - away == pytest.approx(explanation.logit, abs=1e-4)
        assert 1 / (1 + math.exp(-explanation.logit)) == pytest.approx(explanation.prediction.score, abs=1e-5)
