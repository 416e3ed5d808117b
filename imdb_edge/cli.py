"""The `imdb-edge` command: train, sweep, export, classify, info, bench.

Heavy frameworks (TensorFlow, tf2onnx) are imported inside the commands that need
them, so `classify`, `info` and `bench` start in a fraction of a second, and those
commands check for their extra before doing anything (imdb_edge/extras.py).
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from imdb_edge import console
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.extras import install_hint, require_extra
from imdb_edge.runtime.records import DEFAULT_MAX_CHARS, FORMATS
from imdb_edge.runtime.schema import INPUT_FORMS

RUN_PANEL = "Run a model (base install)"
TRAIN_PANEL = 'Train and export (need the extra: pip install "imdb-edge\\[train]")'
COMMAND_ORDER = ("classify", "info", "bench", "train", "sweep", "export")


class NewcomerOrder(typer.core.TyperGroup):
    """List the commands a first-time user runs (base install) before the training ones."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(names))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        for param in getattr(command, "params", ()):
            if param.param_type_name == "argument" and param.metavar:
                # The metavar (TEXT, MODEL, ...) says what to give; Typer would add a Python type beside it.
                param.display_type_rich = lambda ctx: None
        return command


app = typer.Typer(
    name="imdb-edge",
    cls=NewcomerOrder,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

F = TypeVar("F", bound=Callable[..., Any])
E = TypeVar("E", bound=Enum)


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


class _Choice(str, Enum):
    """A choice whose str() is its value, as Click and every Typer version expect."""

    def __str__(self) -> str:
        return str(self.value)


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    return _Choice(name, {v: v for v in values})  # type: ignore[return-value]


def choice(kind: type[E]) -> dict[str, Any]:
    """Option settings for a choice: `[a|b|c]` in help, completion, and Click's plain error message."""
    names = [member.value for member in kind]

    def parse(value: Any) -> E:
        if isinstance(value, kind):
            return value
        try:
            return kind(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(names)}") from None

    def complete(incomplete: str) -> list[str]:
        return [name for name in names if name.startswith(incomplete)]

    return {"parser": parse, "metavar": f"[{'|'.join(names)}]", "autocompletion": complete}


def _set_quiet(value: bool) -> bool:
    console.set_quiet(value)
    return value


QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        callback=_set_quiet,
        metavar="",
        help="Only results and errors: no progress or notes on stderr.",
    ),
]


def flag(*decls: str, help: str) -> Any:
    """An on/off option shown without a `<bool>` type in help."""
    return typer.Option(*decls, metavar="", help=help)


def output_alias() -> Any:
    """`--out`, the spelling train/export/sweep used before `--output`, kept working but hidden."""
    return typer.Option("--out", hidden=True, metavar="PATH")


def one_output(output: Optional[Path], old_spelling: Optional[Path]) -> Optional[Path]:
    if output and old_spelling and output != old_spelling:
        raise typer.BadParameter("give --output once (--out is its old spelling)", param_hint="'--output'")
    return output or old_spelling


def _show_version(value: bool) -> None:
    if value:
        from imdb_edge.versions import version_line

        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            metavar="",
            help="Print the versions of imdb-edge, onnxruntime, numpy and Python, then exit.",
        ),
    ] = False,
) -> None:
    """Classify IMDB movie reviews as positive or negative on CPU-only devices, and train, export
    and benchmark the models that do it.

    `classify`, `info` and `bench` need only the base install (numpy, onnxruntime).
    `train`, `sweep` and `export` of a run folder need the training extra:
    `pip install "imdb-edge[train]"`; making a text-input model from an exported
    one (`export MODEL.onnx --input text`) needs only `pip install "imdb-edge[onnx]"`.
    """


def _finite(value: Any) -> Any:
    """JSON has no Infinity or NaN: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _emit_json(document: Any) -> None:
    typer.echo(json.dumps(_finite(document), indent=2, allow_nan=False))


def _prepare_training(what: str) -> None:
    """Refuse in one line without the [train] extra; else import TensorFlow without its log chatter."""
    require_extra("train", what)
    from imdb_edge.train import import_tensorflow_quietly

    import_tensorflow_quietly()


# ---- train ----------------------------------------------------------------------
from imdb_edge.choices import (  # noqa: E402
    ACTIVATIONS,
    ARCHITECTURES,
    LOSSES,
    OPTIMIZERS,
    TERM_RANKINGS,
    VALIDATION_GROUPS,
)
from imdb_edge.runtime.vectorizer import WEIGHTINGS  # noqa: E402

Activation = _choices("Activation", ACTIVATIONS)
Architecture = _choices("Architecture", ARCHITECTURES)
Weighting = _choices("Weighting", WEIGHTINGS)
TermRanking = _choices("TermRanking", TERM_RANKINGS)
ValidationGroups = _choices("ValidationGroups", VALIDATION_GROUPS)
Loss = _choices("Loss", LOSSES)
Optimizer = _choices("Optimizer", OPTIMIZERS)

DataOption = Annotated[
    Optional[str],
    typer.Option(
        "--data",
        metavar="PATH",
        help="aclImdb/ folder or .tar.gz archive. Default: $IMDB_EDGE_DATA, then the user "
        "cache, then a verified download of the official archive.",
    ),
]


@app.command(rich_help_panel=TRAIN_PANEL)
@cli_errors
def train(
    ctx: typer.Context,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", metavar="RUN_DIR", help="Run folder to create. Default: runs/train-TIME (the start time)."
        ),
    ] = None,
    out: Annotated[Optional[Path], output_alias()] = None,
    data: DataOption = None,
    profile: Annotated[
        Optional[str],
        typer.Option(
            metavar="NAME",
            help="Named settings shipped with imdb-edge, e.g. fourgrams (the shipped model), compact or reference.",
        ),
    ] = None,
    config: Annotated[
        Optional[Path],
        typer.Option(
            "--config", "-c", metavar="TOML", help="TOML settings; override the profile, flags override both."
        ),
    ] = None,
    architecture: Annotated[
        Optional[Architecture],  # type: ignore[valid-type]
        typer.Option(
            **choice(Architecture),
            help="dense: multi-hot input (the reference). bag: term ids, for big n-gram vocabularies.",
        ),
    ] = None,
    hidden: Annotated[
        Optional[str],
        typer.Option(metavar="SIZES", help="Hidden layer sizes, e.g. 16 or 16,16 (default 16,16), or none."),
    ] = None,
    activation: Annotated[
        Optional[Activation],  # type: ignore[valid-type]
        typer.Option(**choice(Activation), help="Hidden activation (default relu)."),
    ] = None,
    loss: Annotated[
        Optional[Loss],  # type: ignore[valid-type]
        typer.Option(**choice(Loss), help="Loss (default binary_crossentropy)."),
    ] = None,
    optimizer: Annotated[
        Optional[Optimizer],  # type: ignore[valid-type]
        typer.Option(**choice(Optimizer), help="Optimizer (default rmsprop)."),
    ] = None,
    learning_rate: Annotated[
        Optional[float], typer.Option(metavar="RATE", help="Learning rate (default: the optimizer's).")
    ] = None,
    epochs: Annotated[Optional[int], typer.Option(metavar="N", help="Maximum epochs (default 20).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(metavar="N", help="Batch size (default 512).")] = None,
    validation_size: Annotated[
        Optional[int], typer.Option(metavar="N", help="Training reviews held out for validation (default 10000).")
    ] = None,
    seed: Annotated[
        Optional[int], typer.Option(metavar="N", help="Seed for weights and batch order (default 0).")
    ] = None,
    early_stopping: Annotated[
        Optional[bool],
        typer.Option(
            "--early-stopping/--no-early-stopping",
            metavar="",
            help="Stop when validation loss stops improving and keep the best epoch (default on).",
        ),
    ] = None,
    patience: Annotated[
        Optional[int], typer.Option(metavar="N", help="Epochs without improvement before stopping (default 2).")
    ] = None,
    dropout: Annotated[
        Optional[float], typer.Option(metavar="RATE", help="Dropout after each hidden layer (default 0).")
    ] = None,
    l2: Annotated[
        Optional[float], typer.Option(metavar="WEIGHT", help="L2 weight penalty on hidden layers (default 0).")
    ] = None,
    max_features: Annotated[Optional[int], typer.Option(metavar="N", help="Vocabulary size (default 10000).")] = None,
    ngrams: Annotated[
        Optional[int], typer.Option(metavar="N", help="Longest word n-gram in the vocabulary (default 1).")
    ] = None,
    min_df: Annotated[
        Optional[int], typer.Option(metavar="N", help="Keep terms found in at least this many reviews (default 1).")
    ] = None,
    hash_buckets: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            help="Hash every n-gram into N buckets instead of keeping a vocabulary (0: vocabulary, the default). "
            "Nothing to store or look up: faster to load and run; needs --architecture bag.",
        ),
    ] = None,
    negation: Annotated[
        Optional[bool],
        typer.Option(
            "--negation/--no-negation",
            help="Mark the words after a negator (no, not, never, n't, ...) up to the clause's end ('not "
            "~good', tokenizer ascii-split-neg-v1), so 'not good' and 'good' are different words (default: off).",
            show_default=False,
        ),
    ] = None,
    weighting: Annotated[
        Optional[Weighting],  # type: ignore[valid-type]
        typer.Option(
            **choice(Weighting),
            help="binary: 0/1 features (default). nb: scaled by Naive-Bayes log-count ratios.",
        ),
    ] = None,
    term_ranking: Annotated[
        Optional[TermRanking],  # type: ignore[valid-type]
        typer.Option(
            **choice(TermRanking),
            help="Which --max-features terms to keep. frequency: found in the most reviews (default). nb-df: "
            "the largest |Naive-Bayes log-count ratio| x reviews holding it, counted on the fit rows. nb-movies: "
            "the same ratio x movies whose reviews hold it, so a name seen in one film's 30 reviews counts once "
            "(needs train/urls_*.txt). Neither with --hash-buckets, which keeps no vocabulary.",
        ),
    ] = None,
    validation_groups: Annotated[
        Optional[ValidationGroups],  # type: ignore[valid-type]
        typer.Option(
            **choice(ValidationGroups),
            help="What --validation-size holds out. review: reviews at random (default). movie: whole movies "
            "(from the archive's urls files) until at least that many reviews, as the test set has other movies "
            "than training.",
        ),
    ] = None,
    overwrite: Annotated[bool, flag("--overwrite", help="Replace --output if it exists.")] = False,
    as_json: Annotated[bool, flag("--json", help="Print the metrics document as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Train a classifier on the IMDB reviews and write a run folder. Needs `imdb-edge[train]`.

    The run folder holds model.keras, vectorizer.json, history.json,
    learning_curves.png and metrics.json (test accuracy, best epoch, timings,
    data checksum, versions, the full config).

    Examples:

    ```
    imdb-edge train --hidden 16 --epochs 4 --seed 0 --output runs/ref16
    imdb-edge train --profile fourgrams --output runs/fourgrams
    ```
    """
    _prepare_training("imdb-edge train")
    from imdb_edge.train.options import config_from_options, summary_line
    from imdb_edge.train.run import train_to_folder

    settings = config_from_options(profile, config, ctx.params)
    out = one_output(output, out) or Path("runs") / f"train-{datetime.now():%Y%m%d-%H%M%S}"
    document = train_to_folder(settings, out, data=data, overwrite=overwrite)
    if as_json:
        _emit_json(document)
    else:
        typer.echo(summary_line(document, out))


@app.command(rich_help_panel=TRAIN_PANEL)
@cli_errors
def sweep(
    grid: Annotated[
        Path,
        typer.Argument(
            metavar="GRID",
            help="Sweep TOML: seeds, [defaults], one [[runs]] table per config; seed_splits = true gives each "
            "seed its own validation split (split_seed = seed).",
        ),
    ],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", metavar="DIR", help="Folder for results.jsonl/.md/.csv (resumes if present). Required."
        ),
    ] = None,
    out: Annotated[Optional[Path], output_alias()] = None,
    data: DataOption = None,
    seeds: Annotated[
        Optional[int], typer.Option(metavar="N", help="Use seeds 0..N-1 instead of the file's list.")
    ] = None,
    validation_only: Annotated[
        bool,
        flag(
            "--validation-only",
            help="Model selection: do not evaluate the test set at all (report test once, later).",
        ),
    ] = False,
    as_json: Annotated[bool, flag("--json", help="Print the summary table as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Train a grid of configs, each over several seeds; write mean ± std tables. Needs `imdb-edge[train]`.

    Finished runs are appended to DIR/results.jsonl as they end, so running the
    same command again resumes an interrupted sweep. A row is reused only for the
    same settings, seed and dataset (rows record its fingerprint).

    Example:

    ```
    imdb-edge sweep configs/sweeps/reference.toml --output runs/sweep-reference
    ```
    """
    out = one_output(output, out)
    if out is None:
        raise typer.BadParameter("a results folder is required", param_hint="'--output' / '-o'")
    _prepare_training("imdb-edge sweep")
    from imdb_edge.train.sweep import load_plan, run_sweep, to_markdown

    plan = load_plan(grid, seeds=seeds)
    table = run_sweep(plan, out, data=data, validation_only=validation_only)
    if as_json:
        _emit_json(table)
    else:
        typer.echo(to_markdown(table))
        typer.echo(f"wrote {out}/results.md and results.csv")


InputForm = _choices("InputForm", INPUT_FORMS)


class Quantization(_Choice):
    int8 = "int8"


@app.command(rich_help_panel=TRAIN_PANEL)
@cli_errors
def export(
    source: Annotated[
        Optional[Path],
        typer.Argument(
            metavar="RUN_DIR|MODEL.onnx",
            help="A run folder from `imdb-edge train` (needs the [train] extra), or a token-id .onnx file "
            "from `imdb-edge export` to rewrap with `--input text` (needs only the [onnx] extra). "
            "Default: the model shipped with imdb-edge.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="The .onnx file to write. Required.")
    ] = None,
    out: Annotated[Optional[Path], output_alias()] = None,
    input_form: Annotated[
        InputForm,  # type: ignore[valid-type]
        typer.Option(
            "--input",
            **choice(InputForm),
            help="token_ids: sparse graph, fastest from Python. dense: the reference's 0/1 vector. "
            "text: raw strings in, tokenizer inside the graph, for apps in any language.",
        ),
    ] = InputForm.token_ids,  # type: ignore[attr-defined]
    quantize: Annotated[
        Optional[Quantization],
        typer.Option(**choice(Quantization), help="Write int8 weights (onnxruntime dynamic)."),
    ] = None,
    data: DataOption = None,
    force: Annotated[bool, flag("--force", help="Write even if parity or the int8 accuracy check fails.")] = False,
    as_json: Annotated[bool, flag("--json", help="Print the export report as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Convert a trained run to one self-contained ONNX file, checked against Keras.

    The file carries the vocabulary, labels, threshold, training config and metrics,
    and the parity report. Parity is checked on the whole test set: fp32 must match
    Keras within 1e-5 with identical labels; int8 may lose at most 0.5 points of
    accuracy. Otherwise nothing is written (unless --force).

    Given an exported token-id .onnx file instead of a run folder (or nothing: the
    shipped model), `--input text` puts the tokenizer inside the graph without
    TensorFlow; the result must score the shipped sample reviews (or the --data
    test set) exactly like its source.

    Examples:

    ```
    imdb-edge export runs/ref16 --output ref16.int8.onnx --quantize int8
    imdb-edge export --input text --output imdb.text.onnx
    ```
    """
    out = one_output(output, out)
    if out is None:
        raise typer.BadParameter("the .onnx file to write is required", param_hint="'--output' / '-o'")
    if source is None or source.is_file():
        _export_from_model_file(source, out, input_form, quantize, data, as_json)
        return
    _prepare_training("imdb-edge export RUN_DIR")
    from imdb_edge.export.pipeline import export_run

    report = export_run(
        source, out, input_form=input_form.value, quantize=quantize.value if quantize else None, data=data, force=force
    )
    if as_json:
        _emit_json(report)
    else:
        typer.echo(
            f"wrote {out} ({report['bytes'] / 1024:.0f} KB, {report['model']['precision']}, "
            f"{report['model']['input_form']} input, test accuracy {100 * report['export']['test_accuracy']:.2f}%)"
        )


def _export_from_model_file(
    source: Optional[Path],
    out: Path,
    input_form: InputForm,
    quantize: Optional[Quantization],
    data: Optional[str],
    as_json: bool,
) -> None:
    """`export MODEL.onnx --input text`: rewrap an exported model, with only the [onnx] extra."""
    if input_form is not InputForm.text:
        raise ImdbEdgeError(
            "from a .onnx file only --input text can be made (other forms are exported from a run folder)"
        )
    if quantize is not None:
        raise ImdbEdgeError("--quantize applies to a run folder; a .onnx file keeps its own precision")
    require_extra("onnx", "imdb-edge export MODEL.onnx --input text")
    from imdb_edge.export.rewrap import rewrap_as_text
    from imdb_edge.runtime.bench import load_reviews
    from imdb_edge.runtime.classifier import default_model_path

    report = rewrap_as_text(source or default_model_path(), out, load_reviews(data), data or "shipped sample")
    if as_json:
        _emit_json(report)
    else:
        typer.echo(f"wrote {out} ({report['bytes'] / 1024:.0f} KB, {report['model']['precision']}, text input)")


InputFormat = _choices("InputFormat", FORMATS)


ModelOption = Annotated[
    Optional[Path],
    typer.Option(
        "--model",
        "-m",
        metavar="MODEL",
        help="A .onnx file from `imdb-edge export`. Default: $IMDB_EDGE_MODEL, else the shipped model.",
    ),
]


@app.command(rich_help_panel=RUN_PANEL)
@cli_errors
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
    workers: Annotated[
        Optional[int],
        typer.Option(metavar="N", min=1, help="Processes for --file (default: the CPU count, at most 8)."),
    ] = None,
    threads: Annotated[int, typer.Option(metavar="N", min=1, help="onnxruntime intra-op threads per process.")] = 1,
    max_chars: Annotated[
        int, typer.Option(metavar="N", min=1, help="Longer reviews are cut to this many characters (with a note).")
    ] = DEFAULT_MAX_CHARS,
    quiet: QuietOption = False,
) -> None:
    """Classify reviews as positive or negative: one output line per input, in order.

    Plain output is `label<TAB>score` per review; a review that cannot be classified
    (empty, not UTF-8, malformed JSON line) gets `error<TAB>reason` and a warning on
    stderr, and the exit code is 1; every other review is still classified.
    `--quiet` drops the live count and the per-review warnings (the output lines and
    the exit code still say what failed).

    Examples:

    ```
    imdb-edge classify "This movie was a waste of time"
    imdb-edge classify --file reviews.txt --json --output results.jsonl
    cat reviews.txt | imdb-edge classify -
    ```
    """
    from imdb_edge.runtime.classify_job import ClassifyOptions, run_classify

    options = ClassifyOptions(
        texts=list(texts or []),
        file=file,
        model=model,
        as_json=as_json,
        threshold=threshold,
        output=output,
        resume=resume,
        input_format=input_format.value,
        workers=workers,
        threads=threads,
        max_chars=max_chars,
    )
    code = run_classify(options)
    if code:
        raise typer.Exit(code)


@app.command(rich_help_panel=RUN_PANEL)
@cli_errors
def info(
    model: Annotated[
        Optional[Path],
        typer.Argument(metavar="MODEL", help="Model file (default: the shipped model).", show_default=False),
    ] = None,
    as_json: Annotated[bool, flag("--json", help="Print all metadata as JSON.")] = False,
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


@app.command(rich_help_panel=RUN_PANEL)
@cli_errors
def bench(
    model: Annotated[
        Optional[list[Path]],
        typer.Option("--model", "-m", metavar="MODEL", help="Model file to measure; repeat to compare files."),
    ] = None,
    data: Annotated[
        Optional[str],
        typer.Option(metavar="PATH", help="Time on this dataset's test reviews (default: 256 shipped real reviews)."),
    ] = None,
    batch: Annotated[str, typer.Option(metavar="N,N,...", help="Batch sizes, comma-separated.")] = "1,8,64,512",
    threads: Annotated[
        Optional[str],
        typer.Option(metavar="N,N,...", help="onnxruntime intra-op threads to try (default 1..cores)."),
    ] = None,
    mode: Annotated[
        str, typer.Option(metavar="e2e,model", help="e2e (raw text -> score) and/or model (prepared input -> score).")
    ] = "e2e,model",
    min_runs: Annotated[int, typer.Option(metavar="N", help="At least this many timed runs per case.")] = 50,
    min_seconds: Annotated[float, typer.Option(metavar="SECONDS", help="And at least this long per case.")] = 1.0,
    as_json: Annotated[bool, flag("--json", help="Print the report (machine, settings, raw samples) as JSON.")] = False,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Also write the JSON report here.")
    ] = None,
    plot: Annotated[
        Optional[Path],
        typer.Option(metavar="PNG", help=f"Write a latency histogram PNG (needs matplotlib: {install_hint('plot')})."),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Measure latency and throughput of model files on this device (no TensorFlow needed).

    Each case gets one warm-up, then timed runs; the table shows p50/p90/p99 and
    mean ± std per call, and reviews per second. Load time and the first inference
    are reported separately. With several --model files it names the fastest one
    for single reviews here (int8 is not faster everywhere).

    Example:

    ```
    imdb-edge bench -m ref.onnx -m ref.int8.onnx --threads 1 --batch 1,64
    ```
    """
    if plot:
        require_extra("plot", "bench --plot")
    from imdb_edge.runtime import bench as bench_module
    from imdb_edge.runtime.classifier import default_model_path

    models = list(model or [default_model_path()])
    settings = bench_module.BenchSettings.from_options(models, batch, threads, mode, min_runs, min_seconds)
    texts = bench_module.load_reviews(data)

    def progress(index: int, total: int, result: bench_module.CaseResult) -> None:
        console.info(f"[{index}/{total}] {result.model} {result.mode} threads={result.threads} batch={result.batch}")

    results, loads = bench_module.run_bench(settings, texts, progress)
    document = bench_module.report_document(results, loads, settings.to_dict(len(texts), data or "shipped sample"))
    if output:
        from imdb_edge.atomic import write_json

        write_json(output, document)
    if plot:
        bench_module.plot_histogram(results, plot)
    if as_json:
        _emit_json(document)
    else:
        typer.echo(bench_module.summary_text(document, results, loads))


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
    # One name in usage lines and completion, however it was started (`python -m imdb_edge` too).
    app(prog_name="imdb-edge")


if __name__ == "__main__":
    sys.exit(main())
