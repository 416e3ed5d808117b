"""The follow-up attack of December 2026 (issue 28): each case as it was found, in real processes, pipes and
signals where that is how it happens.

docs/reliability.md's attack table names the test that holds each one.
"""

from __future__ import annotations

import io
import json
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
