"""End-to-end on the real 50,000 reviews (runs when IMDB_EDGE_DATA points at them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")


from tests.helpers import run_cli

pytestmark = [pytest.mark.fulldata, pytest.mark.slow]


@pytest.fixture(scope="module")
def reference_run(full_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference model: one hidden layer of 16 units, 4 epochs, seed 0."""
    data = full_data
    out = tmp_path_factory.mktemp("full") / "ref16"
    result = run_cli("train", "--data", str(data), "--hidden", "16", "--epochs", "4", "--seed", "0", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_reference_model_reaches_88_percent(reference_run: Path) -> None:
    document = json.loads((reference_run / "metrics.json").read_text())
    metrics = document["metrics"]
    assert metrics["test_rows"] == 25_000 and metrics["train_rows"] == 15_000
    assert metrics["test_accuracy"] >= 0.88, metrics
    assert document["data"]["skipped_files"] == 0


def test_reference_export_meets_the_issue_targets(reference_run: Path, full_data: Path, tmp_path: Path) -> None:
    from imdb_edge.export.pipeline import export_run
    from imdb_edge.runtime.modelfile.reader import read_model_file

    fp32 = export_run(reference_run, tmp_path / "ref.onnx", data=full_data)
    int8 = export_run(reference_run, tmp_path / "ref.int8.onnx", quantize="int8", data=full_data)
    parity = fp32["export"]["parity_fp32"]
    assert parity["passed"] and parity["rows"] == 25_000 and parity["max_abs_diff"] <= 1e-5
    assert abs(int8["export"]["int8"]["drop_points"]) <= 0.5
    assert (tmp_path / "ref.int8.onnx").stat().st_size < 400 * 1024
    assert read_model_file(tmp_path / "ref.int8.onnx").model["precision"] == "int8"


def test_shipped_model_on_the_full_test_set(full_data: Path) -> None:
    import numpy as np

    from imdb_edge import Classifier
    from imdb_edge.data.dataset import load_dataset

    test = load_dataset(full_data).test
    predictions = Classifier.load().predict_batch(test.texts)
    accuracy = np.mean([(p.label == "positive") == bool(y) for p, y in zip(predictions, test.labels, strict=True)])
    assert accuracy >= 0.87


@pytest.mark.parametrize("form", ["text", "text_fast"])
def test_text_input_model_in_plain_onnxruntime_matches_the_python_runtime(
    reference_run: Path, full_data: Path, tmp_path: Path, form: str
) -> None:
    """Issue 8 (and 26: text_fast): raw strings into plain onnxruntime, identical labels on all 25,000 test
    reviews."""
    import numpy as np
    import onnxruntime as ort

    from imdb_edge import Classifier
    from imdb_edge.data.dataset import load_dataset
    from imdb_edge.export.pipeline import export_run

    text_model, token_model = tmp_path / "text.int8.onnx", tmp_path / "ids.int8.onnx"
    report = export_run(reference_run, text_model, input_form=form, quantize="int8", data=full_data)
    export_run(reference_run, token_model, input_form="token_ids", quantize="int8", data=full_data)
    assert report["export"]["parity_fp32"]["passed"]
    texts = load_dataset(full_data).test.texts
    session = ort.InferenceSession(str(text_model))  # no imdb-edge code on this path
    labels = np.concatenate(
        [
            session.run(["label"], {"texts": np.array(texts[i : i + 1000], dtype=object)})[0]
            for i in range(0, len(texts), 1000)
        ]
    )
    python_labels = [p.label for p in Classifier.load(token_model).predict_batch(texts)]
    assert len(labels) == 25_000
    assert [str(x) for x in labels] == python_labels


def test_the_shipped_models_text_fast_form_scores_every_review_like_the_python_runtime(
    full_data: Path, tmp_path: Path
) -> None:
    """Issue 26: the shipped model rewrapped as text_fast, in plain onnxruntime (batches of 1,000 and one review
    at a time): the Python runtime's labels on all 25,000 test reviews and its scores within 1e-6."""
    import numpy as np
    import onnxruntime as ort

    from imdb_edge import Classifier
    from imdb_edge.data.dataset import load_dataset

    fast = tmp_path / "imdb.fast.onnx"
    result = run_cli("export", "--input", "text_fast", "--output", str(fast))
    assert result.exit_code == 0, result.output
    texts = load_dataset(full_data).test.texts
    session = ort.InferenceSession(str(fast))
    batches = [
        session.run(None, {"texts": np.array(texts[i : i + 1000], dtype=object)}) for i in range(0, 25_000, 1000)
    ]
    scores = np.concatenate([score.ravel() for score, _ in batches])
    labels = [str(label) for _, batch in batches for label in batch]
    runtime = Classifier.load()
    python = runtime.scores(texts)
    assert labels == [runtime.label_of(float(s)) for s in python]
    assert np.abs(scores - python).max() <= 1e-6
    alone = [session.run(["score"], {"texts": np.array([text], dtype=object)})[0][0, 0] for text in texts[:2000]]
    assert np.abs(np.array(alone) - python[:2000]).max() <= 1e-6
