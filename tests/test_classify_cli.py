"""`imdb-edge classify` and `info`: outputs, bad input, batches, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from model_factory import build_model_bytes
from typer.testing import CliRunner

from imdb_edge.cli import app

POSITIVE = "An absolute masterpiece, I loved every minute."
NEGATIVE = "This movie was a waste of time, boring and awful."


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    path.write_bytes(build_model_bytes())
    return path


def run(*args: str, input: str | bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=input)


def test_shipped_model_classifies_clear_reviews() -> None:
    result = run("classify", POSITIVE, "This movie was a waste of time")
    assert result.exit_code == 0, result.output
    labels = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert labels == ["positive", "negative"]


def test_json_output_has_id_label_and_score(tiny_model: Path) -> None:
    result = run("classify", "--model", str(tiny_model), "--json", POSITIVE, NEGATIVE)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [1, 2]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert rows[0]["score"] > 0.5 > rows[1]["score"]


def test_threshold_moves_the_decision(tiny_model: Path) -> None:
    result = run("classify", "--model", str(tiny_model), "--json", "--threshold", "0.999", POSITIVE)
    row = json.loads(result.stdout)
    assert row["score"] < 0.999 and row["label"] == "negative"
    bad = run("classify", "--model", str(tiny_model), "--threshold", "2", POSITIVE)
    assert bad.exit_code == 2 and "threshold must be in (0, 1)" in bad.output


@pytest.mark.parametrize(("text", "message"), [("", "empty text"), ("   \t ", "text is only whitespace")])
def test_empty_text_is_an_error_line(tiny_model: Path, text: str, message: str) -> None:
    result = run("classify", "--model", str(tiny_model), text)
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
    result = run("classify", "--model", str(tiny_model), "--file", str(source), "--workers", "1")
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
    result = run("classify", "--model", str(tiny_model), "--file", str(source), "--json", "--workers", "1")
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
    result = run("classify", "--model", str(tiny_model), "--file", str(folder), "--json")
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["a.txt", "b.txt"]
    piped = run("classify", "--model", str(tiny_model), "-", input=f"{POSITIVE}\n{NEGATIVE}\n")
    assert piped.exit_code == 0 and [x.split("\t")[0] for x in piped.stdout.splitlines()] == ["positive", "negative"]


def test_multiprocess_batch_keeps_input_order(tiny_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "many.txt"
    texts = [POSITIVE if i % 3 else NEGATIVE for i in range(5000)]
    source.write_text("\n".join(texts) + "\n")
    result = run("classify", "--model", str(tiny_model), "--file", str(source), "--workers", "2")
    assert result.exit_code == 0, result.output
    labels = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert labels == ["positive" if i % 3 else "negative" for i in range(5000)]


def test_resume_continues_after_complete_lines(tiny_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join([POSITIVE, NEGATIVE, POSITIVE, NEGATIVE]) + "\n")
    out = tmp_path / "out.tsv"
    out.write_text("positive\t0.9\nnegative\t0.1\nposi")  # two complete lines and a cut one
    result = run("classify", "--model", str(tiny_model), "--file", str(source), "--output", str(out), "--resume")
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["positive", "negative", "positive", "negative"]
    assert "resumed after 2" in result.stderr


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
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_corrupt_model_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(build_model_bytes()[:-300])
    result = run("classify", "--model", str(bad), POSITIVE)
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.output


def test_info_shows_the_shipped_model() -> None:
    result = run("info")
    assert result.exit_code == 0, result.output
    assert "token_ids (int8)" in result.stdout and "200000 terms, n-grams up to 3" in result.stdout
    document = json.loads(run("info", "--json").stdout)
    assert document["vocabulary_size"] == 200000 and document["test_accuracy"] >= 0.92  # the --profile best model
    assert document["architecture"] == "bag" and document["bytes"] <= 4 * 1024 * 1024
    assert document["parity_fp32"]["passed"] is True


def test_model_without_vocabulary_is_a_one_line_error(tmp_path: Path) -> None:
    import onnx

    proto = onnx.load_model_from_string(build_model_bytes())
    kept = [e for e in proto.metadata_props if e.key != "imdb_edge.vectorizer"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    path = tmp_path / "novocab.onnx"
    path.write_bytes(proto.SerializeToString())
    result = run("classify", "--model", str(path), POSITIVE)
    assert result.exit_code == 2
    assert "the vocabulary) is missing" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_10_mb_review_is_classified_with_a_note(tiny_model: Path) -> None:
    result = run("classify", "--model", str(tiny_model), "wonderful " * 1_100_000)
    assert result.exit_code == 0
    assert result.stdout.startswith("positive\t")
    assert "input 1: 11000000 characters, classified the first 1000000" in result.stderr


def test_batch_progress_counts_and_keeps_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    from imdb_edge.runtime.batch import batch_progress

    with batch_progress(enabled=True) as progress:
        for _ in range(5):
            progress.advance()
        progress.warn("warning: line 3: empty text")
        assert progress._bar.tasks[0].completed == 5
    captured = capsys.readouterr()
    assert "warning: line 3: empty text" in captured.err and captured.out == ""
