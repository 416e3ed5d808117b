"""`classify --output` never destroys data: not the input, not before the job can start,
not another job's file, and `--resume` continues only its own output."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imdb_edge.batch.result_file import resume_record_path
from tests.helpers import interrupted_output, run_cli
from tests.model_factory import build_model_bytes

POSITIVE = "An absolute masterpiece, I loved every minute."
NEGATIVE = "This movie was a waste of time, boring and awful."
REVIEWS = "\n".join([POSITIVE, NEGATIVE, POSITIVE]) + "\n"


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> Path:
    return tiny_model


def classify(model: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("classify", "--model", str(model), *args)


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize("resume", [False, True])
def test_output_that_is_the_input_is_refused(model: Path, tmp_path: Path, link: str, resume: bool) -> None:
    source = tmp_path / "r.txt"
    source.write_text(REVIEWS)
    output = {"same": source, "symlink": tmp_path / "sym.txt", "hardlink": tmp_path / "hard.txt"}[link]
    if link == "symlink":
        output.symlink_to(source)
    elif link == "hardlink":
        os.link(source, output)
    result = classify(model, "--file", str(source), "--output", str(output), *(["--resume"] if resume else []))
    assert result.exit_code == 2 and "one of this job's inputs" in result.stderr
    assert source.read_text() == REVIEWS


def test_output_that_is_the_model_is_refused(model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m.onnx"
    copy.write_bytes(model.read_bytes())
    result = classify(copy, "a fine film", "--output", str(copy))
    assert result.exit_code == 2 and copy.read_bytes() == model.read_bytes()


def test_stdin_redirected_from_the_output_is_refused(model: Path, tmp_path: Path) -> None:
    source = tmp_path / "r.txt"
    source.write_text(REVIEWS)
    with open(source, "rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "imdb_edge", "classify", "--model", str(model), "-", "--output", str(source)],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2 and "one of this job's inputs" in done.stderr
    assert source.read_text() == REVIEWS


@pytest.mark.parametrize("problem", ["missing file", "empty folder", "bad model", "--format on a folder"])
def test_a_job_that_cannot_start_leaves_the_old_output_untouched(model: Path, tmp_path: Path, problem: str) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text('{"id": 1, "label": "positive", "score": 0.9}\n')
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.md").write_text("not a review")
    args = {
        "missing file": ["--file", str(tmp_path / "typo.txt")],
        "empty folder": ["--file", str(folder)],
        "bad model": ["--file", str(folder), "--model", str(tmp_path / "none.onnx")],
        "--format on a folder": ["--file", str(folder), "--format", "lines"],
    }[problem]
    result = run_cli("classify", "--model", str(model), *args, "--json", "--output", str(output))
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert output.read_text() == '{"id": 1, "label": "positive", "score": 0.9}\n'


def _finished_output(model: Path, tmp_path: Path, *extra: str) -> tuple[Path, Path, list[str]]:
    """An output whose run stopped at a checkpoint after one line (its record says so)."""
    source = tmp_path / "in.txt"
    source.write_text(REVIEWS)
    output = tmp_path / "out.tsv"
    args = ["--file", str(source), "--output", str(output), *extra]
    assert classify(model, *args).exit_code == 0
    interrupted_output({"file": str(source), "output": output, "model": model}, lines=1)
    return source, output, args


@pytest.mark.parametrize(
    ("foreign", "reason"),
    [
        ("model copy", "no resume record"),
        ("no newline", "no resume record"),
        ("plain and json lines", "no resume record"),
    ],
)
def test_resume_refuses_files_it_did_not_write(model: Path, tmp_path: Path, foreign: str, reason: str) -> None:
    source = tmp_path / "in.txt"
    source.write_text(REVIEWS)
    output = tmp_path / "out.tsv"
    content = {
        "model copy": model.read_bytes(),
        "no newline": b"positive\t0.9",
        "plain and json lines": b'positive\t0.9\n{"id": 2, "label": "negative"}\n',
    }[foreign]
    output.write_bytes(content)
    result = classify(model, "--file", str(source), "--output", str(output), "--resume")
    assert result.exit_code == 2 and reason in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert output.read_bytes() == content


def test_resume_refuses_another_jobs_output(model: Path, tmp_path: Path) -> None:
    source, output, args = _finished_output(model, tmp_path)
    before = output.read_bytes()
    other = tmp_path / "other.txt"
    other.write_text(REVIEWS * 3)  # a longer input: its output would be longer too
    cases = [
        (["--file", str(other), "--output", str(output)], "another input"),
        ([*args, "--json"], "another output form"),
        ([*args, "--threshold", "0.7"], "another --threshold"),
    ]
    for case, reason in cases:
        result = classify(model, *case, "--resume")
        assert result.exit_code == 2 and reason in result.stderr, result.output
    other_model = tmp_path / "other.onnx"
    other_model.write_bytes(build_model_bytes(threshold=0.6))
    result = classify(other_model, *args, "--resume")
    assert result.exit_code == 2 and "another model" in result.stderr
    source.write_text(REVIEWS + POSITIVE + "\n")  # the input changed since
    result = classify(model, *args, "--resume")
    assert result.exit_code == 2 and "another input" in result.stderr
    assert output.read_bytes() == before


def test_resume_refuses_an_output_edited_since(model: Path, tmp_path: Path) -> None:
    _, output, args = _finished_output(model, tmp_path)
    output.write_bytes(output.read_bytes().replace(b"positive", b"negative", 1))
    result = classify(model, *args, "--resume")
    assert result.exit_code == 2 and "does not match its resume record" in result.stderr
    output.write_bytes(output.read_bytes()[:10])
    result = classify(model, *args, "--resume")
    assert result.exit_code == 2 and "shorter than its resume record" in result.stderr


def test_resume_of_a_huge_output_reads_only_its_tail(model: Path, tmp_path: Path) -> None:
    """A 600 MB output (sparse) is checked by its last bytes; the job's memory stays small."""
    _, output, args = _finished_output(model, tmp_path)
    record_path = resume_record_path(output)
    record = json.loads(record_path.read_text())
    size = 600 * 1024 * 1024
    with open(output, "r+b") as handle:
        handle.truncate(size - 2)
        handle.seek(size - 2)
        handle.write(b"x\n")
        handle.seek(size - 4096)
        tail = handle.read(4096)
    record.update(lines=1, bytes=size, tail_sha256=hashlib.sha256(tail).hexdigest())
    record_path.write_text(json.dumps(record))
    script = (  # VmHWM: this process's peak RSS (ru_maxrss would include the forking pytest's)
        "import re, sys, runpy\n"
        f"sys.argv = ['imdb-edge', 'classify', '--model', {str(model)!r}, *{args!r}, '--resume']\n"
        "try:\n    runpy.run_module('imdb_edge', run_name='__main__')\nexcept SystemExit as exc:\n    code = exc.code\n"
        "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print(code, peak, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    code, max_rss_kb = done.stderr.strip().splitlines()[-1].split()
    assert code in ("0", "None"), done.stderr
    assert int(max_rss_kb) < 400 * 1024, "resume must not read the whole output"
    assert output.stat().st_size == size + len("negative\t0.000000\npositive\t0.000000\n")


def test_a_second_job_on_the_same_output_fails_clearly(model: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "feed"
    os.mkfifo(fifo)
    output = tmp_path / "out.tsv"
    base = [sys.executable, "-m", "imdb_edge", "classify", "--model", str(model), "--output", str(output)]
    first = subprocess.Popen([*base, "--file", str(fifo)], stderr=subprocess.PIPE, text=True)
    try:
        with open(fifo, "w") as feed:  # the first job now holds the output and waits for lines
            feed.write(POSITIVE + "\n")
            feed.flush()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (output.exists() and output.read_text()):
                time.sleep(0.05)
            source = tmp_path / "in.txt"
            source.write_text(REVIEWS)
            second = subprocess.run([*base, "--file", str(source)], capture_output=True, text=True, timeout=60)
            assert second.returncode == 2 and "being written by another imdb-edge classify" in second.stderr
            feed.write(NEGATIVE + "\n")
        _, stderr = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 0, stderr
    assert [line.split("\t")[0] for line in output.read_text().splitlines()] == ["positive", "negative"]


@pytest.mark.parametrize("stdout_is", ["file", "pipe"])
def test_output_dev_stdout_is_a_stream(model: Path, tmp_path: Path, stdout_is: str) -> None:
    """`-o /dev/stdout` means "my stdout": no lock, no resume record in /dev, nothing truncated."""
    source = tmp_path / "in.txt"
    source.write_text(REVIEWS)
    command = [sys.executable, "-m", "imdb_edge", "classify", "-m", str(model), "-f", str(source), "-o", "/dev/stdout"]
    if stdout_is == "file":
        target = tmp_path / "log.txt"
        target.write_text("kept\n")
        with open(target, "a") as handle:
            done = subprocess.run(command, stdout=handle, stderr=subprocess.PIPE, text=True, timeout=60)
        text = target.read_text()
        assert text.startswith("kept\n")
    else:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        text = done.stdout
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in text.splitlines()[-3:]] == ["positive", "negative", "positive"]
    assert not Path("/dev/.stdout.imdb-edge-resume.json").exists()
