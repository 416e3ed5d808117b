"""The run panel (base install): `classify`, `info`, `bench`.

Each command is its declaration (options and help) plus one `invoke` of its action;
actions import the runtime only when they run, so `--help` stays light.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from imdb_edge import console
from imdb_edge.batch.records import DEFAULT_ENCODING, DEFAULT_MAX_CHARS, FORMATS
from imdb_edge.cli.app import RUN_PANEL, app
from imdb_edge.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_ERRORS,
    DataOption,
    LabelColumnOption,
    ModelOption,
    ModelSha256Option,
    QuietOption,
    TextColumnOption,
    cancel_onnxruntime_runs,
    choice,
    choices,
    emit_json,
    flag,
    install_stuck_run_exit,
    invoke,
    printable,
    require_stdout,
)
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.extras import require_extra

InputFormat = choices("InputFormat", FORMATS)


# ---- classify -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifyOptions:
    texts: Optional[list[str]]
    file: Optional[str]
    model: Optional[Path]
    model_sha256: Optional[str]
    as_json: bool
    threshold: Optional[float]
    output: Optional[Path]
    resume: bool
    input_format: InputFormat  # type: ignore[valid-type]
    encoding: str
    workers: Optional[int]
    threads: int
    max_chars: int
    explain: bool
    terms: int
    min_known: int
    quiet: bool


@app.command(rich_help_panel=RUN_PANEL)
def classify(
    texts: Annotated[
        Optional[list[str]],
        typer.Argument(
            metavar="TEXT",
            help="Reviews to classify; '-' reads one review per line from stdin.",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Optional[str],
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="One review per line, JSON Lines with a 'text' field (.jsonl), a folder of .txt files, "
            "or '-' for stdin.",
        ),
    ] = None,
    model: ModelOption = None,
    model_sha256: ModelSha256Option = None,
    as_json: Annotated[bool, flag("--json", help="One JSON object per input: id, label, score (or error).")] = False,
    threshold: Annotated[
        Optional[float],
        typer.Option(metavar="SCORE", help="Score at or above which a review is positive (default: the model's, 0.5)."),
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Write results here instead of stdout.")
    ] = None,
    resume: Annotated[
        bool, flag("--resume", help="With --output: keep its complete lines and continue after them.")
    ] = False,
    input_format: Annotated[
        InputFormat,  # type: ignore[valid-type]
        typer.Option("--format", **choice(InputFormat), help="How to read --file: auto (by extension), lines, jsonl."),
    ] = InputFormat.auto,  # type: ignore[attr-defined]
    encoding: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="The input's encoding, e.g. latin-1 or cp1252 (any that writes a newline as one byte; UTF-16 "
            "files: convert them first).",
        ),
    ] = DEFAULT_ENCODING,
    workers: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            min=1,
            help="Processes for --file (default: the CPU count, at most 8; allowed: up to twice the CPU count, "
            "at least 4).",
        ),
    ] = None,
    threads: Annotated[
        int,
        typer.Option(
            metavar="N", min=1, help="onnxruntime intra-op threads per process (up to twice the CPU count, at least 4)."
        ),
    ] = 1,
    max_chars: Annotated[
        int, typer.Option(metavar="N", min=1, help="Longer reviews are cut to this many characters (with a note).")
    ] = DEFAULT_MAX_CHARS,
    explain: Annotated[
        bool,
        flag(
            "--explain",
            help="Say why: the terms that pushed hardest towards each label, with their push (exact for the "
            "shipped model's kind; made in one process).",
        ),
    ] = False,
    terms: Annotated[int, typer.Option(metavar="K", min=1, help="Terms per label in an explanation.")] = 5,
    min_known: Annotated[
        int,
        typer.Option(
            metavar="N",
            min=0,
            help="A text of fewer terms the model knows gets `unknown<TAB>reason` instead of a label (0: always "
            "a label).",
        ),
    ] = 1,
    quiet: QuietOption = False,
) -> None:
    """Classify reviews as positive or negative: one output line per input, in order.

    Plain output is `label<TAB>score` per review; a review that cannot be classified
    (empty, not UTF-8, malformed JSON line) gets `error<TAB>reason`, and one of whose
    terms the model knows none gets `unknown<TAB>reason` (its label would only be the
    model's bias), each with a warning on stderr, and the exit code is 1; every other
    review is still classified.
    `--quiet` drops the live count and the per-review warnings (the output lines and
    the exit code still say what failed).

    Examples:

    ```
    imdb-edge classify "This movie was a waste of time"
    imdb-edge classify --file reviews.txt --json --output results.jsonl
    cat reviews.txt | imdb-edge classify -
    ```
    """
    invoke(ClassifyOptions(**locals()), run_classify)


def classify_job(options: ClassifyOptions):  # type: ignore[no-untyped-def]  # ClassifyJob: imported lazily
    """The batch job the options ask for, after the checks only flags can explain."""
    from imdb_edge.batch.job import ClassifyJob

    texts, file = list(options.texts or []), options.file
    if texts == ["-"] and file is None:
        texts, file = [], "-"
    if bool(texts) == (file is not None):
        raise ImdbEdgeError("give review texts as arguments or --file PATH (or '-' for stdin), not both or neither")
    fmt = options.input_format.value
    if texts and fmt != "auto":
        raise ImdbEdgeError("--format applies to --file and stdin, not to review texts given as arguments")
    if texts and options.workers is not None:
        raise ImdbEdgeError("--workers applies to --file; review texts given as arguments are classified here")
    if options.resume and options.output is None:
        raise ImdbEdgeError("--resume needs --output: it continues an earlier output file")
    if options.terms != 5 and not options.explain:
        raise ImdbEdgeError("--terms sets how many terms an explanation shows: give --explain too")
    if options.explain and options.workers is not None:
        raise ImdbEdgeError("--explain makes its explanations in one process: drop --workers")
    if texts and options.encoding != DEFAULT_ENCODING:
        raise ImdbEdgeError("--encoding applies to --file and stdin; review texts given as arguments are text")
    return ClassifyJob(
        texts=texts,
        file=file,
        model=options.model,
        sha256=options.model_sha256,
        as_json=options.as_json,
        threshold=options.threshold,
        output=options.output,
        resume=options.resume,
        input_format=fmt,
        encoding=options.encoding,
        workers=options.workers,
        threads=options.threads,
        max_chars=options.max_chars,
        min_known=options.min_known,
        explain=options.terms if options.explain else 0,
    )


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
    """Run the job with a live count and per-record warnings on stderr; returns the exit code
    (0 all classified, 1 some inputs had errors, 130 interrupted)."""
    from imdb_edge.batch.job import run_job
    from imdb_edge.batch.outcomes import Outcome
    from imdb_edge.batch.stop import Interrupted, StopRequest
    from imdb_edge.cli.progress import LiveCount

    job = classify_job(options)
    quiet = console.is_quiet()  # --quiet: no live count, no per-record warnings (output and exit code still tell)
    install_stuck_run_exit()
    with StopRequest(on_stop=lambda: cancel_onnxruntime_runs(stop)) as stop:
        try:
            with LiveCount(enabled=job.file is not None and sys.stderr.isatty() and not quiet) as progress:

                def on_outcome(outcome: Outcome, label: str) -> None:
                    progress.advance()
                    if (outcome.error or outcome.unknown or outcome.note) and not quiet:
                        named = "" if outcome.key == outcome.position else f" ({printable(str(outcome.key))})"
                        what = printable(outcome.error or outcome.unknown or outcome.note or "")
                        progress.warn(f"warning: {label} {outcome.position}{named}: {what}")

                report = run_job(job, stop, on_outcome)
        except Interrupted as exc:
            typer.echo(f"interrupted: no result was written ({exc} received)", err=True)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            return _quiet_broken_pipe()
        except Exception:
            if not stop.requested:
                raise
            typer.echo(f"interrupted: no result was written ({stop.signal_name} received)", err=True)
            return EXIT_INTERRUPTED
    summary = report.summary
    if summary.interrupted:
        typer.echo(f"interrupted: {_how_far(report)} ({summary.reason})", err=True)
        return EXIT_INTERRUPTED
    if report.skipped:
        typer.echo(f"resumed after {report.skipped} earlier result(s); {report.done} in total", err=True)
    if summary.errors or summary.unknown:
        unknown = f" ({summary.unknown} with too few terms the model knows)" if summary.unknown else ""
        failed = summary.errors + summary.unknown
        typer.echo(f"{failed} of {summary.records} input(s) could not be classified{unknown}", err=True)
        return EXIT_SOME_ERRORS
    return EXIT_OK


def _how_far(report) -> str:  # type: ignore[no-untyped-def]  # JobReport: imported lazily
    """What an interrupted job leaves, and how to go on: --resume only continues an --output file."""
    if report.untouched:
        return f"no result line was written; {report.output} is unchanged"
    if report.resumable:
        return f"{report.done} result line(s) are complete in {report.output}; rerun with --resume to continue"
    where = report.output or "stdout"
    return f"{report.done} complete result line(s) were written to {where} (--resume needs an --output file)"


# ---- info -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InfoOptions:
    model: Optional[Path]
    model_sha256: Optional[str]
    as_json: bool
    quiet: bool


@app.command(rich_help_panel=RUN_PANEL)
def info(
    model: Annotated[
        Optional[Path],
        typer.Argument(metavar="MODEL", help="Model file (default: the shipped model).", show_default=False),
    ] = None,
    model_sha256: ModelSha256Option = None,
    as_json: Annotated[bool, flag("--json", help="Print all metadata as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Show what a model file holds: input form, vocabulary, accuracy, parity, sizes, versions."""
    invoke(InfoOptions(**locals()), run_info)


def run_info(options: InfoOptions) -> None:
    require_stdout("the model's description")
    install_stuck_run_exit()
    from imdb_edge.runtime.classifier import default_model_path
    from imdb_edge.runtime.modelfile.describe import describe_model, render_description

    summary, details = describe_model(options.model or default_model_path(), sha256=options.model_sha256)
    if options.as_json:
        emit_json({**summary, **details})
    else:
        typer.echo("\n".join(printable(line) for line in render_description(summary).splitlines()))


# ---- evaluate -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluateOptions:
    model: Optional[Path]
    model_sha256: Optional[str]
    data: Optional[str]
    text_column: str
    label_column: str
    as_json: bool
    plot: Optional[Path]
    quiet: bool


@app.command(rich_help_panel=RUN_PANEL)
def evaluate(
    model: ModelOption = None,
    model_sha256: ModelSha256Option = None,
    data: DataOption = None,
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    as_json: Annotated[
        bool,
        flag("--json", help="Print one document: accuracy, per_class, confusion, log_loss, ece and the rest."),
    ] = False,
    plot: Annotated[
        Optional[Path],
        typer.Option(metavar="PNG", help="Write a reliability diagram (needs the [plot] extra)."),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """How good a model file is on labelled data (no TensorFlow needed).

    On the IMDB archive it scores the test split; on your labelled file (CSV, TSV,
    JSON Lines, or a folder of label sub-folders) every row. Reports accuracy (and
    the always-the-commonest-label baseline), per-label precision, recall and F1,
    the confusion matrix, log loss, and calibration: the expected calibration error
    over 10 confidence bins (`--plot` draws the reliability diagram).

    Examples:

    ```
    imdb-edge evaluate
    imdb-edge evaluate -m my.int8.onnx --data my-test.csv --json
    ```
    """
    invoke(EvaluateOptions(**locals()), run_evaluate)


def run_evaluate(options: EvaluateOptions) -> None:
    if options.plot:
        require_extra("plot", "evaluate --plot")
    import numpy as np

    from imdb_edge.cli.progress import LiveCount
    from imdb_edge.evaluation.labelled_rows import evaluation_rows
    from imdb_edge.evaluation.metrics import evaluate_probabilities, probabilities_of
    from imdb_edge.evaluation.report import render_evaluation
    from imdb_edge.runtime.classifier import Classifier, default_model_path

    path = options.model or default_model_path()
    classifier = Classifier.load(path, sha256=options.model_sha256)
    rows = evaluation_rows(options.data, classifier.labels, options.text_column, options.label_column)
    chunk = 2048
    scores = []
    enabled = sys.stderr.isatty() and not console.is_quiet()
    with LiveCount(enabled=enabled, what="scored", total=len(rows.texts)) as progress:
        for start in range(0, len(rows.texts), chunk):
            scores.append(classifier.scores(rows.texts[start : start + chunk]))
            progress.advance(len(scores[-1]))
    probabilities = probabilities_of(np.concatenate(scores).astype(np.float64))
    document = {
        "model": str(path),
        "data": rows.source,
        "what": rows.what,
        **evaluate_probabilities(probabilities, rows.truth, classifier.labels),
        "bad_rows": rows.bad.to_dict(),
    }
    if options.plot:
        from imdb_edge.evaluation.plot import plot_reliability

        plot_reliability(document, options.plot, f"{Path(path).name} on {rows.what}")
    if options.as_json:
        emit_json(document)
    else:
        typer.echo(render_evaluation(document))


# ---- bench ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchOptions:
    model: Optional[list[Path]]
    data: Optional[str]
    reviews: int
    batch: str
    threads: Optional[str]
    mode: str
    text: str
    min_runs: int
    min_seconds: float
    as_json: bool
    output: Optional[Path]
    plot: Optional[Path]
    quiet: bool


@app.command(rich_help_panel=RUN_PANEL)
def bench(
    model: Annotated[
        Optional[list[Path]],
        typer.Option("--model", "-m", metavar="MODEL", help="Model file to measure; repeat to compare files."),
    ] = None,
    data: Annotated[
        Optional[str],
        typer.Option(
            metavar="PATH",
            help="The IMDB archive or aclImdb/ folder whose test reviews to time on. Default: $IMDB_EDGE_DATA, "
            "then the user cache; with neither, the 256 real test reviews shipped with imdb-edge (never a download).",
        ),
    ] = None,
    reviews: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Time on N test reviews drawn at random (seed 0), cycled in turn; the sample has 256. "
            "benchmarks/peers.py draws the same.",
        ),
    ] = 500,
    batch: Annotated[
        str, typer.Option(metavar="N,N,...", help="Batch sizes, comma-separated (each at most 65,536).")
    ] = "1,8,64,512",
    threads: Annotated[
        Optional[str],
        typer.Option(metavar="N,N,...", help="onnxruntime intra-op threads to try (default 1..cores)."),
    ] = None,
    mode: Annotated[
        str, typer.Option(metavar="e2e,model", help="e2e (raw text -> score) and/or model (prepared input -> score).")
    ] = "e2e,model",
    text: Annotated[
        str,
        typer.Option(
            metavar="full,first-sentence",
            help="What to time of each review: the whole review (full) and/or its first sentence (first-sentence, "
            "a one-line text as users type it); each is reported on its own.",
        ),
    ] = "full,first-sentence",
    min_runs: Annotated[int, typer.Option(metavar="N", help="At least this many timed runs per case.")] = 50,
    min_seconds: Annotated[
        float, typer.Option(metavar="SECONDS", help="And at least this long per case (a case stops at 100,000 runs).")
    ] = 1.0,
    as_json: Annotated[
        bool,
        flag(
            "--json",
            help="Print the report as JSON: the whole report (machine, settings, raw samples); with --output, the "
            "report less its raw samples (the file has them).",
        ),
    ] = False,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the whole JSON report (raw samples included) here; the terminal then gets only the table "
            "(or, with --json, the report less its samples).",
        ),
    ] = None,
    plot: Annotated[
        Optional[Path],
        typer.Option(metavar="PNG", help="Write a latency histogram PNG (needs the [plot] extra)."),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Measure latency and throughput of model files on this device (no TensorFlow needed).

    One text is one real IMDB test review, or its first sentence (--text), raw text
    to score: each case cycles through --reviews test reviews of the data (or the
    shipped sample), after one warm-up; the table shows p50/p90/p99 and mean ± std per call, the CPU time per
    call (steadier than the wall clock on a busy machine), and reviews per second.
    Load time and the first inference are reported separately. With several --model
    files it names the fastest one for single reviews here (int8 is not faster
    everywhere).

    Example:

    ```
    imdb-edge bench -m ref.onnx -m ref.int8.onnx --threads 1 --batch 1,64 -o report.json
    ```
    """
    invoke(BenchOptions(**locals()), run_bench)


def whole_numbers(value: str, flag_name: str) -> list[int]:
    """A comma-separated list of whole numbers >= 1, as `--batch 1,64` gives it: each once, in order."""
    try:
        items = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ImdbEdgeError(f"{flag_name} must be comma-separated whole numbers, got {value!r}") from None
    if not items or min(items) < 1:
        raise ImdbEdgeError(f"{flag_name} must be whole numbers >= 1, got {value!r}")
    return list(dict.fromkeys(items))


def comma_choices(value: str, allowed: tuple[str, ...], flag_name: str) -> list[str]:
    """A comma-separated list of some of `allowed`, as `--mode e2e,model` gives it: each once, in order."""
    items = list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if not items or set(items) - set(allowed):
        raise ImdbEdgeError(f"{flag_name} takes {' and/or '.join(allowed)}, got {value!r}")
    return items


def run_bench(options: BenchOptions) -> None:
    if options.plot:
        require_extra("plot", "bench --plot")
    from imdb_edge.bench import report
    from imdb_edge.bench.latency import MODES, BenchSettings, CaseResult
    from imdb_edge.bench.latency import run_bench as run_cases
    from imdb_edge.bench.reviews import TEXT_KINDS, review_pool
    from imdb_edge.runtime.classifier import default_model_path

    modes = comma_choices(options.mode, MODES, "--mode")
    if options.min_runs < 1 or options.min_seconds < 0:
        raise ImdbEdgeError("--min-runs must be >= 1 and --min-seconds >= 0")
    if options.reviews < 1:
        raise ImdbEdgeError(f"--reviews must be a whole number >= 1, got {options.reviews}")
    all_cores = list(range(1, (os.cpu_count() or 1) + 1))
    threads = whole_numbers(options.threads, "--threads") if options.threads else all_cores
    settings = BenchSettings(
        models=list(options.model or [default_model_path()]),
        batch_sizes=whole_numbers(options.batch, "--batch"),
        threads=threads,
        modes=modes,
        min_runs=options.min_runs,
        min_seconds=options.min_seconds,
        texts=comma_choices(options.text, tuple(TEXT_KINDS), "--text"),
    )
    pool = review_pool(options.data, options.reviews)
    console.info(f"timing on {report.describe_pool(pool.describe())}")

    def progress(index: int, total: int, result: CaseResult) -> None:
        console.info(
            f"[{index}/{total}] {result.model} {result.text} {result.mode} threads={result.threads} "
            f"batch={result.batch}"
        )

    results, loads = run_cases(settings, pool.texts, progress)
    document = report.report_document(results, loads, settings.to_dict(pool.describe()))
    if options.output:
        from imdb_edge.atomic import write_json

        write_json(options.output, document)
    if options.plot:
        from imdb_edge.bench.plot import plot_histogram

        plot_histogram(results, options.plot)
    if options.as_json:
        # the raw samples are most of a report's megabytes: with --output they are in the file only
        emit_json(
            {**report.without_samples(document), "report_file": str(options.output)} if options.output else document
        )
    else:
        typer.echo(report.summary_text(document, results, loads))
        if options.output:
            typer.echo(f"report with every raw sample: {options.output}")
