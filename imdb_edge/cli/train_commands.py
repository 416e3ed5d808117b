"""The train panel (the [train] extra; `export MODEL.onnx --input text` only [onnx]): `train`, `sweep`, `export`.

Each command is its declaration plus one `invoke` of its action; TensorFlow is imported
only when an action runs, after its extra was found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from imdb_edge.choices import (
    ACTIVATIONS,
    ARCHITECTURES,
    CLASS_WEIGHTS,
    DEFAULT_TEST_SIZE,
    LOSSES,
    OPTIMIZERS,
    PSEUDO_TARGETS,
    TERM_RANKINGS,
    VALIDATION_GROUPS,
    WEIGHTINGS,
)
from imdb_edge.cli.app import TRAIN_PANEL, app
from imdb_edge.cli.common import (
    Choice,
    DataOption,
    LabelColumnOption,
    QuietOption,
    TestFileOption,
    TestSizeOption,
    TextColumnOption,
    ValidationFileOption,
    choice,
    choices,
    data_spec,
    emit_json,
    flag,
    invoke,
    one_output,
    output_alias,
    prepare_training,
    value_of,
)
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.extras import require_extra
from imdb_edge.runtime.modelfile.schema import INPUT_FORMS

Activation = choices("Activation", ACTIVATIONS)
Architecture = choices("Architecture", ARCHITECTURES)
Weighting = choices("Weighting", WEIGHTINGS)
TermRanking = choices("TermRanking", TERM_RANKINGS)
ValidationGroups = choices("ValidationGroups", VALIDATION_GROUPS)
Loss = choices("Loss", LOSSES)
Optimizer = choices("Optimizer", OPTIMIZERS)
InputForm = choices("InputForm", INPUT_FORMS)
ClassWeight = choices("ClassWeight", CLASS_WEIGHTS)
PseudoTargets = choices("PseudoTargets", PSEUDO_TARGETS)

UnlabelledOption = Annotated[
    Optional[str],
    typer.Option(
        metavar="PATH",
        help="Unlabelled reviews for self-training (--pseudo-labels, --unlabelled-df): an archive or folder with "
        "aclImdb/train/unsup/ (aclImdb_v1_unsup.tar.gz). Default: --data's train/unsup, if it has one.",
    ),
]


class Quantization(Choice):
    int8 = "int8"


# ---- train ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainOptions:
    """Every `train` flag; None means "not given" (the profile or the TOML file decides)."""

    output: Optional[Path]
    out: Optional[Path]
    data: Optional[str]
    text_column: str
    label_column: str
    validation: Optional[str]
    test: Optional[str]
    test_size: float
    profile: Optional[str]
    config: Optional[Path]
    architecture: Optional[Architecture]  # type: ignore[valid-type]
    hidden: Optional[str]
    activation: Optional[Activation]  # type: ignore[valid-type]
    loss: Optional[Loss]  # type: ignore[valid-type]
    optimizer: Optional[Optimizer]  # type: ignore[valid-type]
    learning_rate: Optional[float]
    epochs: Optional[int]
    batch_size: Optional[int]
    validation_size: Optional[int]
    seed: Optional[int]
    early_stopping: Optional[bool]
    patience: Optional[int]
    dropout: Optional[float]
    l2: Optional[float]
    max_features: Optional[int]
    ngrams: Optional[int]
    min_df: Optional[int]
    hash_buckets: Optional[int]
    negation: Optional[bool]
    weighting: Optional[Weighting]  # type: ignore[valid-type]
    term_ranking: Optional[TermRanking]  # type: ignore[valid-type]
    validation_groups: Optional[ValidationGroups]  # type: ignore[valid-type]
    class_weight: Optional[ClassWeight]  # type: ignore[valid-type]
    unlabelled: Optional[str]
    pseudo_labels: Optional[int]
    pseudo_rounds: Optional[int]
    pseudo_weight: Optional[float]
    pseudo_targets: Optional[PseudoTargets]  # type: ignore[valid-type]
    pseudo_statistics: Optional[bool]
    pseudo_loss: Optional[bool]
    teacher_features: Optional[int]
    unlabelled_df: Optional[bool]
    overwrite: bool
    as_json: bool
    quiet: bool


@app.command(rich_help_panel=TRAIN_PANEL)
def train(
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", metavar="RUN_DIR", help="Run folder to create. Default: runs/train-TIME (the start time)."
        ),
    ] = None,
    out: Annotated[Optional[Path], output_alias()] = None,
    data: DataOption = None,
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    validation: ValidationFileOption = None,
    test: TestFileOption = None,
    test_size: TestSizeOption = DEFAULT_TEST_SIZE,
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
    class_weight: Annotated[
        Optional[ClassWeight],  # type: ignore[valid-type]
        typer.Option(
            **choice(ClassWeight),
            help="balanced: each label weighs the same in the loss, however rare (default: none, each row the same).",
        ),
    ] = None,
    unlabelled: UnlabelledOption = None,
    pseudo_labels: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            help="Self-training: a model trained first labels the unlabelled reviews, and its N most confident "
            "(half per label) are trained on too (default 0: off).",
        ),
    ] = None,
    pseudo_rounds: Annotated[
        Optional[int], typer.Option(metavar="N", help="Self-training rounds, each model the next one's teacher.")
    ] = None,
    pseudo_weight: Annotated[
        Optional[float], typer.Option(metavar="W", help="Loss weight of a pseudo-labelled review (default 1).")
    ] = None,
    pseudo_targets: Annotated[
        Optional[PseudoTargets],  # type: ignore[valid-type]
        typer.Option(**choice(PseudoTargets), help="hard: the teacher's label (default). soft: its probability."),
    ] = None,
    pseudo_statistics: Annotated[
        Optional[bool],
        typer.Option(
            "--pseudo-statistics/--no-pseudo-statistics",
            help="Count pseudo-labelled reviews in the Naive-Bayes ratios and term ranking too (default: off).",
            show_default=False,
        ),
    ] = None,
    pseudo_loss: Annotated[
        Optional[bool],
        typer.Option(
            "--pseudo-loss/--no-pseudo-loss",
            help="Train on the pseudo-labelled reviews (default: on); off, they only count in --pseudo-statistics.",
            show_default=False,
        ),
    ] = None,
    teacher_features: Annotated[
        Optional[int],
        typer.Option(metavar="N", help="The first teacher's vocabulary size (default 0: the model's own)."),
    ] = None,
    unlabelled_df: Annotated[
        Optional[bool],
        typer.Option(
            "--unlabelled-df/--no-unlabelled-df",
            help="nb-df ranking: count unlabelled reviews in each term's document frequency (default: off).",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[bool, flag("--overwrite", help="Replace --output if it exists.")] = False,
    as_json: Annotated[bool, flag("--json", help="Print the metrics document as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Train a classifier on your labelled texts (or the IMDB reviews) and write a run folder. Needs
    the [train] extra.

    The run folder holds model.keras, vectorizer.json, history.json,
    learning_curves.png and metrics.json (test accuracy, best epoch, timings,
    data checksum, versions, the full config).

    Examples:

    ```
    imdb-edge train --hidden 16 --epochs 4 --seed 0 --output runs/ref16
    imdb-edge train --profile fourgrams --output runs/fourgrams
    ```
    """
    invoke(TrainOptions(**locals()), run_train)


def run_train(options: TrainOptions) -> None:
    prepare_training("imdb-edge train")
    from imdb_edge.train.options import config_from_options, summary_line
    from imdb_edge.train.run import train_to_folder

    settings = config_from_options(options.profile, options.config, asdict(options))
    out = one_output(options.output, options.out) or Path("runs") / f"train-{datetime.now():%Y%m%d-%H%M%S}"
    spec = data_spec(
        options.data, options.text_column, options.label_column, options.validation, options.test, options.test_size
    )
    spec = replace(spec, unlabelled=options.unlabelled)
    document = train_to_folder(settings, out, data=spec, overwrite=options.overwrite)
    if options.as_json:
        emit_json(document)
    else:
        typer.echo(summary_line(document, out))


# ---- sweep ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepOptions:
    grid: Path
    output: Optional[Path]
    out: Optional[Path]
    data: Optional[str]
    text_column: str
    label_column: str
    validation: Optional[str]
    test: Optional[str]
    test_size: float
    unlabelled: Optional[str]
    seeds: Optional[int]
    folds: Optional[int]
    validation_only: bool
    as_json: bool
    quiet: bool


@app.command(rich_help_panel=TRAIN_PANEL)
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
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    validation: ValidationFileOption = None,
    test: TestFileOption = None,
    test_size: TestSizeOption = DEFAULT_TEST_SIZE,
    unlabelled: UnlabelledOption = None,
    seeds: Annotated[
        Optional[int], typer.Option(metavar="N", help="Use seeds 0..N-1 instead of the file's list.")
    ] = None,
    folds: Annotated[
        Optional[int],
        typer.Option(
            metavar="K",
            help="k-fold validation: train each run K times, validating on each K-th of the training reviews once "
            "(whole movies with validation_groups = movie); results.md adds each run's paired difference from the "
            "first run. Default: the file's folds (0: off).",
        ),
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
    """Train a grid of configs, each over several seeds; write mean ± std tables. Needs the [train] extra.

    Finished runs are appended to DIR/results.jsonl as they end, so running the
    same command again resumes an interrupted sweep. A row is reused only for the
    same settings, seed and dataset (rows record its fingerprint).

    Example:

    ```
    imdb-edge sweep configs/sweeps/reference.toml --output runs/sweep-reference
    ```
    """
    invoke(SweepOptions(**locals()), run_sweep)


def run_sweep(options: SweepOptions) -> None:
    out = one_output(options.output, options.out)
    if out is None:
        raise typer.BadParameter("a results folder is required", param_hint="'--output' / '-o'")
    prepare_training("imdb-edge sweep")
    from imdb_edge.train import sweep as sweeps

    plan = sweeps.load_plan(options.grid, seeds=options.seeds, folds=options.folds)
    spec = data_spec(
        options.data, options.text_column, options.label_column, options.validation, options.test, options.test_size
    )
    spec = replace(spec, unlabelled=options.unlabelled)
    table = sweeps.run_sweep(plan, out, data=spec, validation_only=options.validation_only)
    if options.as_json:
        emit_json(table)
    else:
        typer.echo((out / "results.md").read_text(encoding="utf-8"))
        typer.echo(f"wrote {out}/results.md and results.csv")


# ---- export ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    source: Optional[Path]
    output: Optional[Path]
    out: Optional[Path]
    input_form: InputForm  # type: ignore[valid-type]
    quantize: Optional[Quantization]
    data: Optional[str]
    force: bool
    overwrite: bool
    as_json: bool
    quiet: bool


@app.command(rich_help_panel=TRAIN_PANEL)
def export(
    source: Annotated[
        Optional[Path],
        typer.Argument(
            metavar="RUN_DIR|MODEL.onnx",
            help="A run folder from `imdb-edge train` (needs the [train] extra), or a token-id .onnx file "
            "from `imdb-edge export` to rewrap with `--input text` or `text_fast` (needs only the [onnx] extra). "
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
            "text: raw strings in, tokenizer inside the graph, standard ONNX operators only: runs on any "
            "onnxruntime 1.17+, slowly. text_fast: the same inputs and outputs, several times faster and smaller, "
            "but needs onnxruntime's contrib operators (Tokenizer, MurmurHash3: in the standard builds for "
            "Python, Node.js, C#, Java, C/C++ and onnxruntime-web's wasm, not in minimal builds); no negation "
            "models.",
        ),
    ] = InputForm.token_ids,  # type: ignore[attr-defined]
    quantize: Annotated[
        Optional[Quantization],
        typer.Option(**choice(Quantization), help="Write int8 weights (onnxruntime dynamic)."),
    ] = None,
    data: DataOption = None,
    force: Annotated[bool, flag("--force", help="Write even if parity or the int8 accuracy check fails.")] = False,
    overwrite: Annotated[
        bool, flag("--overwrite", help="Replace --output if it exists (only once every check has passed).")
    ] = False,
    as_json: Annotated[bool, flag("--json", help="Print the export report as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Convert a trained run to one self-contained ONNX file, checked against Keras.

    The file carries the vocabulary, labels, threshold, training config and metrics,
    and the parity report. Parity is checked on the whole test set: fp32 must match
    Keras within 1e-5 with identical labels; int8 may lose at most 0.5 points of
    accuracy. Otherwise nothing is written (unless --force).

    Given an exported token-id .onnx file instead of a run folder (or nothing: the
    shipped model), `--input text` or `--input text_fast` puts the tokenizer inside
    the graph without TensorFlow; the result must score the shipped sample reviews
    (or the --data test set) like its source (labels equal, scores within 1e-5).

    Examples:

    ```
    imdb-edge export runs/ref16 --output ref16.int8.onnx --quantize int8
    imdb-edge export --input text --output imdb.text.onnx
    imdb-edge export --input text_fast --output imdb.fast.onnx
    ```
    """
    invoke(ExportOptions(**locals()), run_export)


def run_export(options: ExportOptions) -> None:
    out = one_output(options.output, options.out)
    if out is None:
        raise typer.BadParameter("the .onnx file to write is required", param_hint="'--output' / '-o'")
    refuse_existing_output(out, options.source, options.overwrite)
    if options.source is None or options.source.is_file():
        report = _export_from_model_file(options, out)
    else:
        prepare_training("imdb-edge export RUN_DIR")
        from imdb_edge.export.pipeline import export_run

        report = export_run(
            options.source,
            out,
            input_form=value_of(options.input_form),
            quantize=value_of(options.quantize),
            data=options.data,
            force=options.force,
        )
    if options.as_json:
        emit_json(report)
        return
    model, precision = report["model"], report["model"]["precision"]
    accuracy = report["export"].get("test_accuracy") if not report["export"].get("rewrapped") else None
    tested = f", test accuracy {100 * accuracy:.2f}%" if accuracy is not None else ""
    typer.echo(f"wrote {out} ({report['bytes'] / 1024:.0f} KB, {precision}, {model['input_form']} input{tested})")


def refuse_existing_output(out: Path, source: Optional[Path], overwrite: bool) -> None:
    """Before any work: never the source, never a folder, an existing file only with --overwrite (and even
    then it is replaced atomically, once the export has passed its checks)."""
    if source is not None and out.exists() and out.resolve() == source.resolve():
        raise ImdbEdgeError(f"--output {out} is the source model; choose another file")
    if out.is_dir():
        raise ImdbEdgeError(f"--output {out} is a folder: give the .onnx file to write")
    if out.exists() and not overwrite:
        raise ImdbEdgeError(f"{out} exists: pass --overwrite to replace it, or choose another --output")


def _export_from_model_file(options: ExportOptions, out: Path) -> dict:  # type: ignore[type-arg]
    """`export MODEL.onnx --input text|text_fast`: rewrap an exported model, with only the [onnx] extra."""
    form = value_of(options.input_form)
    if form not in ("text", "text_fast"):
        raise ImdbEdgeError(
            "from a .onnx file only --input text or text_fast can be made (other forms are exported from a run folder)"
        )
    if options.quantize is not None:
        raise ImdbEdgeError("--quantize applies to a run folder; a .onnx file keeps its own precision")
    require_extra("onnx", f"imdb-edge export MODEL.onnx --input {form}")
    from imdb_edge.data.reviews import load_test_reviews, review_source
    from imdb_edge.export.rewrap import rewrap_as_text
    from imdb_edge.runtime.classifier import default_model_path

    texts = load_test_reviews(options.data)
    return rewrap_as_text(options.source or default_model_path(), out, texts, review_source(options.data), form)
