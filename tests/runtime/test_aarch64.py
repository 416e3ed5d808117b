"""The runtime on 64-bit ARM under qemu user-mode emulation (correctness only, not speed),
with the native vectorizer cross-compiled for aarch64 and with the pure-Python one: the
model's vocabulary ids (by term fingerprints) and hashed n-gram buckets (plain and
negation-marked) must equal the x86_64 ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("IMDB_EDGE_AARCH64_SMOKE"),
    reason="set IMDB_EDGE_AARCH64_SMOKE=1 (needs root and apt-get; scripts/test.sh does when it can)",
)
def test_aarch64_smoke_under_qemu(tmp_path: Path) -> None:
    assert shutil.which("apt-get"), "the smoke test installs qemu-user-static and arm64 Python with apt-get"
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "aarch64-smoke.sh"), str(tmp_path / "work")],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "aarch64 smoke test: PASS" in done.stdout
    assert "aarch64 numpy" in done.stdout
    # Both vectorizers really ran on aarch64: the cross-compiled extension loaded, and the forced fallback.
    # Native: the vocabulary by the Fingerprints table, the buckets by the Hasher.
    assert "aarch64 run: aarch64 native Fingerprints Hasher\n" in done.stdout
    assert "aarch64 run: aarch64 python\n" in done.stdout
    for impl in ("native", "python"):
        assert f"aarch64 {impl} vectorizer vs x86_64: " in done.stdout and "0 labels differ" in done.stdout
    assert done.stdout.count("feature ids identical (vocabulary, hashed, negation-marked)") == 2
