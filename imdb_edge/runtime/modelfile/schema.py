"""The model file's contract, in one place: metadata keys, input forms, tensor names, labels.

Graphs (export), the metadata writer, the runtime reader and the CLI all import
these names, so a form or a label can never be spelled two ways.
"""

from __future__ import annotations

from typing import Final

METADATA_KEY_PREFIX: Final = "imdb_edge."
"""Every metadata entry imdb-edge writes starts with this; the checksum covers all of them."""
RUNTIME_ARRAY_PREFIX: Final = "imdb_edge."
"""Graph initializers named with this are the runtime's arrays (arrays.py), never inputs of a graph node."""

SCHEMA_KEY: Final = "imdb_edge.schema"
SCHEMA_VERSION: Final = "4"
MODEL_KEY: Final = "imdb_edge.model"
VECTORIZER_KEY: Final = "imdb_edge.vectorizer"
TRAINING_KEY: Final = "imdb_edge.training"
EXPORT_KEY: Final = "imdb_edge.export"
CHECKSUM_KEY: Final = "imdb_edge.checksum"

DENSE: Final = "dense"
"""Input form: the reference's multi-hot vector of vocabulary width."""
TOKEN_IDS: Final = "token_ids"
"""Input form: the review's sorted unique term ids, padded with the id `vocabulary size`."""
TEXT: Final = "text"
"""Input form: raw review strings; the tokenizer runs inside the graph."""
TEXT_FAST: Final = "text_fast"
"""Input form: raw review strings, like TEXT, through a faster graph that needs onnxruntime's contrib operators."""
INPUT_FORMS: Final = (TOKEN_IDS, DENSE, TEXT, TEXT_FAST)

INPUT_NAMES: Final = {DENSE: "features", TOKEN_IDS: "token_ids", TEXT: "texts", TEXT_FAST: "texts"}
"""Graph input name for each input form."""
SCORE_OUTPUT: Final = "score"
"""Two labels: the probability of the second label, shape (n, 1). More: one probability per label, (n, K)."""
LABEL_OUTPUT: Final = "label"
"""The text form also returns the label string."""

LABELS: Final = ("negative", "positive")
"""The IMDB model's label names: index 0 below the threshold, index 1 at or above it."""
THRESHOLD: Final = 0.5
"""Default decision threshold on the score of a two-label model (models of more labels take the likeliest)."""
MAX_LABELS: Final = 1000
"""The most labels a model file may name."""


def input_width(form: str, vocabulary_size: int) -> int | None:
    """Width the graph's input expects: ids index a table with one extra zero row."""
    return {DENSE: vocabulary_size, TOKEN_IDS: vocabulary_size + 1, TEXT: None, TEXT_FAST: None}[form]


def model_entry(
    form: str, vocabulary_size: int, precision: str, opset: int, labels: tuple[str, ...] = LABELS
) -> dict[str, object]:
    """The `imdb_edge.model` metadata entry: what the runtime needs to feed the graph and read it. A threshold
    only for two labels (one score); with more, the likeliest label wins."""
    return {
        "input_form": form,
        "input_name": INPUT_NAMES[form],
        "output_name": SCORE_OUTPUT,
        "input_width": input_width(form, vocabulary_size),
        "pad_id": vocabulary_size if form != DENSE else None,
        "labels": list(labels),
        "threshold": THRESHOLD if len(labels) == 2 else None,
        "precision": precision,
        "opset": opset,
    }
