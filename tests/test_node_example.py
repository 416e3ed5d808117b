"""examples/node: a Node.js program classifies with the text-input model, matching Python."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from model_factory import build_model_bytes

from imdb_edge import Classifier

EXAMPLE = Path(__file__).parent.parent / "examples" / "node"
REVIEWS = [
    "An absolute masterpiece, I loved every minute.",
    "This movie was a waste of time: boring, awful, the worst.",
    "Not good, not bad.<br /><br />The movie was... a film.",
    "ÉCOLE naïve 🎬 superb!!",
    "",
]


@pytest.fixture(scope="module")
def node_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed for the Node.js example")
    work = tmp_path_factory.mktemp("node") / "example"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("node_modules"))
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=work, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return work


def run_node(example: Path, model: Path, reviews: list[str]) -> list[dict]:
    done = subprocess.run(
        ["node", "classify.mjs", str(model), *reviews], cwd=example, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def assert_same_as_python(rows: list[dict], model: Path, reviews: list[str]) -> None:
    classifier = Classifier.load(model)
    scores = classifier.scores(reviews)  # scores(): the graph takes empty text too, predict_batch() refuses it
    assert [r["label"] for r in rows] == [classifier.labels[int(s >= classifier.threshold)] for s in scores]
    assert max(abs(r["score"] - float(s)) for r, s in zip(rows, scores, strict=True)) <= 1e-5


@pytest.mark.parametrize("ngram_max", [1, 2])
def test_node_example_matches_python(node_example: Path, tmp_path: Path, ngram_max: int) -> None:
    model = tmp_path / "text.onnx"
    model.write_bytes(build_model_bytes(form="text", ngram_max=ngram_max))
    assert_same_as_python(run_node(node_example, model, REVIEWS), model, REVIEWS)


def test_node_example_usage_error(node_example: Path) -> None:
    done = subprocess.run(["node", "classify.mjs"], cwd=node_example, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage:" in done.stderr
