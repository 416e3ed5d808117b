"""The base install (no extras) in a fresh venv classifies offline, with no TensorFlow at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_base_install_in_fresh_venv_classifies(tmp_path: Path) -> None:
    if os.environ.get("IMDB_EDGE_SKIP_INSTALL_TEST"):
        pytest.skip("IMDB_EDGE_SKIP_INSTALL_TEST is set")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT)], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0].lower() for line in listed.splitlines()[2:]}
    assert not names & {"tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx"}, names
    assert {"onnxruntime", "numpy", "typer", "imdb-edge"} <= names

    cli = venv / "bin" / "imdb-edge"
    env = {**os.environ, "PYTHONPATH": ""}

    def classify(text: str) -> subprocess.CompletedProcess[str]:
        command = [str(cli), "classify", text]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)

    good = classify("An absolute masterpiece, I loved every minute.")
    bad = classify("This movie was a waste of time")
    assert good.returncode == 0 and good.stdout.startswith("positive\t"), good.stderr
    assert bad.returncode == 0 and bad.stdout.startswith("negative\t"), bad.stderr
