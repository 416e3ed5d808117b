"""One result per record, and the one way it is written as a line (classify and Spark's text output)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.batch.records import Record
from imdb_edge.runtime.classifier import Classifier

SCORE_DECIMALS = 6
ERROR_LABEL = "error"


def text_line(label: str | None, score: float | None, error: str | None) -> str:
    """`label<TAB>score` (6 decimals), or `error<TAB>reason`: the plain output line."""
    if error is not None:
        return f"{ERROR_LABEL}\t{error}"
    return f"{label}\t{score:.{SCORE_DECIMALS}f}"


@dataclass(slots=True)  # not frozen: built once per review, and frozen dataclasses are slow to build
class Outcome:
    """The result for one record: a label and score, or the reason there is none."""

    key: str | int
    label: str | None = None
    score: float | None = None
    error: str | None = None
    note: str | None = None
    position: int = 0
    """The record's line, item or file number in its input (from 1)."""

    def as_json(self) -> str:
        obj: dict[str, Any] = {"id": self.key}
        if self.error is None:
            obj.update(label=self.label, score=round(self.score or 0.0, SCORE_DECIMALS))
        else:
            obj["error"] = self.error
        if self.note:
            obj["note"] = self.note
        return json.dumps(obj, ensure_ascii=False)

    def as_text(self, keyed: bool = False) -> str:
        """The plain line; `keyed` adds the record's key (a folder's file name) as a last column."""
        line = text_line(self.label, self.score, self.error)
        return f"{line}\t{self.key}" if keyed else line


def usable_texts(records: list[Record]) -> list[str]:
    return [r.text for r in records if r.text is not None]


def outcomes_for(classifier: Classifier, records: list[Record], scores: np.ndarray) -> list[Outcome]:
    """Pair each record with its score (usable ones, in order) or its error."""
    usable = iter(scores.tolist())
    label_of = classifier.label_of
    outcomes = []
    for record in records:
        if record.text is None:
            outcomes.append(Outcome(record.key, error=record.error, note=record.note, position=record.position))
        else:
            score = next(usable)
            outcomes.append(Outcome(record.key, label_of(score), score, note=record.note, position=record.position))
    return outcomes


def classify_chunk(classifier: Classifier, records: list[Record]) -> list[Outcome]:
    """One vectorized pass over the usable texts of a chunk; unusable ones keep their error."""
    texts = usable_texts(records)
    return outcomes_for(classifier, records, classifier.scores(texts))


def encode_lines(outcomes: list[Outcome], as_json: bool, keyed: bool = False) -> bytes:
    """The chunk's output lines as UTF-8 (keys and errors are checked to be valid Unicode); `keyed` plain
    lines end with the record's key."""
    lines = [o.as_json() for o in outcomes] if as_json else [o.as_text(keyed) for o in outcomes]
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
