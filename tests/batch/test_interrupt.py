"""Signals, stalled input and dying workers: real processes, real signals, real pipes and FIFOs.

Every run must end within STOP_SECONDS of the signal, leave complete lines only,
and be resumable; nothing here may hang CI (every wait has a timeout).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imdb_edge import Classifier
from tests.helpers import signal_group_and_wait, wait_for, workers_of

TEXTS = ["a wonderful excellent film", "boring awful waste", "the movie was", "superb", "dull and stupid"]
STOP_SECONDS = 2.0
LINES = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(400_000)]


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> Path:
    return tiny_model


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("input") / "in.txt"
    path.write_text("\n".join(LINES) + "\n")
    return path


def classify_command(model: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "imdb_edge", "classify", "--model", str(model), *args]


def stopped_within(process: subprocess.Popen, started: float) -> str:  # type: ignore[type-arg]
    _, stderr = process.communicate(timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < STOP_SECONDS, f"took {elapsed:.2f}s to stop: {stderr}"
    return stderr


def check_complete_and_resumable(model: Path, out: Path, command: list[str], lines: list[str]) -> None:
    data = out.read_bytes()
    assert data.endswith(b"\n") or not data, "the last line must be complete"
    written = data.decode().splitlines()
    assert len(written) < len(lines)
    classifier = Classifier.load(model)
    if written:
        expected = classifier.predict_batch(lines[: len(written)][-2000:])
        assert [w.split("\t")[0] for w in written[-2000:]] == [p.label for p in expected]
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    final = out.read_text().splitlines()
    assert len(final) == len(lines)
    tail = classifier.predict_batch(lines[-1000:])
    assert [w.split("\t")[0] for w in final[-1000:]] == [p.label for p in tail]


def start_big_run(model: Path, big_input: Path, out: Path, **popen: object) -> tuple[subprocess.Popen, list[str]]:  # type: ignore[type-arg]
    command = classify_command(model, "--file", str(big_input), "--output", str(out), "--workers", "2")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, **popen)  # type: ignore[call-overload]
    wait_for(lambda: out.exists() and out.stat().st_size > 20_000)
    return process, command


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("target", ["parent", "group", "worker"])
def test_a_signal_ends_the_run_quickly_with_complete_resumable_lines(
    model: Path, big_input: Path, tmp_path: Path, signum: int, target: str
) -> None:
    out = tmp_path / "out.tsv"
    process, command = start_big_run(model, big_input, out, start_new_session=True)
    try:
        started = time.monotonic()
        if target == "parent":
            process.send_signal(signum)
        elif target == "group":  # what systemd, `timeout` and `kill -- -PGID` do
            os.killpg(process.pid, signum)
        else:
            os.kill(workers_of(process.pid)[0], signum)
        stderr = stopped_within(process, started)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted:" in stderr and "--resume" in stderr and "Traceback" not in stderr
    written = len(out.read_bytes().splitlines())
    assert f"{written} result line(s) are complete" in stderr
    check_complete_and_resumable(model, out, command, LINES)


@pytest.fixture(scope="module")
def sample_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80,000 real reviews (the shipped sample, repeated): workers start, and the job outlasts the sweep."""
    from imdb_edge.data.reviews import sample_reviews

    reviews = [review.replace("\n", " ").replace("\r", " ") for review in sample_reviews()]
    path = tmp_path_factory.mktemp("sample") / "reviews.txt"
    path.write_text("".join(reviews[i % len(reviews)] + "\n" for i in range(80_000)), encoding="utf-8")
    return path


def test_a_stop_signal_at_any_moment_of_start_up_exits_130_within_2_seconds(sample_input: Path, tmp_path: Path) -> None:
    """The signal sweeps start-up in 50 ms steps (imports, model load, input, output, worker start, first
    chunks), to the whole process group, SIGTERM and SIGINT in turn, with the shipped 2.7 MB model. Before,
    a signal as the first worker appeared hung until SIGKILL: the parent was blocked writing the model into
    the spawn pipe of a child the signal had killed."""
    out = tmp_path / "out.tsv"
    for step in range(1, 21):
        delay, signum = 0.05 * step, (signal.SIGTERM, signal.SIGINT)[step % 2]
        out.unlink(missing_ok=True)
        command = [sys.executable, "-m", "imdb_edge", "classify", "-f", str(sample_input), "-o", str(out), "-q"]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            time.sleep(delay)
        finally:
            took, stderr = signal_group_and_wait(process, signum)
        assert took < STOP_SECONDS, f"{delay:.2f}s: took {took:.2f}s to stop: {stderr}"
        assert process.returncode == 130, f"{delay:.2f}s {signal.Signals(signum).name}: {stderr}"
        assert "Traceback" not in stderr and signal.Signals(signum).name in stderr, stderr
        if out.exists():
            data = out.read_bytes()
            assert not data or data.endswith(b"\n"), "a cut line"
            assert all(line.split(b"\t")[0] in (b"positive", b"negative") for line in data.splitlines())


def test_a_killed_worker_ends_the_run_with_aligned_lines(model: Path, big_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.tsv"
    process, command = start_big_run(model, big_input, out)
    try:
        started = time.monotonic()
        os.kill(workers_of(process.pid)[0], signal.SIGKILL)
        stderr = stopped_within(process, started)
    finally:
        process.kill()
    assert process.returncode == 130 and "ended unexpectedly (signal SIGKILL)" in stderr
    check_complete_and_resumable(model, out, command, LINES)


def test_a_worker_that_cannot_start_is_one_clear_error(model: Path, big_input: Path, tmp_path: Path) -> None:
    """Workers that fail at start (here: no memory for the model) must not be restarted forever."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        "if '--multiprocessing-fork' in sys.argv:\n"
        "    import imdb_edge.runtime.modelfile.reader as model_file\n"
        "    def refuse(*args, **kwargs):\n"
        "        raise MemoryError('simulated: no memory for the model')\n"
        "    model_file.parse_model_bytes = refuse\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    command = classify_command(model, "--file", str(big_input), "--output", str(tmp_path / "o.tsv"), "--workers", "2")
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert time.monotonic() - started < 60
    assert done.returncode == 2
    assert done.stderr.startswith("error: a worker process could not start: MemoryError: simulated")
    assert len(done.stderr.strip().splitlines()) == 1


def test_replacing_the_model_during_a_run_changes_nothing(model: Path, big_input: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m.onnx"
    copy.write_bytes(model.read_bytes())
    out = tmp_path / "out.tsv"
    command = classify_command(copy, "--file", str(big_input), "--output", str(out), "--workers", "2")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: out.exists() and out.stat().st_size > 0)
        copy.write_bytes(b"not a model any more")
        _, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    written = out.read_text().splitlines()
    assert len(written) == len(LINES)
    expected = Classifier.load(model).predict_batch(LINES[-500:])
    assert [w.split("\t")[0] for w in written[-500:]] == [p.label for p in expected]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("how", ["stalled pipe", "fifo without writer", "stalled fifo"])
def test_one_signal_wakes_a_blocked_read(model: Path, tmp_path: Path, signum: int, how: str) -> None:
    out = tmp_path / "out.tsv"
    writer = None
    if how == "stalled pipe":
        process = subprocess.Popen(
            classify_command(model, "-", "--output", str(out)), stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stdin is not None
        process.stdin.write("a wonderful film\n")
        process.stdin.flush()
        wait_for(lambda: out.exists() and out.stat().st_size > 0)
    else:
        fifo = tmp_path / "feed"
        os.mkfifo(fifo)
        process = subprocess.Popen(
            classify_command(model, "--file", str(fifo), "--output", str(out)), stderr=subprocess.PIPE, text=True
        )
        if how == "stalled fifo":
            writer = open(fifo, "w")  # noqa: SIM115
            writer.write("a wonderful film\n")
            writer.flush()
            wait_for(lambda: out.exists() and out.stat().st_size > 0)
        else:  # wait until it blocks in open() of the FIFO (the kernel names that wait "wait_for_partner")
            wait_for(lambda: "wait_for_partner" in Path(f"/proc/{process.pid}/wchan").read_text())
    try:
        started = time.monotonic()
        process.send_signal(signum)
        stderr = stopped_within(process, started)
    finally:
        process.kill()
        if writer is not None:
            writer.close()
    assert process.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr
    if how != "fifo without writer":
        assert out.read_text().startswith("positive\t") and "1 result line(s) are complete" in stderr


def test_piped_input_gets_each_result_as_its_line_arrives(model: Path) -> None:
    """`tail -f log | imdb-edge classify -`: a result per line, without waiting for more input."""
    process = subprocess.Popen(
        classify_command(model, "-"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        for text, label in [("a wonderful excellent film", "positive"), ("boring awful waste", "negative")] * 2:
            process.stdin.write(text + "\n")
            process.stdin.flush()
            line = _readline_within(process, 30)
            assert line.split("\t")[0] == label
        process.stdin.close()
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()


def _readline_within(process: subprocess.Popen, seconds: float) -> str:  # type: ignore[type-arg]
    import select

    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, "no result line arrived"
    return process.stdout.readline()


def test_head_1_ends_quietly_with_exit_0(model: Path, big_input: Path) -> None:
    process = subprocess.Popen(
        classify_command(model, "--file", str(big_input), "--workers", "2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # what `| head -1` does after its line
    try:
        returncode = process.wait(timeout=30)
        stderr = process.stderr.read().decode()
    finally:
        process.kill()
    assert first.startswith(b"positive\t")
    assert returncode == 0 and stderr == ""
