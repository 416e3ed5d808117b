"""The follow-up attack of December 2026 (issue 28): each case as it was found, in real processes, pipes and
signals where that is how it happens.

docs/reliability.md's attack table names the test that holds each one.
"""

from __future__ import annotations

import io
import json
import os
import resource
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
from tests.helpers import run_cli

GOOD, BAD = "a wonderful excellent film", "boring awful waste"


def cli(*args: str, **popen: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imdb_edge", *args], capture_output=True, text=True, timeout=300, **popen
    )  # type: ignore[call-overload]


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

    def limit_file_size() -> None:  # no file may grow past 2 KB: the first chunk of results cannot be written
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    done = subprocess.run(
        [sys.executable, "-m", "imdb_edge", "classify", "-m", str(tiny_model), "-f", str(source), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
    )
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
