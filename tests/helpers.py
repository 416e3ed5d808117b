"""What many tests share: where the repository is, running the CLI in-process, stopping a process group."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository's root folder."""


def run_cli(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Any:
    """`imdb-edge ARGS...` in this process (Typer's CliRunner): the Result has exit_code, stdout, stderr."""
    from typer.testing import CliRunner

    from imdb_edge.cli import app

    return CliRunner().invoke(app, list(args), input=input, env=env, prog_name="imdb-edge")


def interrupted_output(job_options: dict[str, Any], lines: int) -> None:
    """Leave the output of `ClassifyJob(**job_options)` as a run stopped at a checkpoint after `lines` result
    lines would: its first `lines` lines and a resume record (a finished run removes its record)."""
    from imdb_edge.batch.job import ClassifyJob, job_identity
    from imdb_edge.batch.records import open_source, text_source
    from imdb_edge.batch.result_file import ResultFile
    from imdb_edge.runtime.classifier import Classifier

    job = ClassifyJob(**job_options)
    output = Path(job.output)  # type: ignore[arg-type]
    kept = b"".join(output.read_bytes().splitlines(keepends=True)[:lines])
    classifier = Classifier.load(job.model, threshold=job.threshold)
    source = (
        open_source(job.file, job.input_format, job.max_chars, job.encoding) if job.file else text_source(job.texts)
    )
    result = ResultFile.open(output, job_identity(job, source, classifier), resume=False)
    result.write_lines(kept, lines)
    result.close(complete=False)


def signal_group_and_wait(process: subprocess.Popen[str], signum: int, timeout: float = 30.0) -> tuple[float, str]:
    """Send `signum` to the process's whole group (what systemd, `timeout` and `kill -- -PGID` do) and wait for it
    to end: (seconds from the signal to the end, its stderr). A process still alive after `timeout` is killed."""
    try:
        os.killpg(process.pid, signum)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=timeout)
        return time.monotonic() - sent, stderr
    finally:
        process.kill()


def classify_on_a_full_disk(model: Path, source: Path, output: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """`imdb-edge classify -m MODEL -f SOURCE -o OUTPUT` in a process where no file may grow past `limit` bytes
    (RLIMIT_FSIZE): writes past it fail with EFBIG, as on a full disk."""

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "imdb_edge", "classify", "-m", str(model), "-f", str(source), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
    )
