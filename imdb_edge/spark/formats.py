"""Reading and writing Parquet, JSON Lines and text with Spark, format chosen by extension or flag."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from imdb_edge.errors import ImdbEdgeError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FORMATS = ("parquet", "jsonl", "text")
CORRUPT_RECORD = "_corrupt_record"
RAW_LINE = "__imdb_edge_line"
"""The column that carries a JSON line, as written, to the executors (dropped before writing)."""
EXTENSIONS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".txt": "text"}


def format_from_name(path: str) -> str | None:
    """The format a path's extension names (a folder named like a file counts too), if any."""
    name = path.rstrip("/").lower()
    return next((fmt for extension, fmt in EXTENSIONS.items() if name.endswith(extension)), None)


def detect_format(path: str, given: str | None, option: str, fallback: str | None = None) -> str:
    """`given` if set, else the path's extension; a path with no extension at all takes `fallback`."""
    if given:
        if given not in FORMATS:
            raise ImdbEdgeError(f"unknown format {given!r} for {option}; choose from {', '.join(FORMATS)}")
        return given
    fmt = format_from_name(path)
    if fmt is None and fallback and not PurePosixPath(path.rstrip("/")).suffix:
        fmt = fallback
    if fmt:
        return fmt
    raise ImdbEdgeError(
        f"cannot tell the format of {path} from its name: pass {option} ({', '.join(FORMATS)}) "
        f"or name it *.parquet, *.jsonl or *.txt"
    )


def read_table(spark: SparkSession, path: str, fmt: str, text_col: str) -> DataFrame:
    """A text file gives one row per line, its column named `text_col`; JSON Lines: see read_json_lines."""
    if fmt == "parquet":
        return spark.read.parquet(path)
    if fmt == "jsonl":
        return read_json_lines(spark, path)
    return spark.read.text(path).withColumnRenamed("value", text_col)


def read_json_lines(spark: SparkSession, path: str) -> DataFrame:
    """One row per line: the raw line (bytes as written) in RAW_LINE, and its object's fields as columns.

    The columns are Spark's own inference over every line, but a key an object repeats is one column (its last
    value, as `classify` takes it): Spark's JSON reader refuses a whole file for one such line. Whether a line
    is a review, and which error it gets, is decided from the raw line by `classify`'s rule (worker.py), so
    the two commands agree on every line (tests/spark/test_agreement.py).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    lines = spark.read.text(path)
    inferred = spark.read.json(lines.rdd.map(lambda row: row.value)).schema
    seen: set[str] = set()
    fields = []
    for field in inferred.fields:
        if field.name not in seen and field.name != CORRUPT_RECORD:
            seen.add(field.name)
            fields.append(field)
    parsed = F.from_json(F.col("value"), StructType(fields), {"mode": "PERMISSIVE"})
    return lines.select(F.col("value").alias(RAW_LINE), parsed.alias("__imdb_edge_object")).select(
        RAW_LINE, "__imdb_edge_object.*"
    )


def write_table(df: DataFrame, path: str, fmt: str, prefix: str) -> None:
    """Parquet and JSON Lines keep every column; text writes the CLI's `label<TAB>score` / `error<TAB>reason`."""
    from pyspark.sql import functions as F

    if fmt == "parquet":
        df.write.parquet(path)
    elif fmt == "jsonl":
        df.write.json(path)
    else:
        from pyspark.sql.functions import pandas_udf

        from imdb_edge.spark import worker
        from imdb_edge.spark.dataframe import RESULT_COLUMNS

        lines = pandas_udf(worker.text_lines, "string")  # type: ignore[call-overload]
        df.select(lines(*(F.col(prefix + name) for name in RESULT_COLUMNS)).alias("value")).write.text(path)


def count_errors(spark: SparkSession, path: str, fmt: str, prefix: str) -> tuple[int, int]:
    """(rows, error rows) of a written result, read back from the files themselves."""
    from pyspark.sql import functions as F

    if fmt == "text":
        from imdb_edge.batch.outcomes import ERROR_LABEL

        lines = spark.read.text(path)
        is_error = F.col("value").startswith(f"{ERROR_LABEL}\t")
    else:
        lines = spark.read.parquet(path) if fmt == "parquet" else spark.read.json(path)  # what Spark wrote
        if prefix + "error" not in lines.columns:  # JSON drops null fields: no row had an error
            return lines.count(), 0
        is_error = F.col(prefix + "error").isNotNull()
    row = lines.agg(F.count(F.lit(1)).alias("rows"), F.sum(is_error.cast("long")).alias("errors")).first()
    return int(row["rows"]), int(row["errors"] or 0)
