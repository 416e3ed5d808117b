"""The `imdb-edge` command: train, sweep, export, classify, info, bench.

Heavy frameworks (TensorFlow, tf2onnx) are imported inside the commands that need
them, so `classify`, `info` and `bench` start in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from imdb_edge.errors import ImdbEdgeError

app = typer.Typer(
    name="imdb-edge",
    help="Train, export and run the IMDB movie-review sentiment classifier on CPU-only devices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])


def cli_errors(command: F) -> F:
    """Turn user-fixable errors into one line on stderr and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ImdbEdgeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except OSError as exc:  # disk full, permissions, a path that vanished: the user can fix these
            where = f": {exc.filename}" if exc.filename else ""
            typer.echo(f"error: {exc.strerror or exc}{where}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    return Enum(name, {v: v for v in values}, type=str)  # type: ignore[return-value]


@app.callback()
def root() -> None:
    """Train, export and run the IMDB movie-review sentiment classifier on CPU-only devices."""


def _emit_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2))


# ---- train ----------------------------------------------------------------------
from imdb_edge.runtime.vectorizer import WEIGHTINGS  # noqa: E402
from imdb_edge.train.config import ACTIVATIONS, ARCHITECTURES, LOSSES, OPTIMIZERS  # noqa: E402

Activation = _choices("Activation", ACTIVATIONS)
Architecture = _choices("Architecture", ARCHITECTURES)
Weighting = _choices("Weighting", WEIGHTINGS)
Loss = _choices("Loss", LOSSES)
Optimizer = _choices("Optimizer", OPTIMIZERS)

DataOption = Annotated[
    Optional[str],
    typer.Option(
        "--data",
        help="aclImdb/ folder or .tar.gz archive. Default: $IMDB_EDGE_DATA, then the user "
        "cache, then a verified download of the official archive.",
    ),
]


@app.command()
@cli_errors
def train(
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Run folder to create. Default: runs/train-<time>.")
    ] = None,
    data: DataOption = None,
    profile: Annotated[
        Optional[str], typer.Option(help="Named settings shipped with imdb-edge, e.g. reference or best.")
    ] = None,
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="TOML settings; override the profile, flags override both.")
    ] = None,
    architecture: Annotated[
        Optional[Architecture],  # type: ignore[valid-type]
        typer.Option(help="dense: multi-hot input (the reference). bag: term ids, for big n-gram vocabularies."),
    ] = None,
    hidden: Annotated[Optional[str], typer.Option(help="Hidden layer sizes, e.g. 16 or 16,16 (default 16,16).")] = None,
    activation: Annotated[Optional[Activation], typer.Option(help="Hidden activation (default relu).")] = None,  # type: ignore[valid-type]
    loss: Annotated[Optional[Loss], typer.Option(help="Loss (default binary_crossentropy).")] = None,  # type: ignore[valid-type]
    optimizer: Annotated[Optional[Optimizer], typer.Option(help="Optimizer (default rmsprop).")] = None,  # type: ignore[valid-type]
    learning_rate: Annotated[Optional[float], typer.Option(help="Learning rate (default: the optimizer's).")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Maximum epochs (default 20).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Batch size (default 512).")] = None,
    validation_size: Annotated[
        Optional[int], typer.Option(help="Training reviews held out for validation (default 10000).")
    ] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for weights and batch order (default 0).")] = None,
    early_stopping: Annotated[
        Optional[bool],
        typer.Option(
            "--early-stopping/--no-early-stopping",
            help="Stop when validation loss stops improving and keep the best epoch (default on).",
        ),
    ] = None,
    patience: Annotated[
        Optional[int], typer.Option(help="Epochs without improvement before stopping (default 2).")
    ] = None,
    dropout: Annotated[Optional[float], typer.Option(help="Dropout after each hidden layer (default 0).")] = None,
    l2: Annotated[Optional[float], typer.Option(help="L2 weight penalty on hidden layers (default 0).")] = None,
    max_features: Annotated[Optional[int], typer.Option(help="Vocabulary size (default 10000).")] = None,
    ngrams: Annotated[Optional[int], typer.Option(help="Longest word n-gram in the vocabulary (default 1).")] = None,
    min_df: Annotated[
        Optional[int], typer.Option(help="Keep terms found in at least this many reviews (default 1).")
    ] = None,
    weighting: Annotated[
        Optional[Weighting],  # type: ignore[valid-type]
        typer.Option(help="binary: 0/1 features (default). nb: scaled by Naive-Bayes log-count ratios."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics document as JSON.")] = False,
) -> None:
    """Train a classifier on the IMDB reviews and write a run folder.

    The run folder holds model.keras, vectorizer.json, history.json,
    learning_curves.png and metrics.json (test accuracy, best epoch, timings,
    data checksum, versions, the full config).

    Example: imdb-edge train --hidden 16 --epochs 4 --seed 0 --out runs/ref
    """
    from imdb_edge.train.config import TrainConfig, config_from_dict, load_profile, load_toml
    from imdb_edge.train.run import train_to_folder

    base = config_from_dict(load_profile(profile)) if profile else TrainConfig()
    if config:
        base = config_from_dict(load_toml(config), base=base)
    vectorizer_flags = {
        "max_features": max_features,
        "ngram_max": ngrams,
        "min_df": min_df,
        "weighting": weighting.value if weighting else None,
    }
    vectorizer_changes = {k: v for k, v in vectorizer_flags.items() if v is not None}
    settings = config_from_dict(
        {
            "architecture": architecture.value if architecture else None,
            "hidden": hidden,
            "activation": activation.value if activation else None,
            "loss": loss.value if loss else None,
            "optimizer": optimizer.value if optimizer else None,
            "learning_rate": learning_rate,
            "epochs": epochs,
            "batch_size": batch_size,
            "validation_size": validation_size,
            "seed": seed,
            "early_stopping": early_stopping,
            "patience": patience,
            "dropout": dropout,
            "l2": l2,
            "vectorizer": vectorizer_changes or None,
        },
        base=base,
    )
    out = out or Path("runs") / f"train-{datetime.now():%Y%m%d-%H%M%S}"
    document = train_to_folder(settings, out, data=data, overwrite=overwrite)
    if as_json:
        _emit_json(document)
    else:
        m = document["metrics"]
        typer.echo(
            f"test accuracy {m['test_accuracy']:.4f}  test loss {m['test_loss']:.4f}  "
            f"epoch {m['used_epoch']} of {m['epochs_run']}  ({m['train_seconds']:.1f}s training)\n"
            f"wrote {out}"
        )


@app.command()
@cli_errors
def sweep(
    grid: Annotated[Path, typer.Argument(help="Sweep TOML: seeds, [defaults], one [[runs]] table per config.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for results.jsonl/.md/.csv (resumes if present).")],
    data: DataOption = None,
    seeds: Annotated[Optional[int], typer.Option(help="Use seeds 0..N-1 instead of the file's list.")] = None,
    validation_only: Annotated[
        bool, typer.Option(help="Model selection: do not evaluate the test set at all (report test once, later).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary table as JSON.")] = False,
) -> None:
    """Train a grid of configs, each over several seeds; write mean ± std tables.

    Finished runs are appended to OUT/results.jsonl as they end, so running the
    same command again resumes an interrupted sweep.

    Example: imdb-edge sweep configs/sweeps/reference.toml --out runs/sweep-reference
    """
    from imdb_edge.train.sweep import load_plan, run_sweep, to_markdown

    plan = load_plan(grid, seeds=seeds)
    table = run_sweep(plan, out, data=data, validation_only=validation_only)
    if as_json:
        _emit_json(table)
    else:
        typer.echo(to_markdown(table))
        typer.echo(f"wrote {out}/results.md and results.csv")


class InputForm(str, Enum):
    token_ids = "token_ids"
    dense = "dense"
    text = "text"


class Quantization(str, Enum):
    int8 = "int8"


@app.command()
@cli_errors
def export(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder from `imdb-edge train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .onnx file to write.")],
    input_form: Annotated[
        InputForm,
        typer.Option(
            "--input",
            help="token_ids: sparse graph, fastest from Python (default). dense: the reference's 0/1 vector. "
            "text: raw strings in, tokenizer inside the graph, for apps in any language.",
        ),
    ] = InputForm.token_ids,
    quantize: Annotated[Optional[Quantization], typer.Option(help="Write int8 weights (onnxruntime dynamic).")] = None,
    data: DataOption = None,
    force: Annotated[bool, typer.Option(help="Write even if parity or the int8 accuracy check fails.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the export report as JSON.")] = False,
) -> None:
    """Convert a trained run to one self-contained ONNX file, checked against Keras.

    The file carries the vocabulary, labels, threshold, training config and metrics,
    and the parity report. Parity is checked on the whole test set: fp32 must match
    Keras within 1e-5 with identical labels; int8 may lose at most 0.5 points of
    accuracy. Otherwise nothing is written (unless --force).

    Example: imdb-edge export runs/ref16 --out ref16.int8.onnx --quantize int8
    """
    from imdb_edge.export.pipeline import export_run

    report = export_run(
        run_dir, out, input_form=input_form.value, quantize=quantize.value if quantize else None, data=data, force=force
    )
    if as_json:
        _emit_json(report)
    else:
        typer.echo(
            f"wrote {out} ({report['bytes'] / 1024:.0f} KB, {report['model']['precision']}, "
            f"{report['model']['input_form']} input, test accuracy {100 * report['export']['test_accuracy']:.2f}%)"
        )


class InputFormat(str, Enum):
    auto = "auto"
    lines = "lines"
    jsonl = "jsonl"


ModelOption = Annotated[
    Optional[Path],
    typer.Option(
        "--model", "-m", help="A .onnx file from `imdb-edge export`. Default: $IMDB_EDGE_MODEL, else the shipped model."
    ),
]


@app.command()
@cli_errors
def classify(
    texts: Annotated[
        Optional[list[str]], typer.Argument(help="Reviews to classify; '-' reads one review per line from stdin.")
    ] = None,
    file: Annotated[
        Optional[str],
        typer.Option(
            "--file",
            "-f",
            help="One review per line, JSON Lines with a 'text' field (.jsonl), a folder of .txt files, "
            "or '-' for stdin.",
        ),
    ] = None,
    model: ModelOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per input: id, label, score (or error).")
    ] = False,
    threshold: Annotated[
        Optional[float], typer.Option(help="Score at or above which a review is positive (default: the model's, 0.5).")
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write results here instead of stdout.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="With --output: keep its complete lines and continue after them.")
    ] = False,
    input_format: Annotated[
        InputFormat, typer.Option("--format", help="How to read --file: auto (by extension), lines, jsonl.")
    ] = InputFormat.auto,
    workers: Annotated[
        Optional[int], typer.Option(help="Processes for --file (default: the CPU count, at most 8).")
    ] = None,
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads per process.")] = 1,
    max_chars: Annotated[
        int, typer.Option(help="Longer reviews are cut to this many characters (with a note).")
    ] = 1_000_000,
) -> None:
    """Classify reviews as positive or negative: one output line per input, in order.

    Plain output is `label<TAB>score` per review; a review that cannot be classified
    (empty, not UTF-8, malformed JSON line) gets `error<TAB>reason` and a warning on
    stderr, and the exit code is 1; every other review is still classified.

    Examples:
      imdb-edge classify "This movie was a waste of time"
      imdb-edge classify --file reviews.txt --json --output results.jsonl
      cat reviews.txt | imdb-edge classify -
    """
    from imdb_edge.runtime.batch import batch_progress, classify_stream, complete_lines, default_workers
    from imdb_edge.runtime.classifier import Classifier, default_model_path
    from imdb_edge.runtime.records import iter_source, iter_texts

    texts = list(texts or [])
    if texts == ["-"] and file is None:
        texts, file = [], "-"
    if bool(texts) == (file is not None):
        raise ImdbEdgeError("give review texts as arguments or --file PATH (or '-' for stdin), not both or neither")
    if resume and output is None:
        raise ImdbEdgeError("--resume needs --output: it continues an earlier output file")
    model_path = model or default_model_path()
    classifier = Classifier.load(model_path, threads=threads, threshold=threshold)
    skip = complete_lines(output) if resume and output else 0
    records = iter_source(file, input_format.value, max_chars, skip) if file else iter_texts(texts, max_chars)
    n_workers = (workers or default_workers()) if file else 1

    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(batch_progress(enabled=bool(file) and sys.stderr.isatty()))

        def on_outcome(outcome) -> None:  # type: ignore[no-untyped-def]
            progress.advance()
            if outcome.error or outcome.note:
                where = f"line {outcome.key}" if isinstance(outcome.key, int) and file else f"input {outcome.key}"
                progress.warn(f"warning: {where}: {outcome.error or outcome.note}")

        stream = stack.enter_context(open(output, "a" if resume else "w", encoding="utf-8")) if output else sys.stdout
        summary = classify_stream(
            classifier,
            records,
            stream,
            as_json=as_json,
            workers=n_workers,
            model_path=model_path,
            on_outcome=on_outcome,
        )
    done = skip + summary.records
    if summary.interrupted:
        typer.echo(
            f"interrupted: {done} result line(s) are complete{f' in {output}' if output else ''}; "
            "rerun with --resume to continue",
            err=True,
        )
        raise typer.Exit(130)
    if skip:
        typer.echo(f"resumed after {skip} earlier result(s); {done} in total", err=True)
    if summary.errors:
        typer.echo(f"{summary.errors} of {summary.records} input(s) could not be classified", err=True)
        raise typer.Exit(1)


@app.command()
@cli_errors
def info(
    model: Annotated[Optional[Path], typer.Argument(help="Model file (default: the shipped model).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print all metadata as JSON.")] = False,
) -> None:
    """Show what a model file holds: input form, vocabulary, accuracy, parity, sizes, versions."""
    from imdb_edge.runtime.classifier import default_model_path
    from imdb_edge.runtime.describe import describe_model, render_description

    path = model or default_model_path()
    summary, details = describe_model(path)
    if as_json:
        _emit_json({**summary, **details})
    else:
        typer.echo(render_description(summary))


def _int_list(value: str, what: str) -> list[int]:
    try:
        items = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ImdbEdgeError(f"{what} must be comma-separated whole numbers, got {value!r}") from None
    if not items or min(items) < 1:
        raise ImdbEdgeError(f"{what} must be whole numbers >= 1, got {value!r}")
    return items


@app.command()
@cli_errors
def bench(
    model: Annotated[
        Optional[list[Path]], typer.Option("--model", "-m", help="Model file to measure; repeat to compare files.")
    ] = None,
    data: Annotated[
        Optional[str], typer.Option(help="Time on this dataset's test reviews (default: 256 shipped real reviews).")
    ] = None,
    batch: Annotated[str, typer.Option(help="Batch sizes, comma-separated.")] = "1,8,64,512",
    threads: Annotated[
        Optional[str], typer.Option(help="onnxruntime intra-op threads to try (default 1..cores).")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="e2e (raw text -> score) and/or model (prepared input -> score).")
    ] = "e2e,model",
    min_runs: Annotated[int, typer.Option(help="At least this many timed runs per case.")] = 50,
    min_seconds: Annotated[float, typer.Option(help="And at least this long per case.")] = 1.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report (machine, settings, raw samples) as JSON.")
    ] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the JSON report here.")] = None,
    plot: Annotated[Optional[Path], typer.Option(help="Write a latency histogram PNG (needs matplotlib).")] = None,
) -> None:
    """Measure latency and throughput of model files on this device (no TensorFlow needed).

    Each case gets one warm-up, then timed runs; the table shows p50/p90/p99 and
    mean ± std per call, and reviews per second. Load time and the first inference
    are reported separately. With several --model files it names the fastest one
    for single reviews here (int8 is not faster everywhere).

    Example: imdb-edge bench -m ref.onnx -m ref.int8.onnx --threads 1 --batch 1,64
    """
    import os

    from imdb_edge.runtime import bench as bench_module
    from imdb_edge.runtime.classifier import default_model_path

    models = list(model or [default_model_path()])
    modes = [m.strip() for m in mode.split(",") if m.strip()]
    if not modes or set(modes) - set(bench_module.MODES):
        raise ImdbEdgeError(f"--mode takes e2e and/or model, got {mode!r}")
    if min_runs < 1 or min_seconds < 0:
        raise ImdbEdgeError("--min-runs must be >= 1 and --min-seconds >= 0")
    thread_counts = _int_list(threads, "--threads") if threads else list(range(1, (os.cpu_count() or 1) + 1))
    batch_sizes = _int_list(batch, "--batch")
    texts = bench_module.load_reviews(data)
    settings = bench_module.BenchSettings(models, batch_sizes, thread_counts, modes, min_runs, min_seconds)

    def progress(index: int, total: int, result: bench_module.CaseResult) -> None:
        typer.echo(
            f"[{index}/{total}] {result.model} {result.mode} threads={result.threads} batch={result.batch}", err=True
        )

    results, loads = bench_module.run_bench(settings, texts, progress)
    document = bench_module.report_document(results, loads, settings.to_dict(len(texts), data or "shipped sample"))
    if output:
        from imdb_edge.atomic import write_json

        write_json(output, document)
    if plot:
        bench_module.plot_histogram(results, plot)
    if as_json:
        _emit_json(document)
        return
    machine = document["machine"]
    typer.echo(
        f"{machine['cpu']} ({machine['architecture']}, {machine['cores']} cores), "
        f"onnxruntime {machine['onnxruntime']}, {len(texts)} reviews from {document['settings']['review_source']}\n"
    )
    typer.echo(bench_module.markdown_table(results, loads))
    if document["recommendation"]:
        typer.echo(document["recommendation"])


@app.command("spark-classify")
@cli_errors
def spark_classify(
    source: Annotated[
        str, typer.Argument(metavar="INPUT", help="Parquet, JSON Lines or text file/folder (any Spark path).")
    ],
    target: Annotated[str, typer.Argument(metavar="OUTPUT", help="Folder to create, in the same formats.")],
    model: ModelOption = None,
    text_col: Annotated[str, typer.Option("--text-col", help="The column holding the review text.")] = "text",
    master: Annotated[
        Optional[str], typer.Option(help="Spark master, e.g. local[2]; default: spark-submit's, else local[*].")
    ] = None,
    input_format: Annotated[
        Optional[str], typer.Option("--format", help="parquet, jsonl or text (default: INPUT's extension).")
    ] = None,
    output_format: Annotated[
        Optional[str], typer.Option(help="parquet, jsonl or text (default: OUTPUT's extension, else --format).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUTPUT if it exists (never the input).")] = False,
    batch_size: Annotated[int, typer.Option(help="Reviews per model call on the executors.")] = 1024,
    partitions: Annotated[
        Optional[int], typer.Option(help="Repartition the input first (spreads a single file over executors).")
    ] = None,
    threshold: Annotated[Optional[float], typer.Option(help="Score at or above which a review is positive.")] = None,
    prefix: Annotated[str, typer.Option(help="Prefix for the label/score/error columns.")] = "",
) -> None:
    """Classify a corpus with Apache Spark (needs `pip install "imdb-edge[spark]"`); see docs/spark.md.

    OUTPUT gets every input column plus label, score and error (text output: the
    classify command's `label<TAB>score` lines). It appears only when the job has
    finished. Exit 1 if some rows could not be classified (their error says why).

    Example: imdb-edge spark-classify reviews.jsonl scored.parquet --master "local[*]"
    """
    from imdb_edge.spark.command import SparkJob, run

    summary = run(
        SparkJob(
            source,
            target,
            model,
            text_col,
            master,
            input_format,
            output_format,
            overwrite,
            batch_size,
            partitions,
            threshold,
            prefix,
        )
    )
    typer.echo(
        f"wrote {summary.target} ({summary.output_format}): {summary.rows} rows, "
        f"{summary.errors} could not be classified",
        err=True,
    )
    if summary.errors:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
