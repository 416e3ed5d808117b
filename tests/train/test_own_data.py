"""A user's own labelled file, two and three labels, through train -> export -> classify -> evaluate."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from imdb_edge import Classifier
from tests.helpers import run_cli
from tests.imdb_fixture import ticket_rows

pytestmark = pytest.mark.slow
SMALL = ["--hidden", "8", "--epochs", "15", "--max-features", "300", "--seed", "0", "--batch-size", "32"]
SMALL += ["--optimizer", "adam"]
SMALL += ["--learning-rate", "0.01"]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket", "topic"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def three_label_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A run on 600 tickets of three labels, its int8 export and its text-input export."""
    root = tmp_path_factory.mktemp("own")
    data = write_csv(root / "tickets.csv", [*ticket_rows(600), ("", "bug"), ("no label", "")])
    run = root / "run"
    result = run_cli(
        "train", "--data", str(data), "--text-column", "ticket", "--label-column", "topic", "-o", str(run), *SMALL
    )
    assert result.exit_code == 0, result.output
    assert "skipped 2 bad row(s)" in result.stderr and "3 labels: billing" in result.stderr
    model, text_model = root / "tickets.int8.onnx", root / "tickets.text.onnx"
    for args in (["--quantize", "int8", "-o", str(model)], ["--input", "text", "-o", str(text_model)]):
        exported = run_cli("export", str(run), *args)
        assert exported.exit_code == 0, exported.output
    return run, model, text_model


def test_the_run_records_its_labels_data_and_bad_rows(three_label_run: tuple[Path, Path, Path]) -> None:
    run, _, _ = three_label_run
    document = json.loads((run / "metrics.json").read_text())
    assert document["labels"] == ["billing", "bug", "praise"]
    data = document["data"]
    assert data["kind"] == "labelled" and data["bad_rows"]["count"] == 2 and len(data["fingerprint"]) == 64
    assert sum(data["label_counts"]["test"].values()) == 120  # 20% of the 600 good rows
    assert document["metrics"]["test_accuracy"] > 0.9


def test_every_output_path_gives_three_labels(three_label_run: tuple[Path, Path, Path]) -> None:
    _, model, text_model = three_label_run
    texts = ["my invoice shows a refund", "the app keeps crashing with an error", "thanks, awesome and helpful"]
    expected = ["billing", "bug", "praise"]
    for path in (model, text_model):
        classifier = Classifier.load(path)
        assert [p.label for p in classifier.predict_batch(texts)] == expected
        assert set(classifier.predict(texts[0]).scores) == set(expected)
        plain = run_cli("classify", "-m", str(path), *texts)
        assert [line.split("\t")[0] for line in plain.stdout.splitlines()] == expected
        rows = [json.loads(line) for line in run_cli("classify", "-m", str(path), "--json", *texts).stdout.splitlines()]
        assert [set(row["scores"]) for row in rows] == [set(expected)] * 3
    import onnxruntime as ort  # the text-input file in plain onnxruntime, as another language would run it

    scores, labels = ort.InferenceSession(str(text_model)).run(None, {"texts": np.array(texts, dtype=object)})
    assert labels.tolist() == expected and scores.shape == (3, 3)
    info = run_cli("info", str(model)).stdout
    assert "labels billing, bug, praise, the likeliest wins" in info


def test_evaluate_scores_the_users_file(three_label_run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, model, _ = three_label_run
    test = write_csv(tmp_path / "more.csv", [*ticket_rows(90, seed=7), ("what", "other")])
    result = run_cli(
        "evaluate",
        "-m",
        str(model),
        "--data",
        str(test),
        "--text-column",
        "ticket",
        "--label-column",
        "topic",
        "--json",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {"accuracy", "per_class", "confusion", "log_loss", "ece"} <= set(document)
    assert document["rows"] == 90 and document["bad_rows"]["count"] == 1
    assert np.array(document["confusion"]).sum() == 90 and document["accuracy"] > 0.9
    assert set(document["per_class"]) == {"billing", "bug", "praise"}
    refused = run_cli("classify", "-m", str(model), "--threshold", "0.7", "x")
    assert refused.exit_code == 2 and "a threshold applies to a model of two labels" in refused.stderr


def test_two_labels_from_a_csv_keep_one_score(tmp_path: Path) -> None:
    rows = ticket_rows(400, labels=("bug", "praise"))
    data = write_csv(tmp_path / "two.csv", rows)
    run = tmp_path / "run"
    assert (
        run_cli(
            "train", "--data", str(data), "--text-column", "ticket", "--label-column", "topic", "-o", str(run), *SMALL
        ).exit_code
        == 0
    )
    model = tmp_path / "two.onnx"
    assert run_cli("export", str(run), "-o", str(model)).exit_code == 0
    classifier = Classifier.load(model)
    assert classifier.labels == ("bug", "praise") and classifier.threshold == 0.5
    prediction = classifier.predict("thanks, awesome and helpful")
    assert prediction.label == "praise" and prediction.score == prediction.scores["praise"]


def test_class_weight_balanced_on_imbalanced_labels(tmp_path: Path) -> None:
    rows = ticket_rows(300, labels=("bug", "bug", "bug", "bug", "bug", "praise"))  # 5 to 1
    data = write_csv(tmp_path / "skewed.csv", rows)
    run = tmp_path / "run"
    result = run_cli(
        "train", "--data", str(data), "--text-column", "ticket", "--label-column", "topic", "-o", str(run),
        "--class-weight", "balanced", *SMALL,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert re.search(r"the labels are imbalanced \(the most common is [45]\.\dx the rarest\)", result.stderr)
    assert json.loads((run / "metrics.json").read_text())["config"]["class_weight"] == "balanced"
