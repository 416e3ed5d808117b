"""The follow-up attack of December 2026 (issue 28): each case as it was found, in real processes, pipes and
signals where that is how it happens.

docs/reliability.md's attack table names the test that holds each one.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge.batch import json_array
from imdb_edge.batch.result_file import resume_record_path
from tests.helpers import (
    PEAK_SCRIPT,
    classify_on_a_full_disk,
    cli,
    run_cli,
    signal_group_and_wait,
    wait_for,
    workers_of,
)

GOOD, BAD = "a wonderful excellent film", "boring awful waste"


def shell(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=120)


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("encoding", "why"),
    [
        ("rot13", "is not a text encoding"),
        ("hex", "is not a text encoding"),
        ("base64", "is not a text encoding"),
        ("zlib", "is not a text encoding"),
        ("bz2", "is not a text encoding"),
        ("uu", "is not a text encoding"),
        ("quopri", "is not a text encoding"),
        ("undefined", "cannot read or write any text"),
        ("utf-7", "does not read ASCII as ASCII"),
        ("idna", "does not read ASCII as ASCII"),
        ("cp037", "does not write a newline as the byte 10"),
        ("no-such-codec", "is not an encoding Python knows"),
    ],
)
def test_encodings_that_are_not_ascii_compatible_text_encodings_are_one_line_errors(
    tiny_model: Path, tmp_path: Path, encoding: str, why: str
) -> None:
    """Before: `--encoding rot13` (hex, base64, zlib, bz2, uu, quopri) gave a LookupError traceback, `undefined`
    a UnicodeError one, exit 1; `idna` crashed in the middle of a job on its first long line."""
    source = tmp_path / "in.txt"
    source.write_text(f"{GOOD}\n")
    output = tmp_path / "out.tsv"
    output.write_text("precious\n")
    result = run_cli("classify", "-m", str(tiny_model), "-f", str(source), "-o", str(output), "--encoding", encoding)
    assert result.exit_code == 2, result.output
    assert why in one_line_error(result.stderr) and "--encoding" in result.stderr
    assert output.read_text() == "precious\n"


def test_a_huge_max_chars_is_a_usage_error_that_leaves_the_output_alone(tiny_model: Path, tmp_path: Path) -> None:
    """Before: `--max-chars 99999999999999999999` emptied -o, left a resume record, then died with an
    OverflowError traceback (exit 1)."""
    from imdb_edge.batch.errors import JobError
    from imdb_edge.batch.job import ClassifyJob, run_job
    from imdb_edge.batch.stop import StopRequest

    source = tmp_path / "r.txt"
    source.write_text(f"{GOOD}\n{BAD}\n")
    output = tmp_path / "out"
    output.write_text("precious\n")
    done = cli("classify", "-m", str(tiny_model), "-f", str(source), "-o", str(output), "--max-chars", "9" * 20)
    assert done.returncode == 2 and "--max-chars" in done.stderr and "Traceback" not in done.stderr
    assert output.read_text() == "precious\n" and not resume_record_path(output).exists()
    job = ClassifyJob(file=str(source), model=tiny_model, output=output, max_chars=10**20)
    with StopRequest() as stop, pytest.raises(JobError, match="max_chars must be a whole number between 1 and"):
        run_job(job, stop)
    assert output.read_text() == "precious\n"


def test_file_names_that_are_not_printable_keep_one_line_each(tiny_model: Path, tmp_path: Path) -> None:
    """Before: a newline in a file name split its result over two lines (6 inputs, 7 lines, with -o too), and
    ESC sequences in names (colour, a terminal title) went to stdout as they were."""
    folder = tmp_path / "n"
    folder.mkdir()
    names = ["a\nb.txt", "c\x1b[31mRED.txt", "e\x1b]0;pwned\x07.txt", "tab\there.txt", "line\u2028sep.txt", "ok.txt"]
    for name in names:
        (folder / name).write_text(GOOD)
    done = cli("classify", "-m", str(tiny_model), "-f", str(folder), "-o", str(tmp_path / "out.tsv"))
    assert done.returncode == 0, done.stderr
    for data in (done.stdout, (tmp_path / "out.tsv").read_text()):
        data = data or (tmp_path / "out.tsv").read_text()
        rows = data.split("\n")[:-1]
        assert len(rows) == len(names) and "\x1b" not in data and "\x07" not in data and "\u2028" not in data
        assert all(len(row.split("\t")) == 3 for row in rows)  # label, score, name: a tab in a name is escaped
    shown = sorted(row.split("\t")[2] for row in (tmp_path / "out.tsv").read_text().splitlines())
    assert shown == sorted(["a\\nb.txt", "c\\x1b[31mRED.txt", "e\\x1b]0;pwned\\x07.txt", "tab\\there.txt",
                            "line\\u2028sep.txt", "ok.txt"])  # fmt: skip
    as_json = cli("classify", "-m", str(tiny_model), "-f", str(folder), "--json")
    lines = as_json.stdout.splitlines()  # U+2028 is escaped in JSON too, so even splitlines() finds 6 lines
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(names)  # the names exactly


def test_closed_streams_are_one_line_errors_not_a_silent_exit_0(tiny_model: Path) -> None:
    """Before: `info >&-` and `bench >&-` exited 0 with their output lost; `classify - <&-` exited 0 with no
    output at all."""
    model = f'-m "{tiny_model}"'
    python = f'"{sys.executable}" -m imdb_edge'
    for command, message in [
        (f'{python} info "{tiny_model}" >&-', "stdout is closed"),
        (f"{python} --version >&-", "stdout is closed"),
        (f"{python} classify --help >&-", "stdout is closed"),
        (f"{python} evaluate {model} --data /nonexistent >&-", "does not exist"),  # its own error comes first
        (f"{python} classify {model} - <&-", "stdin is closed"),
        (f"{python} classify {model} -f - <&-", "stdin is closed"),
    ]:
        done = shell(command)
        assert done.returncode == 2, (command, done.stderr)
        assert message in one_line_error(done.stderr), command


def test_an_interruption_says_how_to_go_on_for_where_the_results_went(tiny_model: Path, tmp_path: Path) -> None:
    """Before: output to stdout (no -o), interrupted, said "rerun with --resume", which needs -o; and an
    existing -o was emptied though the job had not written a line."""
    output = tmp_path / "out.tsv"
    output.write_text("precious\n")
    for args, expected in [
        (["-", "-o", str(output)], f"no result line was written; {output} is unchanged"),
        (["-"], "complete result line(s) were written to stdout (--resume needs an --output file)"),
    ]:
        process = subprocess.Popen(
            [sys.executable, "-m", "imdb_edge", "classify", "-m", str(tiny_model), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdin is not None and process.stdout is not None
            if len(args) == 1:  # a line first, so that stdout has a result
                process.stdin.write(f"{GOOD}\n")
                process.stdin.flush()
                assert process.stdout.readline().startswith("positive\t")
            else:
                time.sleep(1.5)  # waiting for input, the output open and locked
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode == 130 and expected in stderr and "rerun with --resume" not in stderr, stderr
    assert output.read_text() == "precious\n"


def test_a_full_disk_before_the_first_line_leaves_the_old_output_whole(tiny_model: Path, tmp_path: Path) -> None:
    """Before: on a full disk the existing -o was replaced by an empty file though not one line could be
    written."""
    source = tmp_path / "in.txt"
    source.write_text("\n".join([GOOD, BAD] * 2000) + "\n")
    output = tmp_path / "out.tsv"
    output.write_bytes(b"precious\n" * 10)

    done = classify_on_a_full_disk(tiny_model, source, output, 2000)  # the first chunk of results cannot be written
    assert done.returncode == 2
    assert "nothing was written and" in one_line_error(done.stderr) and "is unchanged" in done.stderr
    assert output.read_bytes() == b"precious\n" * 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.tsv"]  # no new file, no resume record


@pytest.mark.parametrize("old", [b"", b"precious\n"])
def test_an_output_through_a_symlink_is_written_to_its_target(tiny_model: Path, tmp_path: Path, old: bytes) -> None:
    """Before: through a link, an empty target was written through it, but a target with content kept it and
    the link itself became a regular file. Now always the target, whatever it holds; the link stays a link."""
    source = tmp_path / "in.txt"
    source.write_text(f"{GOOD}\n{BAD}\n")
    target, link = tmp_path / "target.tsv", tmp_path / "link.tsv"
    target.write_bytes(old)
    link.symlink_to(target)
    assert cli("classify", "-m", str(tiny_model), "-f", str(source), "-o", str(link)).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert [line.split("\t")[0] for line in target.read_text().splitlines()] == ["positive", "negative"]
    assert not list(tmp_path.glob(".*"))  # no resume record (complete) and no leftover new file


def test_a_hard_linked_output_is_replaced_and_its_other_names_keep_the_old_contents(
    tiny_model: Path, tmp_path: Path
) -> None:
    """One behaviour whatever the old file held (before: an empty file was written in place, through every
    name, and one with content was replaced): a new file takes the name, as `sed -i` or an editor's save."""
    source = tmp_path / "in.txt"
    source.write_text(f"{GOOD}\n")
    for old in (b"", b"precious\n"):
        output, other = tmp_path / "out.tsv", tmp_path / "other.tsv"
        output.write_bytes(old)
        os.link(output, other)
        assert cli("classify", "-m", str(tiny_model), "-f", str(source), "-o", str(output)).returncode == 0
        assert output.read_text().startswith("positive\t") and other.read_bytes() == old
        output.unlink()
        other.unlink()


def test_a_json_array_after_much_leading_whitespace_is_an_array(tiny_model: Path, tmp_path: Path) -> None:
    """Before: a valid .json array after more than 4 KB of whitespace was read as JSON Lines (every line an
    error)."""
    source = tmp_path / "reviews.json"
    source.write_text(" \n\t" * 5000 + json.dumps([GOOD, {"id": "b", "text": BAD}]))
    done = cli("classify", "-m", str(tiny_model), "-f", str(source))
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == ["positive", "negative"]


def test_the_array_scanner_reads_a_long_string_at_the_speed_of_reading_it(tmp_path: Path) -> None:
    """Before: strings were scanned a character at a time by a regular expression, about 7 MB/s (a 5 GB
    sparse array of one string was still being checked after 300 s; as JSON Lines, 6.3 s). Compared with
    reading the same bytes in the same windows, so the check does not depend on this machine's speed."""
    source = tmp_path / "long.json"
    with source.open("wb") as handle:
        handle.write(b'["')
        handle.write(b'great film \\" ' * ((64 << 20) // 14))
        handle.write(b'"]')
    started = time.perf_counter()
    with source.open("rb") as handle:
        while handle.read(json_array.READ_BYTES):
            pass
    reading = time.perf_counter() - started
    started = time.perf_counter()
    with source.open("rb") as handle:
        assert json_array.check_array(handle, cap=1 << 20) == 1  # type: ignore[arg-type]
    scanning = time.perf_counter() - started
    assert scanning < 40 * reading + 1.0, f"{scanning:.2f} s to scan, {reading:.3f} s to read"


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(alphabet='\\"ab\n', max_size=60), max_size=6),
    window=st.integers(1, 7),
)
def test_strings_of_backslashes_and_quotes_are_cut_where_json_loads_cuts_them(texts: list[str], window: int) -> None:
    """Strings end at a quote after an even run of backslashes, whichever window a run or its quote falls in."""
    data = json.dumps(texts).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_array, "READ_BYTES", window)
        found = [json.loads(item.data) for item in json_array.iter_items(io.BytesIO(data), cap=1 << 20)]  # type: ignore[arg-type]
    assert found == texts


@pytest.fixture(scope="module")
def slow_on_a_word(model_bytes: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Passes every load check and scores like the small model, but a run of reviews holding a GOOD word
    multiplies a 2048 x 2048 matrix by itself 200 times (tests/modelfile/hostile_graphs.py)."""
    from tests.modelfile.hostile_graphs import slow_on_good_words

    path = tmp_path_factory.mktemp("hostile") / "slow-on-a-word.onnx"
    path.write_bytes(slow_on_good_words(model_bytes))
    return path


@pytest.fixture(scope="module")
def long_lines_with_a_trigger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6,000 lines of 1 KB (a chunk is 1 MB, far more than a pipe holds), one in 64 with a GOOD word."""
    words = ["the", "movie", "was", "a", "film", "of", "this", "time", "it"]
    lines = [
        " ".join(words[(i * 7 + j) % 9] for j in range(250)) + (" great" if i % 64 == 63 else "") for i in range(6000)
    ]
    path = tmp_path_factory.mktemp("input") / "long.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_while_every_worker_is_in_a_slow_run_exits_130_within_2_seconds(
    slow_on_a_word: Path, long_lines_with_a_trigger: Path, tmp_path: Path, signum: int
) -> None:
    """Before: hung (15 s and more): the parent sat in write() of a chunk to a worker busy in onnxruntime, outside
    any interruptible region, and the write resumed after the handler set its flag."""
    out = tmp_path / "out.tsv"
    command = ["classify", "-m", str(slow_on_a_word), "-f", str(long_lines_with_a_trigger), "-o", str(out), "-q"]
    process = subprocess.Popen(
        [sys.executable, "-m", "imdb_edge", *command, "--workers", "2"],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: len(workers_of(process.pid)) == 2)
        time.sleep(1.0)  # both workers deep in a slow run, the parent blocked sending the next chunk
    finally:
        took, stderr = signal_group_and_wait(process, signum)
    assert took < 2.0 and process.returncode == 130, (f"{took:.2f} s", stderr)
    assert "Traceback" not in stderr and signal.Signals(signum).name in stderr
    data = out.read_bytes()
    assert not data or data.endswith(b"\n")


def test_a_stop_signal_while_long_texts_are_vectorized_here_exits_130_within_2_seconds(tmp_path: Path) -> None:
    """Before: 5.0 s (and 10 to 12 s on a busy machine): the vectorizer took 512 texts a call, and 512 texts of
    a million characters are seconds in native code, where no signal handler runs. Now a call takes at most
    PIECE_CHARS characters (or one text): tens of milliseconds."""
    million = tmp_path / "m.txt"
    million.write_text(" ".join(["1 2"] * 250_000))
    folder = tmp_path / "F"
    folder.mkdir()
    for i in range(300):
        (folder / f"{i}.txt").symlink_to(million)
    out = tmp_path / "out.tsv"
    process = subprocess.Popen(
        [sys.executable, "-m", "imdb_edge", "classify", "-f", str(folder), "--workers", "1", "-o", str(out), "-q"],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: out.exists())  # started: the model is loaded, the output open, the texts being read
        time.sleep(1.5)
    finally:
        took, stderr = signal_group_and_wait(process, signal.SIGTERM)
    assert took < 2.0 and process.returncode == 130, (f"{took:.2f} s", stderr)
    assert len(out.read_bytes().splitlines()) < 300


def test_a_job_of_long_records_stays_in_bounded_memory(tmp_path: Path) -> None:
    """Before: the cap was per record, and 1,024 records made a chunk: 6,144 records of 1 MB peaked at 6.9 GB
    in the parent (11.9 GB in all), and under a 3 GB limit died with a MemoryError traceback after emptying
    -o. Here 1,200 records of 200 KB (240 MB): before, a 200 MB chunk in the parent and in a worker."""
    text = tmp_path / "200k.txt"
    text.write_text(" ".join(["good"] * 40_000))
    folder = tmp_path / "L"
    folder.mkdir()
    for i in range(1200):
        (folder / f"{i}.txt").symlink_to(text)
    out = tmp_path / "out.tsv"
    out.write_text("precious\n")
    process = subprocess.Popen(
        [sys.executable, "-c", PEAK_SCRIPT, "classify", "-f", str(folder), "-o", str(out), "-q", "--workers", "2"],
        stderr=subprocess.PIPE,
        text=True,
    )
    worker_peak = 0
    while process.poll() is None:  # the workers' resident memory, sampled
        for worker in workers_of(process.pid):
            try:
                status = Path(f"/proc/{worker}/status").read_text()
                worker_peak = max(worker_peak, int(status.split("VmRSS:")[1].split()[0]) // 1024)
            except (FileNotFoundError, IndexError):
                pass
        time.sleep(0.05)
    stderr = process.stderr.read()  # type: ignore[union-attr]
    found = [line for line in stderr.splitlines() if line.startswith("PEAK ")]
    assert found, stderr
    _, code, peak_kb = found[0].split()
    assert code in ("0", "None") and "Traceback" not in stderr, stderr
    assert int(peak_kb) // 1024 < 300 and worker_peak < 300, (int(peak_kb) // 1024, worker_peak)
    assert len(out.read_text().splitlines()) == 1200


def test_a_model_slow_on_one_word_fails_the_job_in_seconds(
    slow_on_a_word: Path, long_lines_with_a_trigger: Path, tmp_path: Path
) -> None:
    """Before: every run after the first was unlimited: a job on a model slow on a trigger word wrote no line in
    a minute (and `classify -f` of 5,000 reviews on a model cubic in the width none in 40 s)."""
    done = cli("classify", "-m", str(slow_on_a_word), "-f", str(long_lines_with_a_trigger), "-o", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "the model fails on this input (it ran longer than" in one_line_error(done.stderr)


@pytest.mark.parametrize("how", [signal.SIGHUP, signal.SIGKILL])
def test_workers_end_at_once_when_their_parent_dies_in_the_middle_of_a_run(
    slow_on_a_word: Path, long_lines_with_a_trigger: Path, tmp_path: Path, how: int
) -> None:
    """Before: after SIGHUP to the parent, a worker in a long run went on at 60% CPU for 20 s and more."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imdb_edge",
            "classify",
            "-m",
            str(slow_on_a_word),
            "-f",
            str(long_lines_with_a_trigger),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(workers_of(process.pid)) >= 2)
        workers = workers_of(process.pid)
        time.sleep(1.0)  # inside a slow run, whose limit (5 s and more for a first run) is far off
        process.send_signal(how)
        process.wait(timeout=30)
    finally:
        process.kill()
    died = time.monotonic()

    def alive() -> list[int]:
        running = []
        for worker in workers:
            try:
                if Path(f"/proc/{worker}/stat").read_text().split(")")[-1].split()[0] != "Z":
                    running.append(worker)
            except FileNotFoundError:
                pass
        return running

    while alive() and time.monotonic() - died < 10:
        time.sleep(0.05)
    left = alive()
    for worker in left:
        os.kill(worker, signal.SIGKILL)
    assert not left and time.monotonic() - died < 3.0


def test_a_run_stuck_in_one_step_still_ends_on_a_stop_signal_or_its_limit(slow_on_a_word: Path) -> None:
    """onnxruntime acts on a cancel or a time limit between steps only, and four GOOD words make one MatMul of
    8192 x 8192 matrices: a step of half a minute or more. Before: SIGTERM waited for the step (three words:
    11.9 s), and the limit too. Now the run's watchdog ends the process a second after the run was told to
    stop: exit 130 on a signal, exit 2 with one line at the limit."""
    command = [sys.executable, "-m", "imdb_edge", "classify", "-m", str(slow_on_a_word), *["a great film"] * 4]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.0)  # inside the step
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    took = time.monotonic() - sent
    assert took < 2.0 and process.returncode == 130 and "SIGTERM received" in stderr, (f"{took:.2f} s", stderr)
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)  # the first run's limit: 5 s
    assert done.returncode == 2
    assert "ran longer than" in one_line_error(done.stderr) and "cannot be cut short" in done.stderr
