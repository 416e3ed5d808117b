"""Killing a long `classify --file` leaves complete lines only; --resume finishes the job."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from model_factory import build_model_bytes

from imdb_edge import Classifier

TEXTS = ["a wonderful excellent film", "boring awful waste", "the movie was", "superb", "dull and stupid"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_batch_keeps_complete_matching_lines(tmp_path: Path, signum: int) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(build_model_bytes())
    lines = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(400_000)]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.tsv"
    command = [sys.executable, "-m", "imdb_edge", "classify", "--model", str(model), "--file", str(source)]
    command += ["--output", str(out), "--workers", "2"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.02)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted:" in stderr and "--resume" in stderr

    data = out.read_bytes()
    assert data.endswith(b"\n"), "the last line must be complete"
    written = data.decode().splitlines()
    assert 0 < len(written) < len(lines)
    expected = Classifier.load(model).predict_batch(lines[: len(written)])
    assert [w.split("\t")[0] for w in written] == [p.label for p in expected]
    assert f"{len(written)} result line(s) are complete" in stderr

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    final = out.read_text().splitlines()
    assert len(final) == len(lines)
    tail = Classifier.load(model).predict_batch(lines[-1000:])
    assert [w.split("\t")[0] for w in final[-1000:]] == [p.label for p in tail]
