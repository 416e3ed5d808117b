"""What many tests share: where the repository is, running the CLI in-process, stopping a process group."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
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


def cli(*args: str, **popen: object) -> subprocess.CompletedProcess[str]:
    """`imdb-edge ARGS...` in a fresh interpreter (a real process: exit code, stdout and stderr as text)."""
    return subprocess.run(
        [sys.executable, "-m", "imdb_edge", *args], capture_output=True, text=True, timeout=300, **popen
    )  # type: ignore[call-overload]


PEAK_SCRIPT = (  # run the CLI, then print its exit code and this process's peak RSS (VmHWM, kB) on stderr
    "import re, sys, runpy\n"
    "sys.argv = ['imdb-edge', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('imdb_edge', run_name='__main__')\nexcept SystemExit as exc:\n    code = exc.code\n"
    "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
    "print('PEAK', code, peak, file=sys.stderr)\n"
)


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    """Poll `condition` every 20 ms until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def workers_of(pid: int) -> list[int]:
    """The multiprocessing workers among `pid`'s children (none once it or they are gone)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    found = []
    for child in children:
        try:
            if "--multiprocessing-fork" in Path(f"/proc/{child}/cmdline").read_text():
                found.append(int(child))
        except FileNotFoundError:
            pass
    return found
