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

from imdb_edge.batch.stop import Interrupted, StopRequest
from imdb_edge.errors import ImdbEdgeError, first_line
from imdb_edge.runtime.classifier import default_model_path
from imdb_edge.spark.deps import quiet_pandas3_warning, require_spark, use_this_python_on_executors
from imdb_edge.spark.formats import RAW_LINE, count_errors, detect_format, read_table, write_table
from imdb_edge.spark.storage import Storage, local_file, local_path, nested, nested_on_disk

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


@dataclass
class _Progress:
    """How far the job got, for the line an interruption prints: whether OUTPUT was there before the job
    (None: not yet checked) and whether the result has been renamed to it."""

    target_existed: bool | None = None
    published: bool = False

    def left(self, target: str) -> str:
        if self.published:
            return f"{target} is complete; its rows were not counted"
        if self.target_existed is None:
            return f"no result was written; {target} was not touched"
        return f"no result was written; {target} " + ("is unchanged" if self.target_existed else "was not created")


class JobInterrupted(Interrupted):
    """A stop signal ended the job: str() is the signal's name (as Interrupted's), `left` what OUTPUT is now."""

    def __init__(self, signal_name: str, left: str) -> None:
        super().__init__(signal_name)
        self.left = left


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
    settings = {"spark.app.name": APP_NAME, "spark.ui.showConsoleProgress": str(sys.stderr.isatty()).lower()}
    if master:
        settings["spark.master"] = master
    _launch_jvm_apart(settings)
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("FATAL")  # failures reach the user as one line (spark_errors), not logs
    return session, True


_jvm_output_dropped = threading.Event()
"""Set by a stop signal: from then on the JVM's stderr is dropped, not relayed (see `_relay_jvm_stderr`)."""


def _launch_jvm_apart(settings: dict[str, str]) -> None:
    """Start Spark's JVM in a process session of its own, its stderr relayed through this process.

    Its own session, so that a stop signal sent to this command's process group (`kill -TERM -- -PGID`, a
    job runner stopping its job) reaches this process alone, which cancels the jobs, removes the staged
    result and then stops Spark. In the same group the JVM took SIGTERM itself (pyspark starts it ignoring
    SIGINT only) and exited in the middle of the job: the clean-up's calls failed, with Python and Java
    tracebacks and exit 2. The JVM still ends with this process, however it ends: it exits when its stdin, a
    pipe from here, closes. Its stderr relayed, so that once a stop signal came, what the cancelled tasks'
    Python workers print as they lose their connection (a BrokenPipeError traceback, one run in three) is
    dropped: the interruption is then one line. Under spark-submit (a gateway port is set) the JVM runs
    already, as this process's parent, and nothing here applies.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None or "PYSPARK_GATEWAY_PORT" in os.environ:
        return
    conf = SparkConf()
    for key, value in settings.items():
        conf.set(key, value)
    read_end, write_end = os.pipe()
    threading.Thread(target=_relay_jvm_stderr, args=(read_end,), name="imdb-edge-jvm-stderr", daemon=True).start()
    try:
        gateway = launch_gateway(conf, popen_kwargs={"start_new_session": True, "stderr": write_end})
    finally:
        os.close(write_end)  # the JVM holds its own copy; the relay ends when the JVM's closes
    SparkContext._ensure_initialized(gateway=gateway)


def _relay_jvm_stderr(read_end: int) -> None:
    """Copy the JVM's stderr to ours until a stop signal; always read it all, so the JVM never blocks on it."""
    relaying = True
    with open(read_end, "rb", buffering=0, closefd=True) as source:
        while chunk := source.read(65536):
            if relaying and not _jvm_output_dropped.is_set():
                try:
                    _write_all(2, chunk)
                except OSError:  # our stderr is closed or gone: keep draining the JVM's
                    relaying = False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@contextlib.contextmanager
def case_sensitive_columns(spark: SparkSession, restore: bool) -> Iterator[None]:
    """Column names as written, for the length of the job: JSON keys and Parquet columns are case-sensitive,
    and so is `classify`, which reads "text" and "Text" as two keys.

    Spark resolves columns ignoring case by default, so one JSON line holding both keys failed the whole job
    (COLUMN_ALREADY_EXISTS when writing), and "Text" on one line and "text" on another became one column (the
    "Text" value lost). `restore`: set the session's setting back afterwards (a session this job did not
    start).
    """
    key = "spark.sql.caseSensitive"
    before = spark.conf.get(key)
    spark.conf.set(key, "true")
    try:
        yield
    finally:
        if restore:
            spark.conf.set(key, before)


class _SparkStop:
    """SIGINT/SIGTERM for the Spark part of the job: the handler only notes the signal (a py4j call cut by an
    exception logged a traceback and left the JVM half-started), the session's jobs are cancelled from
    another thread, and whatever the block raises after a stop signal becomes Interrupted (a cancelled job
    fails with a Java error).

    pyspark's own SIGINT handler, which a new SparkContext installs, calls into the JVM from the signal
    handler, re-entering the py4j connection the main thread is blocked on (tracebacks, and no clean-up):
    `watch` puts ours back over it. A thread cancels every job until the block ends: one cancel only reaches
    jobs already submitted, and a write signalled while Spark was still planning it ran to its end (4.6 s of
    80,000 rows).
    """

    def __init__(self) -> None:
        self._starting = StopRequest(on_stop=self._cancel)
        self.request = self._starting
        self._spark: SparkSession | None = None
        self._done = threading.Event()
        self._cancelling = threading.Lock()

    def watch(self, spark: SparkSession) -> None:
        """Cancel `spark`'s jobs from now on; raise Interrupted if a signal came while it was starting."""
        self._spark = spark
        self._starting.raise_if_requested()
        self.request = StopRequest(on_stop=self._cancel).__enter__()  # over the handler pyspark installed

    def _cancel(self) -> None:
        _jvm_output_dropped.set()
        if self._cancelling.acquire(blocking=False):
            threading.Thread(target=self._keep_cancelling, name="imdb-edge-cancel-spark-jobs", daemon=True).start()

    def _keep_cancelling(self) -> None:
        while not self._done.is_set():
            if self._spark is not None:
                with contextlib.suppress(Exception):  # the context may be stopping too
                    self._spark.sparkContext.cancelAllJobs()
            self._done.wait(0.1)

    def __enter__(self) -> _SparkStop:
        self._starting.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, trace: object) -> None:
        self._done.set()
        requested, name = self.request.requested, self.request.signal_name
        if self.request is not self._starting:
            self.request.__exit__(kind, exc, trace)
        self._starting.__exit__(kind, exc, trace)
        if isinstance(exc, Exception) and not isinstance(exc, Interrupted) and requested:
            raise Interrupted(name) from None


def _refuse_paths(
    job: SparkJob, source_exists: bool, overlaps: bool, target_exists: bool, model: str | None = None
) -> None:
    """The one rule for INPUT and OUTPUT, whether the facts came from the local disk or from Spark; `model`:
    the model file OUTPUT would replace, if it names it (or a folder holding it)."""
    if not source_exists:
        raise ImdbEdgeError(f"input {job.source} does not exist")
    if overlaps:
        raise ImdbEdgeError(f"output {job.target} would overwrite the input {job.source}: choose another path")
    if model is not None:
        raise ImdbEdgeError(f"output {job.target} would overwrite the model file {model}: choose another path")
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
    model = _model_under(target, job.model)
    _refuse_paths(job, os.path.exists(source), nested_on_disk(source, target), os.path.exists(target), model)


def _model_under(target: str, model: Path | None) -> str | None:
    """The model file the job reads (--model, else $IMDB_EDGE_MODEL, else the shipped one) if the local path
    `target` names it, through a link or as a hard link too (same device and inode), or a folder holding it:
    `-m model.onnx ... model.onnx --overwrite` replaced the model with a folder of results."""
    path = str(model or default_model_path())
    return path if nested_on_disk(path, target) else None


def _checked_paths(storage: Storage, job: SparkJob, progress: _Progress) -> tuple[str, str]:
    """Both paths qualified, after the checks of `_refuse_paths` through Spark's file system; a glob
    INPUT is checked as every path it matches."""
    source, target = storage.qualified(job.source), storage.qualified(job.target)
    inputs = storage.matches(source)
    overlaps = nested(source, target) or any(nested(found, target) for found in inputs)
    on_disk = local_file(target)  # the model is a local file: only a local OUTPUT can name it
    model = _model_under(on_disk, job.model) if on_disk is not None else None
    progress.target_existed = storage.exists(target)
    _refuse_paths(job, bool(inputs), overlaps, progress.target_existed, model)
    return source, target


def _classify_into(
    spark: SparkSession, job: SparkJob, formats: tuple[str, str], stop: StopRequest, progress: _Progress
) -> str:
    """Write the result under a hidden name, then rename it to OUTPUT; nothing at OUTPUT if anything fails."""
    from imdb_edge.spark.dataframe import classify_dataframe, classify_json_lines

    input_format, output_format = formats
    storage = Storage(spark)
    source, target = _checked_paths(storage, job, progress)
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
        write_table(result, staged, output_format, job.prefix)
        stop.raise_if_requested()  # a job that ended before its cancel came is not published either
        storage.publish(staged, target)
        progress.published = True
    finally:
        if storage.exists(staged):
            storage.delete(staged)
    return target


def run(job: SparkJob) -> SparkSummary:
    """Check everything, classify, publish atomically, then count rows and errors in the written result.

    A stop signal raises JobInterrupted, which says what OUTPUT is now (absent or unchanged, or complete).
    """
    progress = _Progress()
    try:
        return _run(job, progress)
    except Interrupted as exc:
        raise JobInterrupted(str(exc), progress.left(job.target)) from None


def _run(job: SparkJob, progress: _Progress) -> SparkSummary:
    require_spark()
    quiet_pandas3_warning()
    from imdb_edge.spark.dataframe import load_model_file

    input_format = detect_format(job.source, job.input_format, "--format")
    output_format = detect_format(job.target, job.output_format, "--output-format", fallback=input_format)
    if job.partitions is not None and job.partitions < 1:
        raise ImdbEdgeError(f"--partitions must be >= 1, got {job.partitions}")
    load_model_file(job.model, job.model_sha256)  # a bad model fails before Spark starts
    check_local_paths(job)  # and so does a path the local disk refuses
    with spark_errors(), _SparkStop() as stopping:
        spark, created = start_session(job.master)
        try:
            stopping.watch(spark)
            with case_sensitive_columns(spark, restore=not created):
                target = _classify_into(spark, job, (input_format, output_format), stopping.request, progress)
                rows, errors = count_errors(spark, target, output_format, job.prefix)
        finally:
            if created:
                spark.stop()
    return SparkSummary(job.target, output_format, rows, errors)
