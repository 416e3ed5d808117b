"""`imdb-edge train` and `export` as a user runs them: stderr holds our progress lines only,
not TensorFlow's start-up log (absl, oneDNN, CPU features); `--quiet` leaves stderr empty."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

# Every line our train/export commands print on stderr starts like one of these.
OURS = re.compile(r"^(data: |features: |epoch +\d+/|keras: scored |PASS  |FAIL  |calibration: |warning: )")


def imdb_edge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the command must quieten TensorFlow itself
    return subprocess.run(
        [sys.executable, "-m", "imdb_edge", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


@pytest.mark.slow
def test_train_and_export_print_only_our_lines(imdb_archive: Path, tmp_path: Path) -> None:
    small = ["--hidden", "8", "--epochs", "2", "--batch-size", "16", "--validation-size", "20"]
    trained = imdb_edge("train", "--data", str(imdb_archive), *small, "--output", "run", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    exported = imdb_edge(
        "export", "run", "--data", str(imdb_archive), "--quantize", "int8", "--output", "m.onnx", cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    for done in (trained, exported):
        lines = done.stderr.splitlines()
        assert lines, "progress lines are expected"
        assert [line for line in lines if not OURS.match(line)] == []
    assert sum(line.startswith("epoch ") for line in trained.stderr.splitlines()) == 2

    quiet = imdb_edge("train", "-q", "--data", str(imdb_archive), *small, "--output", "run-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert quiet.stdout.startswith("test accuracy ")
