"""`imdb-edge spark-classify`: files in, files out, on a local or cluster Spark.

Everything the command can refuse is checked before any row is classified; the
result is written under a hidden sibling name and renamed to OUTPUT only when the
whole job has succeeded, so OUTPUT is either absent, the old one, or complete.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imdb_edge.batch.stop import StopRequest
from imdb_edge.errors import ImdbEdgeError, first_line
from imdb_edge.spark.deps import quiet_pandas3_warning, require_spark, use_this_python_on_executors
from imdb_edge.spark.formats import RAW_LINE, count_errors, detect_format, read_table, write_table
from imdb_edge.spark.storage import Storage, local_path, nested, nested_on_disk

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "imdb-edge spark-classify"


@dataclass(frozen=True)
class SparkJob:
    """What to classify, where to put it, and how."""

    source: str
    target: str
    model: Path | None = None
    model_sha256: str | None = None
    text_col: str = "text"
    master: str | None = None
    input_format: str | None = None
    output_format: str | None = None
    overwrite: bool = False
    batch_size: int = 1024
    partitions: int | None = None
    threshold: float | None = None
    prefix: str = ""


@dataclass(frozen=True)
class SparkSummary:
    target: str
    output_format: str
    rows: int
    errors: int


def _cause(exc: BaseException) -> str:
    """The line that says what went wrong: for a Python worker's failure, its exception line; for a worker
    that died, that it died (the first line only named the JVM call, "An error occurred while calling
    o92.parquet"); else the deepest "Caused by" of a Java stack."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if any("Python worker exited unexpectedly" in line for line in lines):
        return "a Python worker process died (killed, or out of memory): Python worker exited unexpectedly"
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        raised = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", line)]
        if raised:
            return raised[-1]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by: ")]
    if lines and lines[0].startswith("An error occurred while calling") and causes:
        return causes[-1]
    return first_line(exc)


@contextlib.contextmanager
def spark_errors() -> Iterator[None]:
    """Spark and Py4J failures (unreadable input, a lost executor, no Java) as one-line ImdbEdgeErrors."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JError) as exc:
        message = _cause(exc)
        if "JAVA_GATEWAY_EXITED" in message:
            raise ImdbEdgeError("could not start Spark: it needs Java 17 or newer (set JAVA_HOME)") from None
        raise ImdbEdgeError(f"Spark failed: {message}") from None


def start_session(master: str | None) -> tuple[SparkSession, bool]:
    """The active session if there is one (a notebook, a test), else a new one; and whether it is new.

    Under spark-submit the master and resources come from spark-submit; `master` overrides them.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    use_this_python_on_executors()
    builder = SparkSession.builder.appName(APP_NAME)
    if master:
        builder = builder.master(master)
    builder = builder.config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("FATAL")  # failures reach the user as one line (spark_errors), not logs
    return session, True


def _stop_cancelling_jobs(spark: SparkSession) -> StopRequest:
    """SIGINT/SIGTERM cancel the running Spark jobs, from another thread (the batch job's stop, plus that).

    pyspark's own SIGINT handler calls into the JVM from the signal handler, which
    re-enters the py4j connection the main thread is blocked on (tracebacks, and no
    clean-up). Here the handler sets the flag and starts a thread to cancel; the
    blocked call then fails, and `run` cleans up and reports an interruption.
    """

    def cancel() -> None:
        threading.Thread(target=spark.sparkContext.cancelAllJobs, daemon=True).start()

    return StopRequest(on_stop=cancel)


def _refuse_paths(job: SparkJob, source_exists: bool, overlaps: bool, target_exists: bool) -> None:
    """The one rule for INPUT and OUTPUT, whether the facts came from the local disk or from Spark."""
    if not source_exists:
        raise ImdbEdgeError(f"input {job.source} does not exist")
    if overlaps:
        raise ImdbEdgeError(f"output {job.target} would overwrite the input {job.source}: choose another path")
    if target_exists and not job.overwrite:
        raise ImdbEdgeError(f"output {job.target} already exists: choose another path or pass --overwrite")


def check_local_paths(job: SparkJob) -> None:
    """Refuse what the local disk already shows before the JVM starts (seconds sooner), with the words of
    `_checked_paths`; paths only Spark can resolve (HDFS, globs, a session's own settings) wait for it."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # its Hadoop settings decide what a path names
        return
    source, target = local_path(job.source), local_path(job.target)
    if source is None or target is None:
        return
    _refuse_paths(job, os.path.exists(source), nested_on_disk(source, target), os.path.exists(target))


def _checked_paths(storage: Storage, job: SparkJob) -> tuple[str, str]:
    """Both paths qualified, after the checks of `_refuse_paths` through Spark's file system; a glob
    INPUT is checked as every path it matches."""
    source, target = storage.qualified(job.source), storage.qualified(job.target)
    inputs = storage.matches(source)
    overlaps = nested(source, target) or any(nested(found, target) for found in inputs)
    _refuse_paths(job, bool(inputs), overlaps, storage.exists(target))
    return source, target


def _classify_into(spark: SparkSession, job: SparkJob, formats: tuple[str, str], stop: StopRequest) -> str:
    """Write the result under a hidden name, then rename it to OUTPUT; nothing at OUTPUT if anything fails."""
    from imdb_edge.spark.dataframe import classify_dataframe, classify_json_lines

    input_format, output_format = formats
    storage = Storage(spark)
    source, target = _checked_paths(storage, job)
    df = read_table(spark, source, input_format, job.text_col)
    if job.partitions:
        df = df.repartition(job.partitions)
    settings = {
        "model": job.model,
        "batch_size": job.batch_size,
        "threshold": job.threshold,
        "prefix": job.prefix,
        "model_sha256": job.model_sha256,
    }
    if input_format == "jsonl":
        fields = [name for name in df.columns if name != RAW_LINE]
        if job.text_col not in fields:  # in no line at all: a wrong --text-col, not bad lines
            raise ImdbEdgeError(f"no column {job.text_col!r} in the input (columns: {', '.join(fields) or 'none'})")
        result = classify_json_lines(df, RAW_LINE, text_field=job.text_col, **settings).drop(RAW_LINE)
    else:
        result = classify_dataframe(df, job.text_col, **settings)
    staged = storage.sibling(target, "incomplete")
    try:
        try:
            write_table(result, staged, output_format, job.prefix)
        except Exception:
            stop.raise_if_requested()  # a cancelled job is an interruption, not a Spark failure
            raise
        stop.raise_if_requested()
        storage.publish(staged, target)
    finally:
        if storage.exists(staged):
            storage.delete(staged)
    return target


def run(job: SparkJob) -> SparkSummary:
    """Check everything, classify, publish atomically, then count rows and errors in the written result."""
    require_spark()
    quiet_pandas3_warning()
    from imdb_edge.spark.dataframe import load_model_file

    input_format = detect_format(job.source, job.input_format, "--format")
    output_format = detect_format(job.target, job.output_format, "--output-format", fallback=input_format)
    if job.partitions is not None and job.partitions < 1:
        raise ImdbEdgeError(f"--partitions must be >= 1, got {job.partitions}")
    load_model_file(job.model, job.model_sha256)  # a bad model fails before Spark starts
    check_local_paths(job)  # and so does a path the local disk refuses
    with spark_errors():
        spark, created = start_session(job.master)
        try:
            with _stop_cancelling_jobs(spark) as stop:
                target = _classify_into(spark, job, (input_format, output_format), stop)
                try:
                    rows, errors = count_errors(spark, target, output_format, job.prefix)
                except Exception:
                    stop.raise_if_requested()
                    raise
        finally:
            if created:
                spark.stop()
    return SparkSummary(job.target, output_format, rows, errors)
