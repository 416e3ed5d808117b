"""classify_dataframe: add label, score and error columns to a Spark DataFrame.

Only the text column travels to Python, as UTF-8 bytes in Arrow batches (a pandas
UDF); every other column stays in the JVM. The bytes are decoded in Python so a
non-UTF-8 value becomes an error row instead of failing the Arrow conversion. The
model file's bytes go to the executors once, as a broadcast variable.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from imdb_edge.batch.records import DEFAULT_MAX_CHARS
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.classifier import DEFAULT_MODEL, ENV_MODEL
from imdb_edge.runtime.modelfile.reader import ModelFile, check_pinned_sha256, parse_model_bytes, read_model_file
from imdb_edge.spark.deps import quiet_pandas3_warning, require_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DEFAULT_BATCH_SIZE = 1024
RESULT_SCHEMA = "label string, score double, error string"
RESULT_COLUMNS = ("label", "score", "error")


def load_model_file(model: str | Path | None, sha256: str | None = None) -> ModelFile:
    """`model`, else $IMDB_EDGE_MODEL, else the shipped model, read through importlib.resources:
    under `spark-submit --py-files imdb_edge.whl` the package is inside a zip, not on disk. `sha256`: the
    file's expected sha256, checked before it is parsed."""
    if model or os.environ.get(ENV_MODEL):
        return read_model_file(model or os.environ[ENV_MODEL], sha256=sha256)
    data = (resources.files("imdb_edge.runtime") / "models" / DEFAULT_MODEL).read_bytes()
    where = f"shipped model {DEFAULT_MODEL}"
    if sha256 is not None:
        check_pinned_sha256(data, sha256, where)
    return parse_model_bytes(data, where=where)


def check_columns(df: DataFrame, text_col: str, prefix: str) -> list[str]:
    from pyspark.sql.types import BinaryType, StringType

    fields = {field.name: field for field in df.schema.fields}
    if text_col not in fields:
        raise ImdbEdgeError(f"no column {text_col!r} in the input (columns: {', '.join(fields) or 'none'})")
    if not isinstance(fields[text_col].dataType, (StringType, BinaryType)):
        raise ImdbEdgeError(f"column {text_col!r} holds {fields[text_col].dataType.simpleString()}, not text")
    return check_result_columns(df, prefix)


def check_result_columns(df: DataFrame, prefix: str) -> list[str]:
    """The result columns' names, refused if the input has them already."""
    fields = set(df.columns)
    names = [prefix + name for name in RESULT_COLUMNS]
    taken = [name for name in names if name in fields]
    if taken:
        raise ImdbEdgeError(
            f"the input already has column(s) {', '.join(taken)}: rename them or choose a prefix for the results"
        )
    return names


def classify_dataframe(
    df: DataFrame,
    text_col: str = "text",
    model: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    threshold: float | None = None,
    prefix: str = "",
    max_chars: int = DEFAULT_MAX_CHARS,
    model_sha256: str | None = None,
) -> DataFrame:
    """`df` with `label`, `score` and `error` columns (each name after `prefix`), lazily.

    Same answers as `imdb-edge classify`: the model's decision rule, and an error
    (with null label and score) for null, empty, whitespace-only or non-UTF-8 text,
    or any review the model cannot take; no row fails the job. The model file
    (default: $IMDB_EDGE_MODEL, else the shipped one) is read and verified on the
    driver; executors verify their copy again. `batch_size` is rows per model call.
    """
    names = check_columns(df, text_col, prefix)
    return _with_results(df, text_col, names, model, batch_size, threshold, max_chars, model_sha256, "text", text_col)


def classify_json_lines(
    lines: DataFrame,
    line_col: str,
    text_field: str = "text",
    model: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    threshold: float | None = None,
    prefix: str = "",
    max_chars: int = DEFAULT_MAX_CHARS,
    model_sha256: str | None = None,
) -> DataFrame:
    """`lines` (a JSON Lines file's raw lines in `line_col`) with the results, each line judged by the rules
    `classify` applies to it (batch.records.json_record): a line that is not JSON, an object without a string
    `text_field`, or an empty line is an error row, never a failed job."""
    names = check_result_columns(lines, prefix)
    return _with_results(
        lines, line_col, names, model, batch_size, threshold, max_chars, model_sha256, "jsonl", text_field
    )


def _with_results(
    df: DataFrame,
    source_col: str,
    names: list[str],
    model: str | Path | None,
    batch_size: int,
    threshold: float | None,
    max_chars: int,
    model_sha256: str | None,
    kind: str,
    text_field: str,
) -> DataFrame:
    require_spark()
    quiet_pandas3_warning()
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    from imdb_edge.spark import worker

    if batch_size < 1:
        raise ImdbEdgeError(f"batch_size must be >= 1, got {batch_size}")
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise ImdbEdgeError(f"threshold must be in (0, 1), got {threshold}")
    model_file = load_model_file(model, model_sha256)
    labels = model_file.model["labels"]
    if threshold is not None and len(labels) > 2:
        raise ImdbEdgeError(f"a threshold applies to a model of two labels; this one has {len(labels)}")
    stated = model_file.model["threshold"]
    decision = float(threshold if threshold is not None else stated) if stated is not None else None
    checksum = worker.model_checksum(model_file.data)
    shipped = df.sparkSession.sparkContext.broadcast(model_file.data)

    label_texts = worker.udf_function(
        lambda: shipped.value, checksum, decision, batch_size, max_chars, kind, text_field
    )
    # Nondeterministic: stops the optimizer from running the UDF once per extracted field.
    udf = pandas_udf(label_texts, RESULT_SCHEMA).asNondeterministic()  # type: ignore[call-overload]
    result = "__imdb_edge_result"
    return (
        df.withColumn(result, udf(F.col(source_col).cast("binary")))
        .select(
            "*", *(F.col(f"{result}.{field}").alias(name) for field, name in zip(RESULT_COLUMNS, names, strict=True))
        )
        .drop(result)
    )
