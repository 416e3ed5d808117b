"""A user's own labelled texts: CSV, TSV, JSON Lines, or a folder with one sub-folder per label.

Every row is a text and a label; labels are whatever strings the data has. A row that
cannot be one (a missing or empty text or label, a line that is not UTF-8, a CSV line
with the wrong number of fields, malformed JSON) is counted and named by its line, never
fatal: the caller stops only if what is left cannot train.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imdb_edge import safe_json
from imdb_edge.errors import ImdbEdgeError

FILE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
"""What a labelled file's extension says it holds."""
MAX_FIELD_BYTES = 64 << 20
"""The longest CSV field read (the csv module's default is 128 KB, shorter than some reviews)."""
EXAMPLES_KEPT = 20


@dataclass
class BadRows:
    """Rows that could not be used: how many, why, and the first few by name."""

    count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, where: str, reason: str) -> None:
        self.count += 1
        self.reasons[reason.split(" (")[0]] += 1
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append(f"{where}: {reason}")

    def merge(self, other: BadRows) -> None:
        self.count += other.count
        self.reasons.update(other.reasons)
        self.examples = (self.examples + other.examples)[:EXAMPLES_KEPT]

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "by_reason": dict(self.reasons), "examples": self.examples}


@dataclass
class LabelledRows:
    """The usable rows of one file, in file order, and the bad ones."""

    source: str
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    bad: BadRows = field(default_factory=BadRows)

    def add(self, text: Any, label: Any, where: str) -> None:
        """One row, or the reason it is bad."""
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            self.bad.add(where, "no label" if label is None else f"the label is {type(label).__name__}, not text")
            return
        label = str(label).strip()
        if not isinstance(text, str):
            self.bad.add(where, "no text" if text is None else f"the text is {type(text).__name__}, not text")
        elif not label:
            self.bad.add(where, "empty label")
        elif not text.strip():
            self.bad.add(where, "empty text")
        elif _has_surrogates(text) or _has_surrogates(label):
            self.bad.add(where, "not valid UTF-8")
        else:
            self.texts.append(text)
            self.labels.append(label)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def file_format(path: Path) -> str | None:
    """ "csv", "tsv", "jsonl" or "folder" for a labelled-data path, or None (not one of ours)."""
    if path.is_dir():
        return "folder"
    return FILE_FORMATS.get(path.suffix.lower())


def read_labelled(path: Path, text_column: str = "text", label_column: str = "label") -> LabelledRows:
    """Every row of a CSV/TSV (with a header), JSON Lines file, or label-per-sub-folder folder."""
    kind = file_format(path)
    if kind is None:
        raise ImdbEdgeError(
            f"{path}: not a file imdb-edge reads labelled texts from (.csv, .tsv, .jsonl, or a folder with one "
            "sub-folder per label)"
        )
    if not path.exists():
        raise ImdbEdgeError(f"{path} does not exist")
    if kind == "folder":
        return _read_folder(path)
    if kind == "jsonl":
        return _read_jsonl(path, text_column, label_column)
    return _read_csv(path, text_column, label_column, "\t" if kind == "tsv" else ",")


def _read_csv(path: Path, text_column: str, label_column: str, delimiter: str) -> LabelledRows:
    rows = LabelledRows(str(path))
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_BYTES))
    try:
        with path.open(newline="", encoding="utf-8", errors="surrogateescape") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = _header(reader, path, text_column, label_column)
            text_at, label_at = header.index(text_column), header.index(label_column)
            for start, row in _records(reader, path, rows.bad):
                where = f"{path.name} line {start}"
                if len(row) != len(header):
                    rows.bad.add(where, f"{len(row)} fields where the header has {len(header)}")
                    continue
                rows.add(row[text_at], row[label_at], where)
    except OSError as exc:
        raise ImdbEdgeError(f"cannot read {path}: {exc.strerror or exc}") from None
    return rows


def _header(reader: Any, path: Path, text_column: str, label_column: str) -> list[str]:
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader)]
    except StopIteration:
        raise ImdbEdgeError(f"{path} is empty: a CSV of labelled texts starts with a header line") from None
    except csv.Error as exc:
        raise ImdbEdgeError(f"{path}: its header line is not CSV ({exc})") from None
    for column, option in ((text_column, "--text-column"), (label_column, "--label-column")):
        if column not in header:
            raise ImdbEdgeError(
                f"{path} has no column {column!r} (its header: {', '.join(header)[:200]}): name yours with {option}"
            )
    return header


def _records(reader: Any, path: Path, bad: BadRows) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each CSV record; a record the csv module cannot read is a bad row."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            bad.add(f"{path.name} line {start}", f"not CSV ({exc})")
            continue
        if row:  # a blank line is no record
            yield start, row


def _read_jsonl(path: Path, text_field: str, label_field: str) -> LabelledRows:
    rows = LabelledRows(str(path))
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                where = f"{path.name} line {number}"
                if not raw.strip():
                    continue
                try:
                    obj = safe_json.loads(raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw)
                except safe_json.JsonRefused as exc:
                    rows.bad.add(where, "not valid UTF-8" if "UnicodeDecodeError" in str(exc) else f"{exc}")
                    continue
                if not isinstance(obj, dict):
                    rows.bad.add(where, "not a JSON object")
                    continue
                rows.add(obj.get(text_field), obj.get(label_field), where)
    except OSError as exc:
        raise ImdbEdgeError(f"cannot read {path}: {exc.strerror or exc}") from None
    return rows


_DIGITS = re.compile(r"(\d+)")


def natural_order(names: list[str]) -> list[str]:
    """Names sorted with their numbers by value ("2" before "10"): a stable order for labels."""
    return sorted(names, key=lambda n: [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in _DIGITS.split(n)])


def _read_folder(path: Path) -> LabelledRows:
    """One sub-folder per label, holding .txt files (sorted by name)."""
    rows = LabelledRows(str(path))
    folders = [entry.name for entry in os.scandir(path) if entry.is_dir() and not entry.name.startswith(".")]
    labels = natural_order(folders)
    if not labels:
        raise ImdbEdgeError(f"{path} has no sub-folders: put each label's .txt files in a sub-folder named for it")
    for label in labels:
        for name in natural_order([n for n in os.listdir(path / label) if n.endswith(".txt")]):
            where = f"{label}/{name}"
            try:
                raw = (path / label / name).read_bytes()
            except OSError as exc:
                rows.bad.add(where, f"cannot read ({exc.strerror})")
                continue
            try:
                text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
            except UnicodeDecodeError:
                rows.bad.add(where, "not valid UTF-8")
                continue
            rows.add(text, label, where)
    return rows


def describe_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{label} {count:,}" for label, count in counts.items())
