"""One result per record, and the one way it is written as a line (classify and Spark's text output)."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    probabilities: tuple[float, ...] | None = None
    """Every label's probability (a model of more than two labels; for two, 1 - score and score)."""

    def as_json(self, labels: Sequence[str]) -> str:
        obj: dict[str, Any] = {"id": self.key}
        if self.error is None:
            score = self.score or 0.0
            probabilities = self.probabilities or (1.0 - score, score)
            obj.update(
                label=self.label,
                score=round(score, SCORE_DECIMALS),
                scores={name: round(p, SCORE_DECIMALS) for name, p in zip(labels, probabilities, strict=True)},
            )
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
    outcomes = []
    binary = classifier.threshold is not None
    for record in records:
        if record.text is None:
            outcomes.append(Outcome(record.key, error=record.error, note=record.note, position=record.position))
        elif binary:
            score = next(usable)
            label = classifier.label_of(score)
            outcomes.append(Outcome(record.key, label, score, note=record.note, position=record.position))
        else:
            row = next(usable)
            best = max(range(len(row)), key=row.__getitem__)
            outcomes.append(
                Outcome(
                    record.key,
                    classifier.labels[best],
                    row[best],
                    note=record.note,
                    position=record.position,
                    probabilities=tuple(row),
                )
            )
    return outcomes


def classify_chunk(classifier: Classifier, records: list[Record]) -> list[Outcome]:
    """One vectorized pass over the usable texts of a chunk; unusable ones keep their error."""
    texts = usable_texts(records)
    return outcomes_for(classifier, records, classifier.scores(texts))


def encode_lines(outcomes: list[Outcome], as_json: bool, labels: Sequence[str], keyed: bool = False) -> bytes:
    """The chunk's output lines as UTF-8 (keys and errors are checked to be valid Unicode); `keyed` plain
    lines end with the record's key; JSON lines carry every label's probability."""
    lines = [o.as_json(labels) for o in outcomes] if as_json else [o.as_text(keyed) for o in outcomes]
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
