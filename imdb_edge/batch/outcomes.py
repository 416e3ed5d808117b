"""One result per record, and the one way it is written as a line (classify and Spark's text output)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.batch.records import Record
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.explain import Explanation, describe_pushes

SCORE_DECIMALS = 6
ERROR_LABEL = "error"
UNKNOWN_LABEL = "unknown"
NO_KNOWN_TERM = "the model knows none of its terms"


def plain_name(key: str | int) -> str:
    """A record's key as the last column of a plain line: characters that are not printable (a newline, a tab,
    an ESC starting a terminal sequence, a line or paragraph separator, a bidirectional override) are written
    as Python escapes (\\n, \\t, \\x1b, \\u2028), so a file name can neither split its line, add a column,
    nor drive a terminal. --json gives the name exactly."""
    text = str(key)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def text_line(label: str | None, score: float | None, error: str | None, unknown: str | None = None) -> str:
    """`label<TAB>score` (6 decimals), `error<TAB>reason`, or `unknown<TAB>reason`: the plain output line."""
    if error is not None:
        return f"{ERROR_LABEL}\t{error}"
    if unknown is not None:
        return f"{UNKNOWN_LABEL}\t{unknown}"
    return f"{label}\t{score:.{SCORE_DECIMALS}f}"


@dataclass(frozen=True)
class Rules:
    """What a result line says beyond label and score: which texts count as unknown, and explanations."""

    min_known: int = 1
    """A text of fewer known terms than this gets an `unknown` line instead of the bias's label."""
    explain: int = 0
    """Terms per label in each line's explanation (0: none)."""


def unknown_reason(known: int, min_known: int) -> str | None:
    if known >= min_known:
        return None
    return NO_KNOWN_TERM if known == 0 else f"the model knows {known} of its terms, fewer than {min_known}"


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
    known_terms: int | None = None
    unknown: str | None = None
    """Why the text gets no label although it was scored: the model knows too few of its terms."""
    explanation: Explanation | None = None

    def as_json(self, labels: Sequence[str]) -> str:
        obj: dict[str, Any] = {"id": self.key}
        if self.error is not None:
            obj["error"] = self.error
        elif self.unknown is not None:
            obj.update(unknown=self.unknown, known_terms=self.known_terms)
        else:
            score = self.score or 0.0
            probabilities = self.probabilities or (1.0 - score, score)
            obj.update(
                label=self.label,
                score=round(score, SCORE_DECIMALS),
                scores={name: round(p, SCORE_DECIMALS) for name, p in zip(labels, probabilities, strict=True)},
                known_terms=self.known_terms,
            )
            if self.explanation is not None:
                obj["explanation"] = [push.to_dict() for push in self.explanation.terms]
                bias = self.explanation.bias_push()
                if bias is not None:
                    obj["bias"] = {"label": bias.label, "contribution": round(bias.contribution, 6)}
        if self.note:
            obj["note"] = self.note
        return json.dumps(obj, ensure_ascii=False)

    def as_text(self, keyed: bool = False) -> str:
        """The plain line; an explanation follows the score; `keyed` adds the record's key (a folder's file
        name) as a last column."""
        line = text_line(self.label, self.score, self.error, self.unknown)
        if self.explanation is not None and self.error is None and self.unknown is None:
            line += f"\t{describe_pushes(self.explanation)}"
        return f"{line}\t{plain_name(self.key)}" if keyed else line


def usable_texts(records: list[Record]) -> list[str]:
    return [r.text for r in records if r.text is not None]


def outcomes_for(
    classifier: Classifier,
    records: list[Record],
    scores: np.ndarray,
    known: np.ndarray | None = None,
    rules: Rules = Rules(min_known=0),
) -> list[Outcome]:
    """Pair each record with its score and known terms (usable ones, in order) or its error."""
    usable = iter(scores.tolist())
    counts = iter(known.tolist()) if known is not None else iter(lambda: None, 0)
    outcomes = []
    binary = classifier.threshold is not None
    for record in records:
        if record.text is None:
            outcomes.append(Outcome(record.key, error=record.error, note=record.note, position=record.position))
            continue
        value, count = next(usable), next(counts)
        if binary:
            outcome = Outcome(record.key, classifier.label_of(value), value, note=record.note, position=record.position)
        else:
            best = max(range(len(value)), key=value.__getitem__)
            outcome = Outcome(
                record.key, classifier.labels[best], value[best], note=record.note, position=record.position,
                probabilities=tuple(value),
            )  # fmt: skip
        outcome.known_terms = count
        if count is not None:
            outcome.unknown = unknown_reason(count, rules.min_known)
        if rules.explain and outcome.unknown is None:
            outcome.explanation = classifier.explain(record.text, rules.explain)
        outcomes.append(outcome)
    return outcomes


def classify_chunk(classifier: Classifier, records: list[Record], rules: Rules = Rules(min_known=0)) -> list[Outcome]:
    """One vectorized pass over the usable texts of a chunk; unusable ones keep their error."""
    scores, known = classifier.scores_and_known(usable_texts(records))
    return outcomes_for(classifier, records, scores, known, rules)


def encode_lines(outcomes: list[Outcome], as_json: bool, labels: Sequence[str], keyed: bool = False) -> bytes:
    """The chunk's output lines as UTF-8 (keys and errors are checked to be valid Unicode); `keyed` plain
    lines end with the record's key; JSON lines carry every label's probability."""
    lines = [o.as_json(labels) for o in outcomes] if as_json else [o.as_text(keyed) for o in outcomes]
    text = "\n".join(lines) + "\n"
    if as_json:  # JSON keeps these raw inside strings, but splitlines() and older JavaScript end a line there
        for separator in _LINE_SEPARATORS:
            if separator in text:
                text = text.replace(separator, f"\\u{ord(separator):04x}")
    return text.encode("utf-8", "backslashreplace")


_LINE_SEPARATORS = ("\x85", "\u2028", "\u2029")
