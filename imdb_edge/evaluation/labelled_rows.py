"""The rows `evaluate` scores: the IMDB archive's test split, or every row of a labelled file, each row's
label given as an index into the model's labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imdb_edge.data.dataset import IMDB_LABELS, load_dataset, resolve_data_path
from imdb_edge.data.labelled import BadRows, read_labelled
from imdb_edge.data.sources import is_imdb
from imdb_edge.errors import ImdbEdgeError


@dataclass
class EvaluationRows:
    texts: list[str]
    truth: np.ndarray
    source: str
    what: str
    bad: BadRows = field(default_factory=BadRows)


def evaluation_rows(
    data: str | None, model_labels: tuple[str, ...], text_column: str = "text", label_column: str = "label"
) -> EvaluationRows:
    """The rows to score, read as `train` finds data (`data`, then $IMDB_EDGE_DATA, the cache, a download)."""
    path = resolve_data_path(data)
    index = {label: i for i, label in enumerate(model_labels)}
    if is_imdb(path):
        if set(IMDB_LABELS) - set(model_labels):
            raise ImdbEdgeError(
                f"the IMDB test split is labelled {', '.join(IMDB_LABELS)}, and the model's labels are "
                f"{', '.join(model_labels)}: give --data the kind of data it was trained on"
            )
        test = load_dataset(path).test
        truth = np.array([index[IMDB_LABELS[i]] for i in test.labels.tolist()], dtype=np.int64)
        return EvaluationRows(test.texts, truth, str(path), "the IMDB test split")
    rows = read_labelled(Path(path), text_column, label_column)
    texts, truth = [], []
    for number, (text, label) in enumerate(zip(rows.texts, rows.labels, strict=True), start=1):
        if label in index:
            texts.append(text)
            truth.append(index[label])
        else:
            rows.bad.add(f"{path.name} row {number}", f"label {label!r} is not one of the model's")
    if not texts:
        found = sorted(set(rows.labels))[:10]
        raise ImdbEdgeError(
            f"{path}: no row has one of the model's labels ({', '.join(model_labels)}); its labels: "
            f"{', '.join(found) or 'none'}"
        )
    return EvaluationRows(texts, np.array(truth, dtype=np.int64), str(path), f"every row of {path.name}", rows.bad)
