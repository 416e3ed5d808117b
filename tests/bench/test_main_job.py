"""The main job's closing summary (scripts/pipeline.sh's last step), on a fixture output folder: a run folder,
an exported file and a real bench report timed on the fixture's test reviews."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from imdb_edge.bench.main_job import main
from tests.helpers import ROOT, run_cli
from tests.model_factory import build_model_bytes

METRICS = {
    "metrics": {"test_accuracy": 0.9237, "test_rows": 80, "train_rows": 80, "validation_rows": 0, "used_epoch": 6},
    "config": {
        "architecture": "bag",
        "hidden": [],
        "vectorizer": {"max_features": 200_000, "ngram_max": 4, "weighting": "nb"},
    },
}


@pytest.fixture
def job_folder(tmp_path: Path, imdb_archive: Path) -> Path:
    folder = tmp_path / "pipeline"
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "metrics.json").write_text(json.dumps(METRICS))
    (folder / "model.int8.onnx").write_bytes(build_model_bytes())
    env = {"IMDB_EDGE_DATA": str(imdb_archive)}
    args = ["-m", str(folder / "model.int8.onnx"), "--threads", "1", "--batch", "1", "--min-seconds", "0"]
    result = run_cli("bench", *args, "--min-runs", "5", "-o", str(folder / "bench.json"), env=env)
    assert result.exit_code == 0, result.output
    return folder


def test_summary_says_what_was_trained_its_accuracy_where_files_went_the_headline_and_what_next(
    job_folder: Path, imdb_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(job_folder), "--data", str(imdb_archive)]) == 0
    printed = capsys.readouterr().out
    assert printed == (job_folder / "summary.txt").read_text()
    model = job_folder / "model.int8.onnx"
    report = json.loads((job_folder / "bench.json").read_text())
    assert f"everything is in {job_folder}/" in printed
    assert (
        f"  {job_folder / 'train'}/  NB-scaled logistic regression on 200,000 word 1-4-grams, 6 epoch(s) on 80 "
        "training reviews: test accuracy 92.37% on 80 test reviews (Keras)"
    ) in printed
    assert re.search(rf"  {re.escape(str(model))}  \d+ KB, fp32 token_ids: test accuracy 100\.00%", printed)
    assert f"bench report (machine, settings, every raw sample): {job_folder / 'bench.json'} (" in printed
    assert f"  headline: {report['headline']}" in printed
    assert f"all 80 test reviews of {imdb_archive}: mean " in report["headline"]
    assert "one text, raw text to score, model.int8.onnx" in report["headline"]
    assert "full reviews (mean " in report["headline"] and "first sentences (mean " in report["headline"]
    assert f"this summary: {job_folder / 'summary.txt'}" in printed
    assert "next: classify your own reviews" in printed and f".venv/bin/imdb-edge classify -m {model} " in printed


def test_summary_refuses_a_bench_that_timed_other_reviews_than_the_data(
    job_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.tar.gz"
    assert main([str(job_folder), "--data", str(other)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: the main job's summary: the bench timed reviews of ") and str(other) in error
    assert not (job_folder / "summary.txt").exists()


def test_summary_names_a_missing_bench_report(job_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (job_folder / "bench.json").unlink()
    assert main([str(job_folder)]) == 1
    assert capsys.readouterr().err == (
        f"error: the main job's summary: no bench report at {job_folder / 'bench.json'}: the job's bench step did "
        "not finish\n"
    )


def test_pipeline_script_passes_one_data_path_to_training_the_bench_and_the_summary() -> None:
    script = (ROOT / "scripts" / "pipeline.sh").read_text()
    bench = re.search(r'"\$IMDB_EDGE" bench .*?(?<!\\)\n', script, re.S)
    assert bench and '--data "$DATA"' in bench.group(0) and '--output "$OUT/bench.json"' in bench.group(0)
    assert script.count("train --") == 2 and script.count('--data "$DATA" --output "$OUT/train') == 2
    assert script.rstrip().endswith('python -m imdb_edge.bench.main_job "$OUT" --data "$DATA"')
