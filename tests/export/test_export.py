"""Export round trips on a small trained model: parity, int8, forms, failures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.export.errors import AccuracyDropError, ParityError, RunFolderError

pytest.importorskip("tensorflow")


from imdb_edge.data.dataset import load_dataset
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.export import pipeline
from imdb_edge.export.graphs import DenseLayer, token_ids_graph
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.modelfile.reader import read_model_file
from imdb_edge.train.config import TrainConfig
from imdb_edge.train.run import train_to_folder
from tests.helpers import ROOT, run_cli

pytestmark = pytest.mark.slow  # trains or exports Keras models


@pytest.fixture(scope="module")
def small_run(imdb_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TrainConfig(hidden=(8,), epochs=4, batch_size=16, validation_size=20)
    out = tmp_path_factory.mktemp("export") / "run"
    train_to_folder(config, out, data=imdb_archive, report=None)
    return out


@pytest.mark.parametrize("form", ["token_ids", "dense"])
def test_export_fp32_passes_parity_and_loads_alone(
    small_run: Path, imdb_archive: Path, tmp_path: Path, form: str
) -> None:
    out = tmp_path / "model.onnx"
    report = pipeline.export_run(small_run, out, input_form=form, data=imdb_archive)
    parity = report["export"]["parity_fp32"]
    assert parity["passed"] and parity["max_abs_diff"] <= 1e-5 and parity["label_mismatches"] == 0
    assert parity["rows"] == 80
    # Only the .onnx file, in an empty folder, is enough to classify raw text.
    alone = tmp_path / "empty" / "model.onnx"
    alone.parent.mkdir()
    shutil.copy(out, alone)
    classifier = Classifier.load(alone)
    assert classifier.input_form == form
    dataset = load_dataset(imdb_archive)
    predictions = classifier.predict_batch(dataset.test.texts)
    accuracy = np.mean(
        [(p.label == "positive") == bool(y) for p, y in zip(predictions, dataset.test.labels, strict=True)]
    )
    assert accuracy == pytest.approx(report["export"]["test_accuracy_fp32"])
    metadata = read_model_file(alone)
    assert metadata.training["config"]["hidden"] == [8]
    assert metadata.export["parity_fp32"]["passed"] is True


def test_int8_export_reports_accuracy_and_size(small_run: Path, imdb_archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.int8.onnx"
    result = run_cli("export", str(small_run), "--out", str(out), "--quantize", "int8", "--data", str(imdb_archive))
    assert result.exit_code == 0, result.output
    assert "PASS  int8" in result.output and "wrote" in result.output
    model_file = read_model_file(out)
    assert model_file.model["precision"] == "int8"
    int8 = model_file.export["int8"]
    # the size of the int8 candidate as validated; the written file adds only its final report
    assert int8["drop_points"] <= 0.5 and int8["passed"] and abs(int8["size_bytes"] - out.stat().st_size) < 1024
    ops = {node.op_type for node in __import__("onnx").load_model(out).graph.node}
    assert "DequantizeLinear" in ops or "DynamicQuantizeLinear" in ops


def test_tampered_graph_fails_parity_and_writes_nothing(
    small_run: Path, imdb_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def tampered(layers: list[DenseLayer]):  # type: ignore[no-untyped-def]
        first = layers[0]
        bent = DenseLayer(first.kernel * 1.01, first.bias, first.activation)
        return token_ids_graph([bent, *layers[1:]])

    monkeypatch.setattr(pipeline, "token_ids_graph", tampered)
    out = tmp_path / "bad.onnx"
    with pytest.raises(ParityError, match="parity check failed"):
        pipeline.export_run(small_run, out, data=imdb_archive)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_int8_accuracy_limit_is_enforced(
    small_run: Path, imdb_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "MAX_INT8_DROP_POINTS", -100.0)
    out = tmp_path / "q.onnx"
    with pytest.raises(AccuracyDropError, match="int8 loses"):
        pipeline.export_run(small_run, out, quantize="int8", data=imdb_archive)
    assert not out.exists()
    report = pipeline.export_run(small_run, out, quantize="int8", data=imdb_archive, force=True)
    assert out.exists() and report["model"]["precision"] == "int8"


def test_export_of_a_non_run_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="not a finished imdb-edge run folder"):
        pipeline.load_run(tmp_path)
    result = run_cli("export", str(tmp_path), "--out", str(tmp_path / "m.onnx"))
    assert result.exit_code == 2 and "not a finished imdb-edge run folder" in result.output


@pytest.mark.parametrize("form", ["token_ids", "dense"])
def test_int8_score_does_not_depend_on_the_batch(
    small_run: Path, imdb_archive: Path, tmp_path: Path, form: str
) -> None:
    out = tmp_path / "q.onnx"
    pipeline.export_run(small_run, out, input_form=form, quantize="int8", data=imdb_archive, force=True)
    classifier = Classifier.load(out)
    texts = load_dataset(imdb_archive).test.texts[:40]
    together = classifier.scores(texts)
    alone = np.array([classifier.scores([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6)


@pytest.mark.parametrize(
    ("settings", "forms"),
    [
        (
            {"architecture": "bag", "hidden": [8], "vectorizer": {"ngram_max": 2, "weighting": "nb"}},
            ["token_ids", "text"],
        ),
        ({"architecture": "bag", "hidden": [], "vectorizer": {"ngram_max": 3, "weighting": "nb"}}, ["token_ids"]),
        (
            {"architecture": "bag", "hidden": [], "vectorizer": {"ngram_max": 3, "hash_buckets": 8192}},
            ["token_ids"],
        ),
        (
            {
                "architecture": "bag",
                "hidden": [4],
                "wide": True,
                "bag_dropout": 0.3,
                "dropout": 0.2,
                "vectorizer": {"ngram_max": 2, "weighting": "nb"},
            },
            ["token_ids", "text"],
        ),
        ({"architecture": "dense", "hidden": [8], "vectorizer": {"weighting": "nb"}}, ["token_ids", "dense"]),
    ],
)
def test_bag_and_naive_bayes_models_export_with_parity(
    imdb_archive: Path, tmp_path: Path, settings: dict, forms: list[str]
) -> None:
    from imdb_edge.train.config import config_from_dict

    config = config_from_dict({**settings, "epochs": 3, "batch_size": 16, "validation_size": 20})
    run = tmp_path / "run"
    train_to_folder(config, run, data=imdb_archive, report=None)
    for form in forms:
        report = pipeline.export_run(
            run, tmp_path / f"{form}.onnx", input_form=form, quantize="int8", data=imdb_archive
        )
        assert report["export"]["parity_fp32"]["passed"], report["export"]["parity_fp32"]
        stored = read_model_file(tmp_path / f"{form}.onnx").vectorizer
        assert (stored.feature_weights is not None) == (form == "dense")  # folded into the table otherwise


def test_bag_model_refuses_the_dense_form(imdb_archive: Path, tmp_path: Path) -> None:
    config = TrainConfig(architecture="bag", hidden=(4,), epochs=1, batch_size=16, validation_size=20)
    train_to_folder(config, tmp_path / "run", data=imdb_archive, report=None)
    with pytest.raises(ImdbEdgeError, match="no dense-input form"):
        pipeline.export_run(tmp_path / "run", tmp_path / "x.onnx", input_form="dense", data=imdb_archive)


def test_export_never_writes_over_a_file_it_reads(small_run: Path, imdb_archive: Path, tmp_path: Path) -> None:
    """--output RUN/model.keras replaced the trained model with the .onnx file."""
    for target in (small_run / "model.keras", small_run / "vectorizer.json", imdb_archive):
        before = target.read_bytes()
        with pytest.raises(ImdbEdgeError, match="which the export reads"):
            pipeline.export_run(small_run, target, data=imdb_archive)
        assert target.read_bytes() == before
    link = tmp_path / "link.keras"
    link.symlink_to(small_run / "model.keras")
    with pytest.raises(ImdbEdgeError, match="which the export reads"):
        pipeline.export_run(small_run, link, data=imdb_archive)


def test_export_refuses_an_existing_file_unless_told(small_run: Path, imdb_archive: Path, tmp_path: Path) -> None:
    """Like train: an existing --output is kept (untouched, before TensorFlow loads) unless --overwrite,
    and then replaced only by a file that passed its checks."""
    out = tmp_path / "model.onnx"
    out.write_bytes(b"someone's model")
    args = [sys.executable, "-m", "imdb_edge", "export", str(small_run), "-o", str(out), "--data", str(imdb_archive)]
    tripwire = tmp_path / "tripwire"  # a TensorFlow that fails loudly if the refusal came after loading it
    (tripwire / "tensorflow").mkdir(parents=True)
    (tripwire / "tensorflow" / "__init__.py").write_text("raise SystemExit('tensorflow was imported')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tripwire), str(ROOT)])}
    refused = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == f"error: {out} exists: pass --overwrite to replace it, or choose another --output\n"
    assert out.read_bytes() == b"someone's model"
    folder = run_cli("export", str(small_run), "-o", str(tmp_path), "--data", str(imdb_archive))
    assert folder.exit_code == 2 and "is a folder" in folder.stderr
    replaced = run_cli("export", str(small_run), "-o", str(out), "--overwrite", "--data", str(imdb_archive))
    assert replaced.exit_code == 0, replaced.output
    assert Classifier.load(out).input_form == "token_ids"
