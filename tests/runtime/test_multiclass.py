"""Models of more than two labels: a softmax over K labels, through every output path of the runtime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imdb_edge import Classifier, ImdbEdgeError
from imdb_edge.runtime.modelfile.reader import parse_model_bytes
from tests.helpers import run_cli
from tests.model_factory import THREE_LABELS, build_model_bytes

GOOD, BAD, PLAIN = "wonderful excellent superb", "boring awful waste", "the movie was this"


@pytest.fixture(scope="module")
def three_labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("three") / "three.onnx"
    path.write_bytes(build_model_bytes(labels=THREE_LABELS))
    return path


def test_the_api_gives_the_likeliest_label_and_every_probability(three_labels: Path) -> None:
    classifier = Classifier.load(three_labels)
    assert classifier.labels == THREE_LABELS and classifier.classes == 3 and classifier.threshold is None
    predictions = classifier.predict_batch([GOOD, BAD, PLAIN])
    assert [p.label for p in predictions] == ["positive", "negative", "neutral"]
    for prediction in predictions:
        assert set(prediction.scores) == set(THREE_LABELS)
        assert abs(sum(prediction.scores.values()) - 1.0) < 1e-5
        assert prediction.score == max(prediction.scores.values()) == prediction.scores[prediction.label]
    scores = classifier.scores([GOOD, BAD] * 100)  # grouped runs too
    assert scores.shape == (200, 3) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.predict(GOOD).to_dict()["scores"]["positive"] == predictions[0].scores["positive"]


def test_a_threshold_is_refused_for_more_than_two_labels(three_labels: Path) -> None:
    with pytest.raises(ImdbEdgeError, match="a threshold applies to a model of two labels"):
        Classifier.load(three_labels, threshold=0.6)
    result = run_cli("classify", "-m", str(three_labels), "--threshold", "0.6", GOOD)
    assert result.exit_code == 2 and "a threshold applies to a model of two labels" in result.stderr


def test_the_cli_prints_labels_and_every_probability(three_labels: Path, tmp_path: Path) -> None:
    plain = run_cli("classify", "-m", str(three_labels), GOOD, BAD, PLAIN)
    assert [line.split("\t")[0] for line in plain.stdout.splitlines()] == ["positive", "negative", "neutral"]
    source = tmp_path / "reviews.txt"
    source.write_text("\n".join([GOOD, BAD, PLAIN, ""] * 800) + "\n")  # several chunks: the workers too
    result = run_cli("classify", "-m", str(three_labels), "-f", str(source), "--json", "--workers", "2")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and len(rows) == 3200
    assert [r.get("label", "error") for r in rows[:4]] == ["positive", "negative", "neutral", "error"]
    assert set(rows[0]["scores"]) == set(THREE_LABELS) and rows[0]["score"] == rows[0]["scores"]["positive"]


def test_two_label_files_keep_their_score_and_gain_scores(shipped: Classifier) -> None:
    """Files exported before more labels existed load unchanged: score is still P(positive)."""
    prediction = shipped.predict("This movie was a waste of time")
    assert prediction.label == "negative" and prediction.scores["positive"] == prediction.score
    assert abs(prediction.scores["negative"] - (1 - prediction.score)) < 1e-9
    row = json.loads(run_cli("classify", "--json", "This movie was a waste of time").stdout)
    assert set(row["scores"]) == {"negative", "positive"}


def test_info_and_bench_handle_three_labels(three_labels: Path) -> None:
    info = run_cli("info", str(three_labels))
    assert "labels negative, neutral, positive, the likeliest wins" in info.stdout
    document = json.loads(run_cli("info", str(three_labels), "--json").stdout)
    assert document["labels"] == list(THREE_LABELS) and document["threshold"] is None
    bench = run_cli(
        "bench", "-m", str(three_labels), "--batch", "1,8", "--threads", "1", "--min-runs", "2", "--min-seconds", "0"
    )
    assert bench.exit_code == 0, bench.output


@pytest.mark.parametrize(
    ("labels", "threshold", "message"),
    [
        (["a"], 0.5, "2 to 1000 labels"),
        (["a", "b", "a"], None, "different"),
        (["a", "b", "c"], 0.5, "has no decision threshold"),
        (["a", "b\tc", "d"], None, "printable"),
    ],
)
def test_bad_label_lists_are_refused(labels: list, threshold: float | None, message: str) -> None:
    from tests.model_factory import restamp

    data = build_model_bytes(labels=THREE_LABELS)
    entry = json.loads(parse_model_bytes(data).metadata["imdb_edge.model"])
    forged = restamp(data, {"imdb_edge.model": json.dumps({**entry, "labels": labels, "threshold": threshold})})
    with pytest.raises(ImdbEdgeError, match=message):
        parse_model_bytes(forged)
