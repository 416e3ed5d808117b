"""`imdb-edge classify` and `info`: outputs, bad input, batches, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.record_cases import JSONL_CASES, LINE_CASES, matches

POSITIVE = "An absolute masterpiece, I loved every minute."
NEGATIVE = "This movie was a waste of time, boring and awful."


def test_shipped_model_classifies_clear_reviews() -> None:
    result = run_cli("classify", POSITIVE, "This movie was a waste of time")
    assert result.exit_code == 0, result.output
    labels = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert labels == ["positive", "negative"]


def test_json_output_has_id_label_and_score(tiny_model: Path) -> None:
    result = run_cli("classify", "--model", str(tiny_model), "--json", POSITIVE, NEGATIVE)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [1, 2]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert rows[0]["score"] > 0.5 > rows[1]["score"]


def test_threshold_moves_the_decision(tiny_model: Path) -> None:
    result = run_cli("classify", "--model", str(tiny_model), "--json", "--threshold", "0.999", POSITIVE)
    row = json.loads(result.stdout)
    assert row["score"] < 0.999 and row["label"] == "negative"
    bad = run_cli("classify", "--model", str(tiny_model), "--threshold", "2", POSITIVE)
    assert bad.exit_code == 2 and "threshold must be in (0, 1)" in bad.output


@pytest.mark.parametrize(("text", "message"), [("", "empty text"), ("   \t ", "text is only whitespace")])
def test_empty_text_is_an_error_line(tiny_model: Path, text: str, message: str) -> None:
    result = run_cli("classify", "--model", str(tiny_model), text)
    assert result.exit_code == 1
    assert result.stdout == f"error\t{message}\n"
    assert f"input 1: {message}" in result.stderr and "Traceback" not in result.output


def test_bad_lines_in_a_file_do_not_stop_the_batch(tiny_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "reviews.txt"
    long_review = "great " * 2_000_000  # 12 MB
    source.write_bytes(
        "\n".join([POSITIVE, "", NEGATIVE]).encode()
        + b"\nbad \xff\xfe bytes\n"
        + long_review.encode()
        + b"\n"
        + NEGATIVE.encode()
        + b"\n"
    )
    result = run_cli("classify", "--model", str(tiny_model), "--file", str(source), "--workers", "1")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert [line.split("\t")[0] for line in lines] == ["positive", "error", "negative", "error", "positive", "negative"]
    assert "line 2: empty text" in result.stderr
    assert "line 4: not valid UTF-8" in result.stderr
    assert "line 5: 12000000 characters, classified the first 1000000" in result.stderr
    assert "2 of 6 input(s) could not be classified" in result.stderr


def test_jsonl_input_reports_malformed_lines(tiny_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "reviews.jsonl"
    source.write_text(
        json.dumps({"id": "a", "text": POSITIVE})
        + "\n{not json\n"
        + json.dumps({"txt": 1})
        + "\n"
        + json.dumps({"text": NEGATIVE})
        + "\n"
    )
    result = run_cli("classify", "--model", str(tiny_model), "--file", str(source), "--json", "--workers", "1")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", 2, 3, 4]
    assert rows[0]["label"] == "positive" and rows[3]["label"] == "negative"
    assert rows[1]["error"].startswith("malformed JSON") and "text" in rows[2]["error"]
    assert "line 2: malformed JSON" in result.stderr


def test_folder_of_txt_files_and_stdin(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "b.txt").write_text(NEGATIVE)
    (folder / "a.txt").write_text(POSITIVE)
    result = run_cli("classify", "--model", str(tiny_model), "--file", str(folder), "--json")
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["a.txt", "b.txt"]
    piped = run_cli("classify", "--model", str(tiny_model), "-", input=f"{POSITIVE}\n{NEGATIVE}\n")
    assert piped.exit_code == 0 and [x.split("\t")[0] for x in piped.stdout.splitlines()] == ["positive", "negative"]


def test_a_folder_like_aclimdb_test_reads_sub_folders_in_natural_order(tiny_model: Path, tmp_path: Path) -> None:
    """`--file aclImdb/test` said the folder had no .txt files, and `10000_7.txt` came before `9_1.txt`."""
    for name, text in {"neg/10_2.txt": NEGATIVE, "neg/9_1.txt": NEGATIVE, "pos/0_10.txt": POSITIVE}.items():
        (tmp_path / "test" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "test" / name).write_text(text)
    result = run_cli("classify", "--model", str(tiny_model), "--file", str(tmp_path / "test"))
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(row[0], row[-1]) for row in rows] == [
        ("negative", "neg/9_1.txt"),
        ("negative", "neg/10_2.txt"),
        ("positive", "pos/0_10.txt"),
    ]


def test_multiprocess_batch_keeps_input_order(tiny_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "many.txt"
    texts = [POSITIVE if i % 3 else NEGATIVE for i in range(5000)]
    source.write_text("\n".join(texts) + "\n")
    result = run_cli("classify", "--model", str(tiny_model), "--file", str(source), "--workers", "2")
    assert result.exit_code == 0, result.output
    labels = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert labels == ["positive" if i % 3 else "negative" for i in range(5000)]


def test_resume_cuts_lines_after_the_last_checkpoint_and_continues(tiny_model: Path, tmp_path: Path) -> None:
    """A crash after two recorded lines: later lines (and a cut one) are redone, nothing is doubled; a complete
    run leaves no resume record behind."""
    from imdb_edge.batch.records import DEFAULT_MAX_CHARS, open_source
    from imdb_edge.batch.result_file import JobIdentity, ResultFile, resume_record_path
    from imdb_edge.runtime.modelfile.reader import read_model_file

    source = tmp_path / "in.txt"
    source.write_text("\n".join([POSITIVE, NEGATIVE, POSITIVE, NEGATIVE]) + "\n")
    out = tmp_path / "out.tsv"
    args = ["classify", "--model", str(tiny_model), "--file", str(source), "--output", str(out)]
    assert run_cli(*args).exit_code == 0
    assert not resume_record_path(out).exists()  # finished: nothing to resume
    full = out.read_bytes()
    two = full[: full.index(b"\n", full.index(b"\n") + 1) + 1]
    # What a run killed after its checkpoint at two lines leaves: its record, and more lines than it records.
    identity = JobIdentity(
        input=open_source(str(source)).identity,
        model=read_model_file(tiny_model).sha256,
        as_json=False,
        threshold=0.5,
        max_chars=DEFAULT_MAX_CHARS,
        input_format="auto",
        min_known=1,  # the CLI's default
    )
    crashed = ResultFile.open(out, identity, resume=False)
    crashed.write_lines(two, 2)
    crashed.close(complete=False)
    out.write_bytes(full[: len(two) + 20] + b"posi")  # a line written after the checkpoint, and a cut one
    result = run_cli(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == full
    assert "resumed after 2" in result.stderr
    assert not resume_record_path(out).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classify", "--model", "/nonexistent.onnx", "x"], "does not exist"),
        (["classify", "--file", "/nonexistent.txt"], "does not exist"),
        (["classify"], "give review texts"),
        (["classify", "--resume", "x"], "--resume needs --output"),
        (["info", "/nonexistent.onnx"], "does not exist"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_corrupt_model_is_a_one_line_error(tiny_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(tiny_model.read_bytes()[:-300])
    result = run_cli("classify", "--model", str(bad), POSITIVE)
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.output


def test_info_shows_the_shipped_model() -> None:
    result = run_cli("info")
    assert result.exit_code == 0, result.output
    assert "token_ids (int8)" in result.stdout and "200000 terms, n-grams up to 4" in result.stdout
    document = json.loads(run_cli("info", "--json").stdout)
    assert document["vocabulary_size"] == 200000 and document["test_accuracy"] >= 0.92  # the --profile fourgrams model
    assert document["architecture"] == "bag" and document["bytes"] <= 4 * 1024 * 1024
    assert document["parity_fp32"]["passed"] is True


def test_model_without_vocabulary_is_a_one_line_error(model_bytes: bytes, tmp_path: Path) -> None:
    import onnx

    proto = onnx.load_model_from_string(model_bytes)
    kept = [e for e in proto.metadata_props if e.key != "imdb_edge.vectorizer"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    path = tmp_path / "novocab.onnx"
    path.write_bytes(proto.SerializeToString())
    result = run_cli("classify", "--model", str(path), POSITIVE)
    assert result.exit_code == 2
    assert "the vocabulary) is missing" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_10_mb_review_is_classified_with_a_note(tiny_model: Path) -> None:
    result = run_cli("classify", "--model", str(tiny_model), "wonderful " * 1_100_000)
    assert result.exit_code == 0
    assert result.stdout.startswith("positive\t")
    assert "input 1: 11000000 characters, classified the first 1000000" in result.stderr


def test_batch_progress_counts_and_keeps_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    from imdb_edge.cli.progress import LiveCount

    with LiveCount(enabled=True) as progress:
        for _ in range(5):
            progress.advance()
        progress.warn("warning: line 3: empty text")
        assert progress.count == progress.shown == 5
    captured = capsys.readouterr()
    assert "warning: line 3: empty text" in captured.err and captured.out == ""


def test_one_poisoned_json_line_does_not_stop_the_batch(tiny_model: Path, tmp_path: Path) -> None:
    """Deep nesting, a 5,000-digit number and a lone surrogate in an id: an error line each."""
    source = tmp_path / "poison.jsonl"
    lines = [
        json.dumps({"id": "ok-1", "text": POSITIVE}),
        '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"id": ' + "9" * 5000 + ', "text": "a fine film"}',
        '{"id": "bad\\ud800id", "text": "a fine film"}',
        json.dumps({"id": "ok-2", "text": NEGATIVE}),
    ]
    source.write_text("\n".join(lines) + "\n")
    output = tmp_path / "out.jsonl"
    args = ["classify", "--model", str(tiny_model), "--file", str(source), "--json", "--output", str(output)]
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    data = output.read_bytes()
    data.decode("utf-8")  # valid UTF-8, or this raises
    rows = [json.loads(line) for line in data.splitlines()]
    assert [r["id"] for r in rows] == ["ok-1", 2, 3, 4, "ok-2"]
    assert rows[0]["label"] == "positive" and rows[4]["label"] == "negative"
    assert "nested deeper" in rows[1]["error"] and "characters" in rows[2]["error"]
    assert "lone surrogate" in rows[3]["error"]
    again = run_cli(*args, "--resume")  # the run finished: there is nothing to resume, and nothing is touched
    assert again.exit_code == 2 and "nothing to resume" in again.stderr and output.read_bytes() == data


def test_non_utf8_file_names_become_error_lines(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "a.txt").write_text(POSITIVE)
    with open(os.path.join(os.fsencode(folder), b"b\xff.txt"), "w") as handle:
        handle.write(NEGATIVE)
    (folder / "c.txt").write_text(NEGATIVE)
    output = tmp_path / "out.jsonl"
    result = run_cli("classify", "--model", str(tiny_model), "--file", str(folder), "--json", "-o", str(output))
    assert result.exit_code == 1
    rows = [json.loads(line) for line in output.read_bytes().decode("utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a.txt", "b\\xff.txt", "c.txt"]
    assert rows[1]["error"] == "the file name is not valid UTF-8" and rows[2]["label"] == "negative"


def test_stdout_is_valid_utf8_whatever_the_ids(tiny_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "ids.jsonl"
    source.write_text('{"id": "x\\udcff", "text": "a fine film"}\n{"id": "é🎬", "text": "a fine film"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "imdb_edge", "classify", "-m", str(tiny_model), "-f", str(source), "--json"],
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"},
    )
    rows = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert rows[0]["id"] == 1 and "lone surrogate" in rows[0]["error"] and rows[1]["id"] == "é🎬"


def test_byte_order_mark_is_stripped(tiny_model: Path, tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.txt", tmp_path / "marked.txt"
    plain.write_text("good movie\n")
    marked.write_bytes(b"\xef\xbb\xbfgood movie\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"\xef\xbb\xbfgood movie")
    jsonl = tmp_path / "marked.jsonl"
    jsonl.write_bytes(b'\xef\xbb\xbf{"text": "good movie"}\n')
    outputs = {
        path.name: run_cli("classify", "--model", str(tiny_model), "--file", str(path), "--json").stdout
        for path in (plain, marked, folder, jsonl)
    }
    scores = {name: json.loads(out.splitlines()[0])["score"] for name, out in outputs.items()}
    assert len(set(scores.values())) == 1, scores


def test_json_files_hold_json_lines_or_an_array(tiny_model: Path, tmp_path: Path) -> None:
    lines_file, array_file = tmp_path / "lines.json", tmp_path / "array.json"
    lines_file.write_text(json.dumps({"id": "a", "text": POSITIVE}) + "\n" + json.dumps({"text": NEGATIVE}) + "\n")
    array_file.write_text(json.dumps([POSITIVE, {"id": "b", "text": NEGATIVE}, 42]))
    rows = [
        json.loads(x)
        for x in run_cli("classify", "-m", str(tiny_model), "-f", str(lines_file), "--json").stdout.splitlines()
    ]
    assert [(r["id"], r["label"]) for r in rows] == [("a", "positive"), (2, "negative")]
    result = run_cli("classify", "-m", str(tiny_model), "-f", str(array_file), "--json")
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [1, "b", 3]
    assert rows[0]["label"] == "positive" and rows[1]["label"] == "negative" and "text" in rows[2]["error"]
    assert "item 3:" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "jsonl", "a fine film"], "--format applies to --file"),
        (["--workers", "2", "a fine film"], "--workers applies to --file"),
        (["--max-chars", "0", "a fine film"], "Invalid value for '--max-chars'"),
    ],
)
def test_options_that_do_not_apply_are_refused(tiny_model: Path, args: list[str], message: str) -> None:
    result = run_cli("classify", "--model", str(tiny_model), *args)
    assert result.exit_code == 2 and message in result.stderr


def test_a_small_file_starts_no_worker_pool(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from imdb_edge.batch import engine as batch

    started: list[int] = []
    real_pool = batch.WorkerPool

    def counting_pool(*args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(1)
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(batch, "WorkerPool", counting_pool)
    small = tmp_path / "small.txt"
    small.write_text("\n".join([POSITIVE, NEGATIVE] * 2) + "\n")
    assert run_cli("classify", "-m", str(tiny_model), "-f", str(small), "--workers", "2").exit_code == 0
    assert started == []
    big = tmp_path / "big.txt"
    big.write_text("\n".join([POSITIVE, NEGATIVE] * 1500) + "\n")  # 3,000 lines: three chunks
    result = run_cli("classify", "-m", str(tiny_model), "-f", str(big), "--workers", "2")
    assert result.exit_code == 0 and started == [1]
    assert [x.split("\t")[0] for x in result.stdout.splitlines()] == ["positive", "negative"] * 1500


def test_a_byte_order_mark_before_a_text_argument_changes_nothing(tiny_model: Path) -> None:
    """It used to stick to the first word ("\ufeffgreat" is no term), moving the score."""
    plain = run_cli("classify", "--model", str(tiny_model), "--json", "great film, wonderful")
    marked = run_cli("classify", "--model", str(tiny_model), "--json", "\ufeffgreat film, wonderful")
    assert plain.exit_code == marked.exit_code == 0
    assert json.loads(marked.stdout)["score"] == json.loads(plain.stdout)["score"]


@pytest.mark.parametrize(("cases", "suffix"), [(JSONL_CASES, ".jsonl"), (LINE_CASES, ".txt")])
def test_the_shared_record_table(tiny_model: Path, tmp_path: Path, cases: list, suffix: str) -> None:
    """tests/record_cases.py: what each input line is (Spark runs the same table)."""
    source = tmp_path / f"cases{suffix}"
    source.write_bytes(b"".join(raw + b"\n" for raw, _ in cases))
    result = run_cli("classify", "--model", str(tiny_model), "--file", str(source), "--workers", "1")
    lines = result.stdout.splitlines()
    assert len(lines) == len(cases)
    for line, (raw, expected) in zip(lines, cases, strict=True):
        assert matches(line, expected), (raw, line)
