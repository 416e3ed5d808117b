"""The short-review benchmark: its pieces of reviews, and a real run on the fixture (no TensorFlow)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.data.short_texts import first_sentence, first_words, last_words
from tests.helpers import ROOT
from tests.model_factory import build_model_bytes

SCRIPT = ROOT / "benchmarks" / "short_reviews.py"
_spec = importlib.util.spec_from_file_location("short_reviews", SCRIPT)
assert _spec is not None and _spec.loader is not None
short_reviews = sys.modules["short_reviews"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up
_spec.loader.exec_module(short_reviews)


def test_pieces_of_a_review() -> None:
    review = "A fine film. It drags<br /><br />in the middle! " + " ".join(f"w{i}" for i in range(40))
    assert first_sentence(review) == "A fine film."
    assert first_words(review, 5) == "A fine film. It drags"
    assert last_words(review, 3) == "w37 w38 w39"
    assert "<br" not in last_words(review, 44) and "drags in" in last_words(review, 44)
    assert first_sentence("no end mark at all") == "no end mark at all"


def test_buckets_and_variants_count_every_piece() -> None:
    texts = ["Great. " + "fun " * 40, "Awful!"]
    short = short_reviews.build_short_set(texts, np.array([1, 0]))
    scores = np.array([0.9, 0.1] * len(short_reviews.VARIANTS), dtype=np.float32)
    table = short_reviews.accuracy_table(scores, short)
    assert {name: table[name] for name in short_reviews.VARIANTS} == {name: (1.0, 2) for name in short_reviews.VARIANTS}
    bucketed = sum(n for key, (_, n) in table.items() if key.startswith("short, "))
    assert bucketed == 2 * (len(short_reviews.VARIANTS) - 1)  # every short piece is in exactly one bucket


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_benchmark_runs_models_on_the_fixture(imdb_archive: Path, tmp_path: Path) -> None:
    from imdb_edge.data.dataset import load_dataset
    from imdb_edge.runtime.classifier import Classifier

    model = tmp_path / "sentiment.onnx"
    model.write_bytes(build_model_bytes())
    text_model = tmp_path / "sentiment-text.onnx"
    text_model.write_bytes(build_model_bytes(form="text"))
    out = tmp_path / "short.json"
    result = run_script("--model", str(model), "-m", str(text_model), "--data", str(imdb_archive), "--json", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| model | full | first sentence | first 20 words | last 30 words |")
    assert sum(line.startswith(f"| {model}") for line in lines) == 1
    figures = json.loads(out.read_text())
    test = load_dataset(imdb_archive).test
    expected = np.mean((Classifier.load(model).scores(test.texts) >= 0.5) == test.labels.astype(bool))
    assert figures[str(model)]["full"] == {"accuracy": pytest.approx(expected), "count": 80}
    assert figures[str(model)] == figures[str(text_model)]  # the two forms of one model agree
    assert f"| {100 * expected:.2f} |" in lines[3]


@pytest.mark.parametrize("broken", ["model", "data", "limit"])
def test_bad_input_is_a_one_line_error(imdb_archive: Path, tmp_path: Path, broken: str) -> None:
    model = tmp_path / "sentiment.onnx"
    model.write_bytes(build_model_bytes())
    args = {
        "model": ["--model", str(tmp_path / "missing.onnx"), "--data", str(imdb_archive)],
        "data": ["--model", str(model), "--data", str(tmp_path / "nowhere")],
        "limit": ["--model", str(model), "--data", str(imdb_archive), "--limit", "1"],
    }[broken]
    result = run_script(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
