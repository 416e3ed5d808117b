"""Which reviews `bench` times ("one review" is a real test review of the data at hand), and what it prints
when the report goes to a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_edge.bench import latency, reviews
from imdb_edge.bench.reviews import POOL_SIZE, batches, draw_pool, review_pool
from imdb_edge.data.dataset import load_dataset
from imdb_edge.data.reviews import sample_reviews
from tests.helpers import ROOT, run_cli

ONE_CASE = ["--batch", "1", "--threads", "1", "--mode", "e2e", "--min-runs", "3", "--min-seconds", "0"]


def _env(**values: str) -> dict[str, str]:
    return {"IMDB_EDGE_DATA": "", "IMDB_EDGE_CACHE": "/nonexistent-imdb-edge-cache", **values}


def test_bench_times_the_test_reviews_of_imdb_edge_data_when_no_data_option_is_given(imdb_archive: Path) -> None:
    """The main job's bench said "256 reviews from shipped sample" although $IMDB_EDGE_DATA was set."""
    result = run_cli("bench", *ONE_CASE, "--json", env=_env(IMDB_EDGE_DATA=str(imdb_archive)))
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    test_texts = load_dataset(imdb_archive).test.texts
    assert settings["review_source"] == str(imdb_archive)
    assert settings["review_pool"] == draw_pool(test_texts, str(imdb_archive)).describe()
    assert settings["review_pool"]["drawn_from"] == len(test_texts) == 80


def test_bench_data_option_wins_and_reviews_sets_the_pool(imdb_archive: Path, imdb_folder: Path) -> None:
    result = run_cli(
        "bench", *ONE_CASE, "--data", str(imdb_folder), "--reviews", "30", "--json", env=_env(IMDB_EDGE_DATA="x")
    )
    assert result.exit_code == 0, result.output
    pool = json.loads(result.stdout)["settings"]["review_pool"]
    assert (pool["source"], pool["reviews"], pool["drawn_from"]) == (str(imdb_folder), 30, 80)


def test_bench_help_states_the_bench_package_s_own_numbers() -> None:
    """The CLI module keeps its own literals (it may not import the bench package): they must be the package's."""
    import typer

    from imdb_edge.cli import app

    command = typer.main.get_command(app).commands["bench"]  # type: ignore[attr-defined]
    assert next(p.default for p in command.params if p.name == "reviews") == POOL_SIZE
    min_seconds = next(p for p in command.params if p.name == "min_seconds")
    assert f"stops at {latency.MAX_RUNS:,} runs" in min_seconds.help  # type: ignore[attr-defined]


def test_bench_without_any_data_times_the_shipped_sample(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IMDB_EDGE_DATA", raising=False)
    monkeypatch.setenv("IMDB_EDGE_CACHE", str(tmp_path))
    pool = review_pool(None)
    assert pool.source == "shipped sample" and sorted(pool.texts) == sorted(sample_reviews())


def test_a_named_dataset_that_is_missing_is_an_error_not_the_sample(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.tar.gz"
    result = run_cli("bench", *ONE_CASE, env=_env(IMDB_EDGE_DATA=str(missing)))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: IMDB_EDGE_DATA points at {missing}, which does not exist"]
    result = run_cli("bench", *ONE_CASE, "--reviews", "0", env=_env())
    assert result.exit_code == 2 and "--reviews must be a whole number >= 1" in result.stderr


def test_pool_is_a_fixed_random_draw_and_cases_cycle_through_all_of_it() -> None:
    texts = [f"review {i}" for i in range(2000)]
    pool = draw_pool(texts, "here")
    assert len(pool.texts) == POOL_SIZE and pool.texts == draw_pool(texts, "here").texts
    assert pool.texts != texts[:POOL_SIZE]  # drawn at random, not the first ones of the split
    assert batches(pool.texts, 1) == [[t] for t in pool.texts]  # batch 1: every review in turn
    eight = batches(pool.texts, 8)
    assert len(eight) == 63 and [t for b in eight for t in b][:POOL_SIZE] == pool.texts
    assert batches(pool.texts, 512) == [pool.texts + pool.texts[:12]]


def test_peers_times_this_runtime_with_bench_s_own_pool_and_calls() -> None:
    """benchmarks/peers.py and bench mean the same by one review: the same draw and the same timed call."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import peers
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert peers.draw_pool is reviews.draw_pool and peers.case_call is latency.case_call
    assert peers.time_calls is latency.time_calls


def _bench_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **_env()}
    command = [sys.executable, "-m", "imdb_edge", "bench", *ONE_CASE, "--mode", "e2e,model", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_json_with_output_writes_the_report_and_prints_it_without_samples(tmp_path: Path) -> None:
    """`--json -o report.json` printed the whole multi-MB report, raw samples included, to the terminal too."""
    done = _bench_process("--min-runs", "2000", "--json", "-o", "report.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = json.loads((tmp_path / "report.json").read_text())
    printed = json.loads(done.stdout)
    assert all(len(row["samples_ms"]) == row["runs"] == 2000 for row in written["results"])
    assert "samples_ms" not in done.stdout and printed["report_file"] == "report.json"
    assert printed["results"] == [{k: v for k, v in r.items() if k != "samples_ms"} for r in written["results"]]
    assert printed["headline"] == written["headline"] and len(done.stdout) < len(json.dumps(written)) / 10


def test_output_without_json_prints_the_table_and_where_the_report_went(tmp_path: Path) -> None:
    done = _bench_process("-o", "report.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "| model | precision |" in done.stdout and "report with every raw sample: report.json" in done.stdout
    assert "samples_ms" not in done.stdout and "samples_ms" in (tmp_path / "report.json").read_text()


def test_json_without_output_prints_the_whole_report(tmp_path: Path) -> None:
    done = _bench_process("--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "report_file" not in report and all("samples_ms" in row for row in report["results"])
    assert list(tmp_path.iterdir()) == []


def test_real_data_pool_is_500_random_test_reviews(full_data: Path) -> None:
    pool = review_pool(full_data)
    assert pool.source == str(full_data) and pool.of == 25_000 and len(pool.texts) == 500
    assert 1_000 < pool.describe()["mean_chars"] < 1_600  # a full review, not a sentence
