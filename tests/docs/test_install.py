"""The base install (no extras) in a fresh venv: it classifies offline with no TensorFlow at all,
refuses the commands that need an extra in one line that names it, and with only the [onnx]
extra added makes a text-input model.

The venv uses the oldest Python the package declares (3.10) when this machine has it
($IMDB_EDGE_OLDEST_PYTHON, `python3.10`, or a pyenv 3.10), so that claim is tested too.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT


def hint(extra: str, source: Path = ROOT) -> str:
    """The install command a refusal must name for a copy installed from `source` (not a package name:
    imdb-edge is not on an index, and a name there could be someone else's code)."""
    return f'pip install "{source}[{extra}]"'


def oldest_python() -> str:
    """A Python 3.10 interpreter if one is here, else the one running the tests."""
    candidates = [os.environ.get("IMDB_EDGE_OLDEST_PYTHON"), shutil.which("python3.10")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import venv, sys; print(sys.version_info[:2])"], capture_output=True)
        if probe.returncode == 0 and probe.stdout.strip() == b"(3, 10)":
            return candidate
    return sys.executable


@pytest.mark.slow
def test_base_install_in_fresh_venv(tmp_path: Path) -> None:
    if os.environ.get("IMDB_EDGE_SKIP_INSTALL_TEST"):
        pytest.skip("IMDB_EDGE_SKIP_INSTALL_TEST is set")
    venv = tmp_path / "venv"
    subprocess.run([oldest_python(), "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"

    def pip_install(*targets: str) -> None:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *targets], capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stderr[-3000:]

    def installed() -> set[str]:
        listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True, check=True).stdout
        return {line.split()[0].lower() for line in listed.splitlines()[2:]}

    pip_install(str(ROOT))
    names = installed()
    assert not names & {"tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx", "matplotlib"}, names
    assert {"onnxruntime", "numpy", "typer", "imdb-edge"} <= names

    work = tmp_path / "work"
    work.mkdir()
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": "", "IMDB_EDGE_CACHE": str(cache)}
    env.pop("IMDB_EDGE_DATA", None)

    def imdb_edge(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(venv / "bin" / "imdb-edge"), *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, timeout=300)

    version = imdb_edge("--version")
    assert version.returncode == 0 and version.stdout.startswith("imdb-edge "), version.stderr
    python_version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True
    ).stdout.strip()
    assert f"Python {python_version}" in version.stdout and "onnxruntime " in version.stdout

    good = imdb_edge("classify", "An absolute masterpiece, I loved every minute.")
    bad = imdb_edge("classify", "This movie was a waste of time")
    assert good.returncode == 0 and good.stdout.startswith("positive\t"), good.stderr
    assert bad.returncode == 0 and bad.stdout.startswith("negative\t"), bad.stderr
    info = imdb_edge("info", "--json")
    assert info.returncode == 0, info.stderr
    json.loads(info.stdout, parse_constant=lambda constant: pytest.fail(f"info --json printed {constant}"))

    # Commands that need an extra: one line naming it and its pip command, exit 2, nothing done.
    (work / "grid.toml").write_text("seeds = [0]\n[[runs]]\nname = 'a'\n", encoding="utf-8")
    refused = {
        ("train", "--output", "runs/t"): hint("train"),
        ("sweep", "grid.toml", "--output", "runs/s"): hint("train"),
        ("export", "runs/missing", "--output", "m.onnx"): hint("train"),
        ("export", "--input", "text", "--output", "text.onnx"): hint("onnx"),
        ("bench", "--plot", "latency.png", "--threads", "1", "--batch", "1"): hint("plot"),
    }
    for args, expected in refused.items():
        done = imdb_edge(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, (args, done.stderr)
        assert expected in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == "", (args, done.stdout)
    assert sorted(p.name for p in work.iterdir()) == ["grid.toml"]  # no run folder, model or plot
    assert not cache.exists()  # no download started

    # With only the small [onnx] extra, installed by the very command the refusal printed: a text-input
    # model for other languages, from the shipped one.
    printed = imdb_edge("export", "--input", "text", "--output", "text.onnx").stderr.strip()
    command = shlex.split(printed[printed.index("pip install ") :])
    assert command[:2] == ["pip", "install"], printed
    pip_install(*command[2:])
    assert not installed() & {"tensorflow", "tensorflow-cpu", "keras", "tf2onnx"}
    made = imdb_edge("export", "--input", "text", "--output", "text.onnx")
    assert made.returncode == 0, made.stderr
    assert "PASS  text input vs default.int8.onnx" in made.stderr and made.stdout.startswith("wrote text.onnx")
    reviews = ["An absolute masterpiece, I loved every minute.", "This movie was a waste of time"]
    by_text_model = imdb_edge("classify", "--model", "text.onnx", *reviews)
    by_shipped = imdb_edge("classify", *reviews)
    assert by_text_model.returncode == 0, by_text_model.stderr
    text_rows = [line.split("\t") for line in by_text_model.stdout.splitlines()]
    shipped_rows = [line.split("\t") for line in by_shipped.stdout.splitlines()]
    assert [r[0] for r in text_rows] == [r[0] for r in shipped_rows] == ["positive", "negative"]
    assert max(abs(float(a[1]) - float(b[1])) for a, b in zip(text_rows, shipped_rows, strict=True)) <= 1e-5

    # Installed from a wheel file instead: the hint names that wheel (a platform wheel, native kernel
    # inside), and pip accepts the command as printed.
    dist = tmp_path / "dist"
    built = subprocess.run(
        [str(python), "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("imdb_edge-*.whl")
    pip_install("--force-reinstall", "--no-deps", str(wheel))
    printed = imdb_edge("bench", "--plot", "latency.png", "--threads", "1", "--batch", "1").stderr.strip()
    assert printed.endswith(hint("plot", wheel)), printed
    command = shlex.split(printed[printed.index("pip install ") :])
    pip_install("--dry-run", *command[2:])
