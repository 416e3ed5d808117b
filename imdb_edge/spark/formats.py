"""Reading and writing Parquet, JSON Lines and text with Spark, format chosen by extension or flag."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from imdb_edge.errors import ImdbEdgeError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FORMATS = ("parquet", "jsonl", "text")
CORRUPT_RECORD = "_corrupt_record"
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
    """A text file gives one row per line, its column named `text_col`."""
    if fmt == "parquet":
        return spark.read.parquet(path)
    if fmt == "jsonl":
        return spark.read.json(path)
    return spark.read.text(path).withColumnRenamed("value", text_col)


def name_malformed_lines(df: DataFrame, prefix: str) -> DataFrame:
    """Spark's JSON reader keeps a line it cannot parse in `_corrupt_record`: say so in the error column."""
    from pyspark.sql import functions as F

    if CORRUPT_RECORD not in df.columns:
        return df
    error = prefix + "error"
    return df.withColumn(
        error, F.when(F.col(CORRUPT_RECORD).isNotNull(), F.lit("malformed JSON line")).otherwise(F.col(error))
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
        lines = read_table(spark, path, fmt, "text")
        if prefix + "error" not in lines.columns:  # JSON drops null fields: no row had an error
            return lines.count(), 0
        is_error = F.col(prefix + "error").isNotNull()
    row = lines.agg(F.count(F.lit(1)).alias("rows"), F.sum(is_error.cast("long")).alias("errors")).first()
    return int(row["rows"]), int(row["errors"] or 0)
