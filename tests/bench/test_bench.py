"""`imdb-edge bench`: a small run of the table, the JSON report and the plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imdb_edge.data.reviews import sample_reviews
from imdb_edge.runtime.vectorizer import implementation
from tests.helpers import run_cli
from tests.model_factory import build_model_bytes

SMALL = ["--batch", "1,4", "--threads", "1", "--min-runs", "3", "--min-seconds", "0"]


@pytest.fixture
def no_data(tmp_path: Path) -> dict[str, str]:
    """An environment with no dataset anywhere (no $IMDB_EDGE_DATA, an empty cache): bench uses the sample."""
    return {"IMDB_EDGE_DATA": "", "IMDB_EDGE_CACHE": str(tmp_path / "empty-cache")}


def test_bench_json_report(tmp_path: Path, no_data: dict[str, str]) -> None:
    result = run_cli("bench", *SMALL, "--json", env=no_data)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"cpu", "architecture", "cores", "memory_bytes", "os", "python", "numpy", "onnxruntime", "providers"} <= set(
        report["machine"]
    )
    rows = report["results"]
    assert {(r["mode"], r["batch"]) for r in rows} == {("e2e", 1), ("e2e", 4), ("model", 1), ("model", 4)}
    for row in rows:
        assert row["runs"] >= 3 and len(row["samples_ms"]) == row["runs"]
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
        assert row["reviews_per_s"] > 0
    load = report["load"][0]
    assert load["load_ms_mean"] > 0 and load["first_inference_ms"] > 0 and len(load["load_ms_samples"]) == 5
    assert len(load["session_ms_samples"]) == 5 and load["session_ms_mean"] > 0
    assert load["load_vs_session"] == load["load_ms_mean"] / load["session_ms_mean"]
    assert report["vectorizer"] == implementation()
    e2e, only = (next(r["p50_ms"] for r in rows if r["mode"] == m and r["batch"] == 1) for m in ("e2e", "model"))
    e2e_cpu, e2e_runs = next((r["cpu_ms_per_call"], r["runs"]) for r in rows if r["mode"] == "e2e" and r["batch"] == 1)
    assert report["ratios"] == [
        f"{_shipped().name}: one review end to end p50 {1000 * e2e:.1f} µs (mean CPU {1000 * e2e_cpu:.1f} µs), "
        f"{e2e / only:.2f}x its model-only p50 ({1000 * only:.1f} µs)"
    ]
    assert report["settings"]["reviews"] == len(sample_reviews()) == 256
    assert report["settings"]["review_source"] == "shipped sample"
    assert e2e_cpu > 0
    assert report["headline"] == (
        f"one review, raw text to score, {_shipped().name} (int8), 1 thread(s): p50 {1000 * e2e:.1f} µs wall, "
        f"mean CPU {1000 * e2e_cpu:.1f} µs a call, {e2e_runs:,} runs; the 256 shipped sample reviews (real "
        f"test reviews): mean {report['settings']['review_pool']['mean_chars']:,.0f} characters, median "
        f"{report['settings']['review_pool']['median_chars']:,.0f}, "
        f"{report['settings']['review_pool']['min_chars']:,}-{report['settings']['review_pool']['max_chars']:,}; "
        f"{report['machine']['cpu']} ({report['machine']['architecture']}, {report['machine']['cores']} cores)"
    )


def test_bench_table_plot_and_recommendation(tmp_path: Path, no_data: dict[str, str]) -> None:
    other = tmp_path / "tiny.onnx"
    other.write_bytes(build_model_bytes())
    plot = tmp_path / "latency.png"
    result = run_cli("bench", "-m", str(other), "-m", str(_shipped()), *SMALL, "--plot", str(plot), env=no_data)
    assert result.exit_code == 0, result.output
    assert "| model | precision | input | mode | threads | batch | p50 ms |" in result.stdout
    assert "reviews: the 256 shipped sample reviews (real test reviews): mean " in result.stdout
    assert result.stdout.count("| tiny.onnx |") == 5  # four cases and one load row
    assert "fastest for one review on this device:" in result.stdout
    assert f"vectorizer: {implementation()}" in result.stdout
    assert "x tiny.onnx" in result.stdout  # the second model's end to end time relative to the first
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_rejects_bad_lists() -> None:
    result = run_cli("bench", "--batch", "1,x")
    assert result.exit_code == 2 and "--batch must be comma-separated whole numbers" in result.stderr
    result = run_cli("bench", "--mode", "fast")
    assert result.exit_code == 2 and "--mode" in result.stderr


def _shipped() -> Path:
    from imdb_edge.runtime.classifier import default_model_path

    return default_model_path()


def test_info_names_the_vectorizer_implementation() -> None:
    result = run_cli("info", str(_shipped()), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["vectorizer"] == implementation()
