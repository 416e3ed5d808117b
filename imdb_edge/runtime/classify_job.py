"""The `imdb-edge classify` job: check everything, then classify, then report.

Order matters for safety: the options, the input (exists, readable, a folder has
.txt files), the model (verified) and the output (not the input or the model,
not locked by another job, a resume record that matches) are all checked before
a single byte of an existing output is cut.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import typer

from imdb_edge import console
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.batch import BatchSummary, Outcome, classify_chunks, default_workers
from imdb_edge.runtime.classifier import Classifier, default_model_path
from imdb_edge.runtime.progress import LiveCount
from imdb_edge.runtime.records import CHUNK_RECORDS, DEFAULT_MAX_CHARS, Source, open_source, text_source
from imdb_edge.runtime.result_file import ResultFile, output_is_regular_or_missing, stream_output
from imdb_edge.runtime.stop import Interrupted, StopRequest

EXIT_OK, EXIT_SOME_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass
class ClassifyOptions:
    """What the user asked for, as the CLI received it."""

    texts: list[str] = field(default_factory=list)
    file: str | None = None
    model: Path | None = None
    as_json: bool = False
    threshold: float | None = None
    output: Path | None = None
    resume: bool = False
    input_format: str = "auto"
    workers: int | None = None
    threads: int = 1
    max_chars: int = DEFAULT_MAX_CHARS


def _check_options(options: ClassifyOptions) -> ClassifyOptions:
    texts, file = list(options.texts or []), options.file
    if texts == ["-"] and file is None:
        texts, file = [], "-"
    if bool(texts) == (file is not None):
        raise ImdbEdgeError("give review texts as arguments or --file PATH (or '-' for stdin), not both or neither")
    if texts and options.input_format != "auto":
        raise ImdbEdgeError("--format applies to --file and stdin, not to review texts given as arguments")
    if texts and options.workers is not None:
        raise ImdbEdgeError("--workers applies to --file; review texts given as arguments are classified here")
    if options.resume and options.output is None:
        raise ImdbEdgeError("--resume needs --output: it continues an earlier output file")
    if options.workers is not None and options.workers < 1:
        raise ImdbEdgeError(f"--workers must be >= 1, got {options.workers}")
    if options.max_chars < 1:
        raise ImdbEdgeError(f"--max-chars must be >= 1, got {options.max_chars}")
    return ClassifyOptions(**{**options.__dict__, "texts": texts, "file": file})


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
        raise ImdbEdgeError(
            f"--output {output} is one of this job's inputs (the same file, perhaps through a link); "
            "choose another --output"
        )


def _stdout_writer() -> BinaryIO:
    return sys.stdout.buffer


def _report(summary: BatchSummary, skip: int, output: Path | None) -> int:
    done = skip + summary.records
    if summary.interrupted:
        typer.echo(
            f"interrupted: {done} result line(s) are complete{f' in {output}' if output else ''}; "
            f"rerun with --resume to continue ({summary.reason})",
            err=True,
        )
        return EXIT_INTERRUPTED
    if skip:
        typer.echo(f"resumed after {skip} earlier result(s); {done} in total", err=True)
    if summary.errors:
        typer.echo(f"{summary.errors} of {summary.records} input(s) could not be classified", err=True)
        return EXIT_SOME_ERRORS
    return EXIT_OK


def _classify(options: ClassifyOptions, stop: StopRequest) -> int:
    model_path = options.model or default_model_path()
    classifier = Classifier.load(model_path, threads=options.threads, threshold=options.threshold)
    if options.file is not None:
        with stop.interruptible():  # opening a FIFO waits for its writer
            source = open_source(options.file, options.input_format, options.max_chars)
    else:
        source = text_source(options.texts, options.max_chars)
    output = options.output
    result_file: ResultFile | None = None
    skip = 0
    if output is not None:
        _refuse_output_that_is_an_input(output, source, model_path)
        if output_is_regular_or_missing(output):
            job = {
                "input": source.identity,
                "model": classifier.model_file.identity,
                "as_json": options.as_json,
                "threshold": classifier.threshold,
                "max_chars": options.max_chars,
                "input_format": options.input_format,
            }
            result_file = ResultFile.open(output, job, options.resume)
            skip = result_file.lines
        elif options.resume:
            raise ImdbEdgeError(f"--resume needs a regular file as --output; {output} is a pipe or device")
    workers = (options.workers or default_workers()) if options.file is not None else 1

    summary = BatchSummary()
    quiet = console.is_quiet()  # --quiet: no live count, no per-review warnings (output and exit code still tell)
    with LiveCount(enabled=options.file is not None and sys.stderr.isatty() and not quiet) as progress:

        def on_outcome(outcome: Outcome) -> None:
            progress.advance()
            if (outcome.error or outcome.note) and not quiet:
                label = source.label if isinstance(outcome.key, int) else "input"
                progress.warn(f"warning: {label} {outcome.key}: {outcome.error or outcome.note}")

        run: dict[str, Any] = {
            "as_json": options.as_json,
            "workers": workers,
            "live": source.live,
            "on_outcome": on_outcome,
        }
        chunks = source.chunks(CHUNK_RECORDS, skip)
        if result_file is not None:
            finished = False
            try:
                summary = classify_chunks(classifier, chunks, result_file.write_lines, stop, **run)
                finished = not summary.interrupted
            finally:
                result_file.close(complete=finished)
        elif output is not None:
            with stream_output(output) as handle:
                summary = classify_chunks(classifier, chunks, lambda data, _n: handle.write(data), stop, **run)
        else:
            stdout = _stdout_writer()

            def write(data: bytes, _lines: int) -> None:
                stdout.write(data)
                stdout.flush()

            summary = classify_chunks(classifier, chunks, write, stop, **run)
    return _report(summary, skip, output)


def _quiet_broken_pipe() -> int:
    """The reader went away (`| head -1`): that is how pipelines end, so exit 0 quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    except (OSError, ValueError, AttributeError):
        pass
    finally:
        os.close(devnull)
    return EXIT_OK


def run_classify(options: ClassifyOptions) -> int:
    """Run the job; returns the exit code (0 all classified, 1 some inputs had errors, 130 interrupted).

    Raises ImdbEdgeError for anything that stops the job before it starts.
    """
    options = _check_options(options)
    with StopRequest() as stop:
        try:
            return _classify(options, stop)
        except Interrupted as exc:
            typer.echo(f"interrupted: no result was written ({exc} received)", err=True)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            return _quiet_broken_pipe()
