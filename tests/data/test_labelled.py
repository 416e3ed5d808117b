"""A user's labelled texts in every form, and every kind of bad row: counted, named by line, never fatal."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from imdb_edge.data.labelled import natural_order, read_labelled
from imdb_edge.data.sources import DataSpec, load_training_data
from imdb_edge.errors import ImdbEdgeError
from tests.imdb_fixture import ticket_rows

ROWS = ticket_rows(60)


def write_csv(path: Path, rows: list[tuple[str, str]], delimiter: str = ",", header=("text", "label")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows), encoding="utf-8")
    return path


def write_folder(path: Path, rows: list[tuple[str, str]]) -> Path:
    for number, (text, label) in enumerate(rows):
        (path / label).mkdir(parents=True, exist_ok=True)
        (path / label / f"{number}.txt").write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("form", ["csv", "tsv", "jsonl", "folder"])
def test_every_form_reads_the_same_rows(tmp_path: Path, form: str) -> None:
    writers = {
        "csv": lambda: write_csv(tmp_path / "t.csv", ROWS),
        "tsv": lambda: write_csv(tmp_path / "t.tsv", ROWS, "\t"),
        "jsonl": lambda: write_jsonl(tmp_path / "t.jsonl", ROWS),
        "folder": lambda: write_folder(tmp_path / "tickets", ROWS),
    }
    rows = read_labelled(writers[form]())
    assert rows.bad.count == 0
    got = sorted(zip(rows.texts, rows.labels, strict=True))
    assert got == sorted(ROWS)


def test_bad_rows_are_counted_and_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        writer.writerow(["1", "crash on start", "bug"])
        writer.writerow(["2", "", "bug"])  # line 3: empty text
        writer.writerow(["3", "refund please", ""])  # line 4: empty label
        writer.writerow(["4", "too many", "fields", "here"])  # line 5: ragged
        writer.writerow(["5", "multi\nline\ntext is fine", "praise"])  # lines 6-8: one row
        writer.writerow(["6", "   ", "bug"])  # line 9: only whitespace
    with path.open("ab") as handle:
        handle.write(b"7,bad \xff bytes,bug\n")  # line 10: not UTF-8
        handle.write(b"8,short\n")  # line 11: ragged
    rows = read_labelled(path)
    assert rows.texts == ["crash on start", "multi\nline\ntext is fine"]
    assert rows.bad.count == 6
    assert rows.bad.examples == [
        "t.csv line 3: empty text",
        "t.csv line 4: empty label",
        "t.csv line 5: 4 fields where the header has 3",
        "t.csv line 9: empty text",
        "t.csv line 10: not valid UTF-8",
        "t.csv line 11: 2 fields where the header has 3",
    ]


def test_bad_json_lines_and_folders(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b'{"text": "crash", "label": "bug"}\n'
        b"not json\n"
        b'{"text": 5, "label": "bug"}\n'
        b'{"text": "fine", "label": true}\n'
        b'["a list"]\n'
        b'{"text": "ok", "label": 3}\n'  # a number is a label too
        b'{"text": "bad \xff", "label": "bug"}\n'
    )
    rows = read_labelled(path)
    assert list(zip(rows.texts, rows.labels, strict=True)) == [("crash", "bug"), ("ok", "3")]
    assert [e.split(": ", 1)[0] for e in rows.bad.examples] == [f"t.jsonl line {n}" for n in (2, 3, 4, 5, 7)]
    folder = write_folder(tmp_path / "f", ROWS[:6])
    (folder / "bug" / "latin.txt").write_bytes(b"caf\xe9")
    assert read_labelled(folder).bad.examples == ["bug/latin.txt: not valid UTF-8"]


def test_a_missing_column_says_which_and_how_to_name_it(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ROWS, header=("review", "stars"))
    with pytest.raises(
        ImdbEdgeError, match=r"no column 'text' \(its header: review, stars\): name yours with --text-column"
    ):
        read_labelled(path)
    assert len(read_labelled(path, "review", "stars").texts) == len(ROWS)


def test_a_dataset_holds_out_test_rows_and_reports_labels(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ROWS)
    dataset = load_training_data(DataSpec(str(path), test_size=0.25))
    assert dataset.labels == ("billing", "bug", "praise")
    assert len(dataset.train) == 45 and len(dataset.test) == 15
    train_counts, test_counts = (dataset.summary["label_counts"][split] for split in ("train", "test"))
    assert sum(train_counts.values()) == 45 and sum(test_counts.values()) == 15
    assert {label: train_counts[label] + test_counts[label] for label in dataset.labels} == dict.fromkeys(
        dataset.labels, 20
    )
    again = load_training_data(DataSpec(str(path), test_size=0.25))
    assert again.fingerprint == dataset.fingerprint  # the same rows every time: export reads them again


def test_test_and_validation_files_and_unknown_labels(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", ROWS)
    test = write_csv(tmp_path / "test.csv", [*ticket_rows(9, seed=1), ("what is this", "other")])
    validation = write_jsonl(tmp_path / "val.jsonl", ticket_rows(6, seed=2))
    dataset = load_training_data(DataSpec(str(train), validation=str(validation), test=str(test)))
    assert len(dataset.test) == 9 and len(dataset.train) == 66
    assert dataset.train.validation.tolist() == list(range(60, 66))
    assert dataset.summary["bad_rows"]["examples"] == ["test.csv row 10: label 'other' is not in the training rows"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("only", "one")] * 10, "at least two labels"),
        ([("", "a"), ("", "b")], "at least two labels"),
    ],
)
def test_what_cannot_train_is_one_line(tmp_path: Path, rows: list, message: str) -> None:
    with pytest.raises(ImdbEdgeError, match=message):
        load_training_data(DataSpec(str(write_csv(tmp_path / "t.csv", rows))))


def test_labels_keep_a_natural_order() -> None:
    assert natural_order(["9-10", "1-2", "10", "3-4", "b", "a"]) == ["1-2", "3-4", "9-10", "10", "a", "b"]
