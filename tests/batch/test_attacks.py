"""The attack on main of December 2026: each case as it was found, in real processes, pipes, signals and sparse files.

docs/reliability.md's attack table names the test that holds each one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from imdb_edge import Classifier
from tests.helpers import PEAK_SCRIPT, classify_on_a_full_disk, cli

GOOD, BAD = "a wonderful excellent film", "boring awful waste"


def cli_with_peak(*args: str, stdin: object = None) -> tuple[int, int, str]:
    """(exit code, peak RSS in MB, stderr) of the CLI in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, *args], capture_output=True, text=True, timeout=300, stdin=stdin
    )  # type: ignore[call-overload]
    found = re.search(r"PEAK (\S+) (\d+)", done.stderr)
    assert found, done.stderr
    code = 0 if found.group(1) == "None" else int(found.group(1))
    return code, int(found.group(2)) // 1024, done.stderr


def sparse_file(path: Path, size: int, head: bytes = b"", tail: bytes = b"") -> Path:
    """A file of `size` bytes that takes no disk: `head`, zeros, `tail`."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size - len(tail))
        handle.seek(size - len(tail))
        handle.write(tail)
    return path


def test_a_two_gb_line_is_cut_without_being_read_whole(tiny_model: Path, tmp_path: Path) -> None:
    """Before: a 5 GB line gave a MemoryError traceback at 3.5 GB. The line is read past at its byte cap."""
    source = sparse_file(tmp_path / "in.txt", 2 << 30, head=f"{GOOD}\n".encode(), tail=f"\n{BAD}\n".encode())
    code, peak_mb, stderr = cli_with_peak(
        "classify", "-m", str(tiny_model), "-f", str(source), "-o", str(tmp_path / "o")
    )
    assert code == 1, stderr  # the zeros are not text: an error line, the others classified
    assert peak_mb < 400, f"{peak_mb} MB"
    lines = (tmp_path / "o").read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["positive", "error", "negative"]
    assert "line 2: holds NUL bytes" in stderr and "Traceback" not in stderr


def test_a_link_to_a_huge_file_in_a_folder_leaves_the_output_whole(tiny_model: Path, tmp_path: Path) -> None:
    """Before: a .txt linked to a 5 GB file truncated an existing -o to 0 bytes and died (exit 1, as if only
    some inputs were bad)."""
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "1.txt").write_text(GOOD)
    (folder / "2.txt").symlink_to(sparse_file(tmp_path / "huge.bin", 2 << 30, head=b"awful " * 10))
    (folder / "3.txt").write_text(BAD)
    output = tmp_path / "out.tsv"
    output.write_text("an earlier result\n")
    code, peak_mb, stderr = cli_with_peak("classify", "-m", str(tiny_model), "-f", str(folder), "-o", str(output))
    assert code == 1 and peak_mb < 400, (code, peak_mb, stderr)
    lines = output.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["positive", "error", "negative"]
    assert [line.split("\t")[-1] for line in lines] == ["1.txt", "2.txt", "3.txt"]  # names, in plain output too


def test_one_long_line_through_a_pipe_is_read_in_linear_time(tiny_model: Path) -> None:
    """Before: 20 / 40 / 80 MB took 2.6 / 10.9 / 49 s (the reader rebuilt pending + data on every 64 KB read)."""
    line = ("great " * ((80 << 20) // 6) + "\n").encode()
    process = subprocess.Popen(
        [sys.executable, "-m", "imdb_edge", "classify", "-m", str(tiny_model), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    started = time.monotonic()
    writer = threading.Thread(target=lambda: (process.stdin.write(line), process.stdin.close()))  # type: ignore[union-attr]
    writer.start()
    out = process.stdout.read()  # type: ignore[union-attr]
    err = process.stderr.read()  # type: ignore[union-attr]
    process.wait(timeout=120)
    writer.join()
    took = time.monotonic() - started
    assert process.returncode == 0, err
    assert out.decode().startswith("positive\t") and b"characters, classified the first 1000000" in err
    assert took < 20, f"{took:.1f} s for an 80 MB line"


def test_dev_zero_is_read_in_bounded_memory_and_stops_on_a_signal(tiny_model: Path) -> None:
    """Before: `-f /dev/zero` spun with growing memory and no output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "imdb_edge", "classify", "-m", str(tiny_model), "-f", "/dev/zero"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    rss_mb = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{process.pid}/status").read_text()).group(1)) // 1024  # type: ignore[union-attr]
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert rss_mb < 300, f"{rss_mb} MB after 3 s of /dev/zero"
    assert process.returncode == 130 and time.monotonic() - sent < 2, stderr


def test_a_json_array_is_streamed_in_bounded_memory(tiny_model: Path, tmp_path: Path) -> None:
    """Before: a 1 GB array peaked at 3.2 GB (it was parsed whole); a 20 MB `[1,1,...]` at 2.2 GB."""
    texts = [f"{(GOOD, BAD)[i % 2]} {'x' * 300} {i}" for i in range(150_000)]  # about 50 MB
    array = tmp_path / "reviews.json"
    with array.open("w") as handle:
        handle.write("[\n")
        handle.write(",\n".join(json.dumps({"id": i, "text": text}) for i, text in enumerate(texts)))
        handle.write("\n]\n")
    code, peak_mb, stderr = cli_with_peak(
        "classify", "-m", str(tiny_model), "-f", str(array), "--json", "-o", str(tmp_path / "o"), "--workers", "1"
    )
    assert code == 0 and peak_mb < 300, (code, peak_mb, stderr)
    rows = [json.loads(line) for line in (tmp_path / "o").read_text().splitlines()]
    assert len(rows) == len(texts) and rows[-1]["id"] == len(texts) - 1
    assert [r["label"] for r in rows[:4]] == ["positive", "negative", "positive", "negative"]


def test_a_utf16_file_is_refused_and_latin1_is_read_with_encoding(tiny_model: Path, tmp_path: Path) -> None:
    """Before: a UTF-16 file gave an error on line 1 and the model's bias ("positive 0.515") on every other,
    "terrible awful waste" included, plus a record from the trailing NUL; a latin-1 file was all errors."""
    utf16 = tmp_path / "utf16.txt"
    utf16.write_text(f"{GOOD}\n{BAD}\n", encoding="utf-16")
    done = cli("classify", "-m", str(tiny_model), "-f", str(utf16), "-o", str(tmp_path / "o"))
    assert done.returncode == 2 and "is UTF-16" in done.stderr and "iconv" in done.stderr
    assert not (tmp_path / "o").exists()
    latin = tmp_path / "latin.txt"
    latin.write_bytes(f"{GOOD} café\n{BAD} naïve\n".encode("latin-1"))
    assert cli("classify", "-m", str(tiny_model), "-f", str(latin)).returncode == 1  # not UTF-8: error lines
    done = cli("classify", "-m", str(tiny_model), "-f", str(latin), "--encoding", "latin-1")
    assert done.returncode == 0 and [x.split("\t")[0] for x in done.stdout.splitlines()] == ["positive", "negative"]
    done = cli("classify", "-m", str(tiny_model), "-f", str(latin), "--encoding", "utf-16")
    assert done.returncode == 2 and "convert the file to UTF-8 first" in done.stderr


def test_closed_standard_streams(tiny_model: Path, tmp_path: Path) -> None:
    """Before: with stderr closed (`2>&-`) the output was cut, then exit 1 with no word; with stdout closed,
    a traceback."""
    source = tmp_path / "in.txt"
    source.write_text("\n".join([GOOD, "", BAD] * 2000) + "\n")
    command = f'"{sys.executable}" -m imdb_edge classify -m "{tiny_model}" -f "{source}" -o "{tmp_path / "o"}" 2>&-'
    done = subprocess.run(["sh", "-c", command], capture_output=True, timeout=120)
    assert done.returncode == 1  # some lines were empty: the exit code still says so
    assert len((tmp_path / "o").read_text().splitlines()) == 6000
    done = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m imdb_edge classify -m "{tiny_model}" "{GOOD}" >&-'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "stdout is closed" in done.stderr and "Traceback" not in done.stderr


def test_limits_on_workers_threads_and_batches(tiny_model: Path, tmp_path: Path) -> None:
    """Before: --workers 64 took 5.7 GB on 2 cores; --threads 5000 printed its result, then spent minutes
    tearing threads down; bench --batch 100000000 gave a MemoryError traceback."""
    source = tmp_path / "in.txt"
    source.write_text(f"{GOOD}\n")
    for args, message in [
        (["classify", "-f", str(source), "--workers", "64"], "--workers must be between 1 and"),
        (["classify", "--threads", "5000", GOOD], "threads must be between 1 and"),
        (["bench", "--batch", "100000000", "--threads", "1"], "batch sizes must be at most 65,536"),
    ]:
        started = time.monotonic()
        done = cli(*args, "-m", str(tiny_model))
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert time.monotonic() - started < 30 and "Traceback" not in done.stderr


def test_a_fifo_output_with_no_reader_stops_on_sigterm(tiny_model: Path, tmp_path: Path) -> None:
    """Before: `-o FIFO` with no reader ignored SIGTERM (the open waited for a reader)."""
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-m", "imdb_edge", "classify", "-m", str(tiny_model), "-o", str(fifo), GOOD],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and time.monotonic() - sent < 2, stderr


def test_an_output_that_feeds_the_input_is_read_whole(tiny_model: Path, tmp_path: Path) -> None:
    """Before: `cat f | imdb-edge classify - -o f` turned 100,000 reviews into 104 lines, exit 0."""
    reviews = tmp_path / "f.txt"
    reviews.write_text("\n".join([GOOD, BAD] * 50_000) + "\n")
    command = f'cat "{reviews}" | "{sys.executable}" -m imdb_edge classify -m "{tiny_model}" - -o "{reviews}"'
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = reviews.read_text().splitlines()
    assert len(lines) == 100_000 and lines[0].startswith("positive\t") and lines[1].startswith("negative\t")


def test_record_ids_are_not_taken_for_line_numbers(tiny_model: Path, tmp_path: Path) -> None:
    """Before: an integer JSON id was reported as a line number ("line 7" for the record with id 7)."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 7, "text": ""}\n{"id": "x\\u001b[31m", "text": " "}\n')
    done = cli("classify", "-m", str(tiny_model), "-f", str(source))
    assert "warning: line 1 (7): empty text" in done.stderr
    assert "warning: line 2 (x\\x1b[31m): text is only whitespace" in done.stderr  # no escape reaches the terminal
    assert "\x1b" not in done.stderr


def test_terminal_escapes_in_model_metadata_are_shown_escaped(model_bytes: bytes, tmp_path: Path) -> None:
    from tests.model_factory import restamp

    forged = tmp_path / "escape.onnx"
    forged.write_bytes(restamp(model_bytes, {"imdb_edge.export": json.dumps({"created": "\x1b]0;pwned\x07 today"})}))
    done = cli("info", str(forged))
    assert done.returncode == 0 and "\x1b" not in done.stdout and "\\x1b]0;pwned\\x07 today" in done.stdout


def test_a_full_disk_names_the_file_and_how_to_continue(tiny_model: Path, tmp_path: Path) -> None:
    """Before: a full disk did not name the file or suggest --resume, and left a .resume.json.PID.tmp."""
    source = tmp_path / "in.txt"
    source.write_text("\n".join([GOOD, BAD] * 20_000) + "\n")
    output = tmp_path / "out.tsv"

    done = classify_on_a_full_disk(tiny_model, source, output, 100_000)  # a disk that is full after 100 KB
    assert done.returncode == 2, done.stderr
    assert f"cannot write --output {output}" in done.stderr and "rerun with --resume" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    resumed = cli("classify", "-m", str(tiny_model), "-f", str(source), "-o", str(output), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert len(output.read_text().splitlines()) == 40_000


@pytest.mark.parametrize("how", [signal.SIGHUP, signal.SIGKILL])
def test_workers_of_a_parent_that_dies_end_quietly(tiny_model: Path, tmp_path: Path, how: int) -> None:
    """Before: SIGHUP or kill -9 of the parent printed BrokenPipeError tracebacks from its workers."""
    source = tmp_path / "in.txt"
    source.write_text("\n".join([GOOD, BAD] * 200_000) + "\n")
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "imdb_edge", "classify", "-m", str(tiny_model), "-f", str(source), "--workers", "2"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,  # the workers write here too
        )
        deadline = time.monotonic() + 60
        while len(Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(how)
        process.wait(timeout=30)
        time.sleep(2)  # the workers notice their parent is gone
    assert "Traceback" not in stderr_path.read_text()


def test_an_error_inside_a_generator_is_the_generators(shipped: Classifier) -> None:
    """Before: a TypeError raised inside a generator given to predict_batch was reported as "got generator"."""

    def broken():  # type: ignore[no-untyped-def]
        yield "a fine film"
        raise TypeError("the generator's own mistake")

    with pytest.raises(TypeError, match="the generator's own mistake"):
        shipped.predict_batch(broken())
