"""What runs on the executors: bytes of review text in, label/score/error out.

Imports only pandas and the runtime (no pyspark), so it can be tested without a
session. Each Python worker keeps one Classifier per model checksum for its whole
life: Spark reuses Python workers across tasks, so the model is parsed, verified
and loaded once per worker, not once per batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from imdb_edge.batch.outcomes import Outcome, classify_chunk, text_line
from imdb_edge.batch.records import DEFAULT_MAX_CHARS, Decoding, Record, json_record, text_record
from imdb_edge.errors import ImdbEdgeError, first_line
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.modelfile.reader import parse_model_bytes

NULL_TEXT = "no text (null)"
_classifiers: dict[tuple[str, float | None], Classifier] = {}
loads = 0  # models this process has parsed and loaded: one per cache key, however many batches


def model_checksum(data: bytes) -> str:
    """The cache key and the transport check: sha256 of the whole model file."""
    return hashlib.sha256(data).hexdigest()


def classifier_for(fetch_bytes: Callable[[], bytes], checksum: str, threshold: float | None) -> Classifier:
    """This worker's Classifier for the model with `checksum`, loaded on first use only.

    `fetch_bytes` is called only on a cache miss (it reads the broadcast). The bytes
    must hash to `checksum`, and `parse_model_bytes` verifies the file's own graph
    and vocabulary checksums, so a model damaged on the way is refused here too.
    """
    global loads
    key = (checksum, threshold)
    classifier = _classifiers.get(key)
    if classifier is None:
        data = fetch_bytes()
        if model_checksum(data) != checksum:
            raise ImdbEdgeError("the model file reached this executor damaged (its sha256 differs from the driver's)")
        model_file = parse_model_bytes(data, where="model file (executor copy)")
        classifier = Classifier(model_file, threads=1, threshold=threshold)
        _classifiers[key] = classifier
        loads += 1
    return classifier


CELL_KINDS = ("text", "jsonl")
"""What a cell holds: a review's text, or a whole JSON line (whose `text_field` is the review)."""


def to_record(
    key: int, raw: Any, max_chars: int = DEFAULT_MAX_CHARS, kind: str = "text", text_field: str = "text"
) -> Record:
    """One cell (UTF-8 bytes, str or null) as a Record, by the rules `classify` applies to a line of the same
    kind (batch/records.py), so both give one answer for one input."""
    if raw is None or (isinstance(raw, float) and raw != raw):  # null arrives as None (or NaN)
        return Record(key, None, NULL_TEXT, position=key)
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if kind == "jsonl":
        return json_record(key, data, max_chars, "line", Decoding(), text_field)
    return text_record(key, data, max_chars, Decoding())


def outcomes_of(classifier: Classifier, records: list[Record], batch_size: int) -> Iterator[Outcome]:
    """classify_chunk per batch; if a batch fails, its rows are tried one by one so only the bad rows fail."""
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        try:
            yield from classify_chunk(classifier, chunk)
        except Exception:
            for record in chunk:
                try:
                    yield from classify_chunk(classifier, [record])
                except Exception as exc:  # anything one review can trigger becomes that row's error
                    yield Outcome(record.key, error=f"cannot classify ({first_line(exc, with_type=True)})")


def label_series(
    texts: pd.Series,
    classifier: Classifier,
    batch_size: int,
    max_chars: int = DEFAULT_MAX_CHARS,
    kind: str = "text",
    text_field: str = "text",
) -> pd.DataFrame:
    """label, score and error for each cell of `texts`, in order; error rows have no label/score."""
    records = [to_record(i, raw, max_chars, kind, text_field) for i, raw in enumerate(texts.tolist())]
    outcomes = list(outcomes_of(classifier, records, batch_size))
    return pd.DataFrame(
        {
            "label": pd.Series([o.label for o in outcomes], dtype=object),
            "score": pd.Series([o.score for o in outcomes], dtype="float64"),
            "error": pd.Series([o.error for o in outcomes], dtype=object),
        }
    )


def udf_function(
    fetch_bytes: Callable[[], bytes],
    checksum: str,
    threshold: float | None,
    batch_size: int,
    max_chars: int,
    kind: str = "text",
    text_field: str = "text",
) -> Callable[[pd.Series], pd.DataFrame]:
    """The pandas UDF body; defined here so pyspark can read its `pd.Series -> pd.DataFrame` hints."""

    def label_texts(texts: pd.Series) -> pd.DataFrame:
        classifier = classifier_for(fetch_bytes, checksum, threshold)
        return label_series(texts, classifier, batch_size, max_chars, kind, text_field)

    return label_texts


def text_lines(labels: pd.Series, scores: pd.Series, errors: pd.Series) -> pd.Series:
    """The plain output lines of result rows, by the classify command's own formatter (text output).

    A null cell is None under pandas 2 but NaN under pandas 3 (its string dtype), so nulls are made None
    first: a NaN error read as present turned every scored row into `error<TAB>nan`.
    """
    columns = [series.astype(object).where(series.notna(), None) for series in (labels, scores, errors)]
    return pd.Series([text_line(*row) for row in zip(*columns, strict=True)], dtype=object)
