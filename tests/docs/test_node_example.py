"""examples/node: a Node.js program classifies with the text-input model, matching Python."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_edge import Classifier
from tests.helpers import ROOT
from tests.model_factory import build_model_bytes

EXAMPLE = ROOT / "examples" / "node"
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
    assert "warn" not in done.stderr.lower(), done.stderr  # e.g. an unknown project config in .npmrc
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


@pytest.mark.parametrize(("form", "ngram_max"), [("text", 1), ("text", 2), ("text_fast", 2)])
def test_node_example_matches_python(node_example: Path, tmp_path: Path, form: str, ngram_max: int) -> None:
    """The portable form and text_fast (contrib operators: in onnxruntime-node's standard build) alike."""
    model = tmp_path / "text.onnx"
    model.write_bytes(build_model_bytes(form=form, ngram_max=ngram_max))
    assert_same_as_python(run_node(node_example, model, REVIEWS), model, REVIEWS)


def test_node_example_usage_error(node_example: Path) -> None:
    done = subprocess.run(["node", "classify.mjs"], cwd=node_example, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_node_example_refuses_a_token_id_model_in_one_line(node_example: Path, tmp_path: Path) -> None:
    model = tmp_path / "ids.onnx"
    model.write_bytes(build_model_bytes())
    done = subprocess.run(
        ["node", "classify.mjs", str(model), "good"], cwd=node_example, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "--input text --output imdb.text.onnx" in done.stderr


README = EXAMPLE / "README.md"
README_MARKER = "tests/docs/test_node_example.py runs it as written"


def test_readme_commands_run_as_written_and_print_what_it_shows(tmp_path: Path) -> None:
    """The README's command block, verbatim, from a project root where `imdb-edge` is this code."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed for the Node.js example")
    text = README.read_text(encoding="utf-8")
    after = text[text.index(README_MARKER) :]
    commands = re.search(r"```bash\n(.*?)```", after, re.S).group(1)  # type: ignore[union-attr]
    shown = [json.loads(line) for line in re.search(r"```json\n(.*?)```", after, re.S).group(1).splitlines()]  # type: ignore[union-attr]
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project / "examples" / "node", ignore=shutil.ignore_patterns("node_modules"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "imdb-edge"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m imdb_edge "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLE.parent.parent), env.get("PYTHONPATH")]))
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "npm warn" not in done.stderr.lower(), done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [row["label"] for row in printed] == [row["label"] for row in shown]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(printed, shown, strict=True)) <= 1e-5
    wrote = next(line for line in done.stdout.splitlines() if line.startswith("wrote "))
    assert wrote in " ".join(text.split()), wrote  # the README quotes the line the command prints
