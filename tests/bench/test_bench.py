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
    assert {(r["text"], r["mode"], r["batch"]) for r in rows} == {
        (text, mode, batch) for text in ("full", "first-sentence") for mode in ("e2e", "model") for batch in (1, 4)
    }
    for row in rows:
        assert row["runs"] >= 3 and len(row["samples_ms"]) == row["runs"]
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
        assert row["reviews_per_s"] > 0
    load = report["load"][0]
    assert load["load_ms_mean"] > 0 and load["first_inference_ms"] > 0 and len(load["load_ms_samples"]) == 5
    assert len(load["session_ms_samples"]) == 5 and load["session_ms_mean"] > 0
    assert load["load_vs_session"] == load["load_ms_mean"] / load["session_ms_mean"]
    assert report["vectorizer"] == implementation()
    single = {(r["text"], r["mode"]): r for r in rows if r["batch"] == 1}
    full, first = single["full", "e2e"], single["first-sentence", "e2e"]
    pool = report["settings"]["review_pool"]
    assert full["text_chars"] == round(pool["mean_chars"], 1) and 0 < first["text_chars"] < full["text_chars"]
    assert report["ratios"] == [
        f"{_shipped().name}, {kind} ({row['text_chars']:,.0f} characters): one text end to end p50 "
        f"{1000 * row['p50_ms']:.1f} µs (mean CPU {1000 * row['cpu_ms_per_call']:.1f} µs), "
        f"{row['p50_ms'] / single[text, 'model']['p50_ms']:.2f}x its model-only p50 "
        f"({1000 * single[text, 'model']['p50_ms']:.1f} µs)"
        for kind, text, row in (("full reviews", "full", full), ("first sentences", "first-sentence", first))
    ]
    e2e_cpu = full["cpu_ms_per_call"]
    assert report["settings"]["reviews"] == len(sample_reviews()) == 256
    assert report["settings"]["review_source"] == "shipped sample"
    assert e2e_cpu > 0
    assert report["headline"] == (
        f"one text, raw text to score, {_shipped().name} (int8), 1 thread(s): full reviews (mean "
        f"{full['text_chars']:,.0f} characters): p50 {1000 * full['p50_ms']:.1f} µs wall, mean CPU "
        f"{1000 * e2e_cpu:.1f} µs a call, {full['runs']:,} runs; first sentences (mean {first['text_chars']:,.0f} "
        f"characters): p50 {1000 * first['p50_ms']:.1f} µs wall, mean CPU {1000 * first['cpu_ms_per_call']:.1f} µs "
        f"a call, {first['runs']:,} runs; the 256 shipped sample reviews (real "
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
    assert "| model | precision | input | text | mode | threads | batch | p50 ms |" in result.stdout
    assert "reviews: the 256 shipped sample reviews (real test reviews): mean " in result.stdout
    assert result.stdout.count("| tiny.onnx |") == 9  # four cases for each of two kinds of text, one load row
    assert "fastest for one text (full reviews) on this device:" in result.stdout
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


def test_bench_times_first_sentences_alone_and_refuses_other_texts(no_data: dict[str, str]) -> None:
    """--text: first sentences only (what users type), named in every row, ratio and headline; a typo is one line."""
    result = run_cli("bench", *SMALL, "--text", "first-sentence", "--json", env=no_data)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {r["text"] for r in report["results"]} == {"first-sentence"}
    assert report["settings"]["texts"] == ["first-sentence"]
    assert "first sentences (mean " in report["headline"] and "full reviews" not in report["headline"]
    assert all("first sentences" in line for line in report["ratios"])
    twice = json.loads(
        run_cli("bench", *SMALL, "--text", "full,full", "--mode", "e2e,e2e", "--json", env=no_data).stdout
    )
    assert twice["settings"]["texts"] == ["full"] and twice["settings"]["modes"] == ["e2e"]
    assert len(twice["results"]) == 2  # batch 1 and 4, once each
    wrong = run_cli("bench", *SMALL, "--text", "sentences", env=no_data)
    assert wrong.exit_code == 2 and "--text takes full and/or first-sentence, got 'sentences'" in wrong.output
