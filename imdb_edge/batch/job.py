"""A classify job: check everything, then classify, then report.

Order matters for safety: the input (exists, readable, a folder has .txt files), the
model (verified) and the output (not the input or the model, not locked by another
job, a resume record that matches) are all checked before a single byte of an
existing output is cut. Problems found before the start are `JobError`s; what happened
after it is the returned `JobReport`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imdb_edge import console
from imdb_edge.batch.engine import BatchSummary, classify_chunks, default_workers, max_workers
from imdb_edge.batch.errors import JobError
from imdb_edge.batch.outcomes import Outcome, Rules
from imdb_edge.batch.records import (
    CHUNK_BYTES,
    CHUNK_RECORDS,
    DEFAULT_ENCODING,
    DEFAULT_MAX_CHARS,
    MAX_CHARS_LIMIT,
    Source,
    open_source,
    text_source,
)
from imdb_edge.batch.result_file import JobIdentity, ResultFile, open_stream_output, output_is_regular_or_missing
from imdb_edge.batch.stop import Interrupted, StopRequest
from imdb_edge.runtime.classifier import Classifier, RunCancelled, default_model_path


@dataclass
class ClassifyJob:
    """What to classify (texts, or a file, folder or '-' for stdin), with which model, and where to."""

    texts: list[str] = field(default_factory=list)
    file: str | None = None
    model: Path | None = None
    sha256: str | None = None
    """The model file's expected sha256, checked before it is read any further."""
    as_json: bool = False
    threshold: float | None = None
    output: Path | None = None
    resume: bool = False
    input_format: str = "auto"
    encoding: str = DEFAULT_ENCODING
    workers: int | None = None
    threads: int = 1
    max_chars: int = DEFAULT_MAX_CHARS
    min_known: int = 1
    """Fewer known terms than this: an `unknown` line instead of the bias's label (0: never)."""
    explain: int = 0
    """Terms per label in each line's explanation (0: no explanations; they are made in this process)."""


@dataclass
class JobReport:
    """How the job ended: the engine's summary, the results an earlier run had written, where they went."""

    summary: BatchSummary
    skipped: int = 0
    """Result lines kept from an earlier run (--resume)."""
    output: Path | None = None
    resumable: bool = False
    """The results went to a regular --output file with a resume record: `--resume` can continue it."""
    untouched: bool = False
    """The output file existed and still has its old contents: this run wrote no line into it."""

    @property
    def done(self) -> int:
        return self.skipped + self.summary.records


OutcomeReporter = Callable[[Outcome, str], None]
"""Called for every outcome with how the input names its positions ("line", "file", "item", "input")."""


def _refuse_output_that_is_an_input(output: Path, source: Source, model_path: Path) -> None:
    try:
        out = os.stat(output)
    except OSError:
        return  # it does not exist yet (or open() will explain)
    inputs = set(source.files)
    try:
        model = os.stat(model_path)
        inputs.add((model.st_dev, model.st_ino))
    except OSError:
        pass
    if (out.st_dev, out.st_ino) in inputs:
        raise JobError(
            "{output} {path} is one of this job's inputs (the same file, perhaps through a link); "
            "choose another {output}",
            path=output,
        )


def _open_output(job: ClassifyJob, source: Source, classifier: Classifier, model_path: Path) -> ResultFile | None:
    """The locked, resumable output file, or None for stdout, a pipe or a device."""
    output = job.output
    if output is None:
        return None
    _refuse_output_that_is_an_input(output, source, model_path)
    if not output_is_regular_or_missing(output):
        if job.resume:
            raise JobError("{resume} needs a regular file as {output}; {path} is a pipe or device", path=output)
        return None
    return ResultFile.open(output, job_identity(job, source, classifier), job.resume)


def job_identity(job: ClassifyJob, source: Source, classifier: Classifier) -> JobIdentity:
    """What makes a later run the same job as this one (what --resume checks)."""
    return JobIdentity(
        input=source.identity,
        model=classifier.model_file.identity,
        as_json=job.as_json,
        threshold=classifier.threshold,
        max_chars=job.max_chars,
        input_format=job.input_format,
        encoding=job.encoding,
        min_known=job.min_known,
        explain=job.explain,
    )


def run_job(job: ClassifyJob, stop: StopRequest, on_outcome: OutcomeReporter | None = None) -> JobReport:
    """Classify every record of `job`, one output line each, in order.

    Raises JobError (or another ImdbEdgeError) for anything that stops the job before it
    starts; an interruption after the start is `report.summary.interrupted`.
    """
    if job.workers is not None and not 1 <= job.workers <= max_workers():
        raise JobError("{workers} must be between 1 and {most} on this machine", most=max_workers())
    max_chars = job.max_chars
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or not 1 <= max_chars <= MAX_CHARS_LIMIT:
        raise JobError("{max_chars} must be a whole number between 1 and {most}", most=f"{MAX_CHARS_LIMIT:,}")
    model_path = job.model or default_model_path()
    with stop.interruptible():  # nothing is written yet; a long probe is cut short by cancel_runs
        try:
            classifier = Classifier.load(model_path, threads=job.threads, threshold=job.threshold, sha256=job.sha256)
        except RunCancelled:
            raise Interrupted(stop.signal_name) from None
    if job.file is not None:
        with stop.interruptible():  # opening a FIFO waits for its writer
            source = open_source(job.file, job.input_format, job.max_chars, job.encoding)
    else:
        source = text_source(job.texts, job.max_chars)
    result_file = _open_output(job, source, classifier, model_path)
    skipped = result_file.lines if result_file is not None else 0
    workers = (job.workers or default_workers()) if job.file is not None and not job.explain else 1

    def report(outcome: Outcome) -> None:
        if on_outcome is not None:
            on_outcome(outcome, source.label)

    run = {
        "as_json": job.as_json,
        "workers": workers,
        "live": source.live,
        "on_outcome": report,
        "keyed": source.keyed_lines,
        "rules": Rules(min_known=job.min_known, explain=job.explain),
    }
    chunks = source.chunks(CHUNK_RECORDS, skipped, CHUNK_BYTES)
    if result_file is not None:
        finished = False
        try:
            summary = classify_chunks(classifier, chunks, result_file.write_lines, stop, **run)
            finished = not summary.interrupted
        finally:
            result_file.close(complete=finished)
        return JobReport(summary, skipped, job.output, resumable=True, untouched=result_file.untouched)
    if job.output is not None:
        with stop.interruptible():  # a FIFO's open waits for its reader
            handle = open_stream_output(job.output)
        with handle:
            summary = classify_chunks(classifier, chunks, lambda data, _n: handle.write(data), stop, **run)
    else:
        if console.stdout_was_closed:
            raise JobError("stdout is closed: there is nowhere to write the results; give {output} FILE")
        stdout = sys.stdout.buffer

        def write(data: bytes, _lines: int) -> None:
            stdout.write(data)
            stdout.flush()

        summary = classify_chunks(classifier, chunks, write, stop, **run)
    return JobReport(summary, skipped, job.output)
