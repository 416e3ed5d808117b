"""The `imdb-edge` command: train, sweep, export, classify, info, bench.

Heavy frameworks (TensorFlow, tf2onnx) are imported inside the commands that need
them, so `classify`, `info` and `bench` start in a fraction of a second.
"""

from __future__ import annotations

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

    return wrapper  # type: ignore[return-value]


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    return Enum(name, {v: v for v in values}, type=str)  # type: ignore[return-value]


@app.callback()
def root() -> None:
    """Train, export and run the IMDB movie-review sentiment classifier on CPU-only devices."""


def _emit_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2))


# ---- train ----------------------------------------------------------------------
from imdb_edge.train.config import ACTIVATIONS, LOSSES, OPTIMIZERS  # noqa: E402

Activation = _choices("Activation", ACTIVATIONS)
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
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="TOML file of settings; flags override it.")
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
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics document as JSON.")] = False,
) -> None:
    """Train a classifier on the IMDB reviews and write a run folder.

    The run folder holds model.keras, vectorizer.json, history.json,
    learning_curves.png and metrics.json (test accuracy, best epoch, timings,
    data checksum, versions, the full config).

    Example: imdb-edge train --hidden 16 --epochs 4 --seed 0 --out runs/ref
    """
    from imdb_edge.train.config import TrainConfig, config_from_dict, load_toml
    from imdb_edge.train.run import train_to_folder

    base = config_from_dict(load_toml(config)) if config else TrainConfig()
    vectorizer_changes = {k: v for k, v in {"max_features": max_features, "ngram_max": ngrams}.items() if v is not None}
    settings = config_from_dict(
        {
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary table as JSON.")] = False,
) -> None:
    """Train a grid of configs, each over several seeds; write mean ± std tables.

    Finished runs are appended to OUT/results.jsonl as they end, so running the
    same command again resumes an interrupted sweep.

    Example: imdb-edge sweep configs/sweeps/reference.toml --out runs/sweep-reference
    """
    from imdb_edge.train.sweep import load_plan, run_sweep, to_markdown

    plan = load_plan(grid, seeds=seeds)
    table = run_sweep(plan, out, data=data)
    if as_json:
        _emit_json(table)
    else:
        typer.echo(to_markdown(table))
        typer.echo(f"wrote {out}/results.md and results.csv")


class InputForm(str, Enum):
    token_ids = "token_ids"
    dense = "dense"


class Quantization(str, Enum):
    int8 = "int8"


@app.command()
@cli_errors
def export(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder from `imdb-edge train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .onnx file to write.")],
    input_form: Annotated[
        InputForm,
        typer.Option("--input", help="token_ids: sparse graph, fast (default). dense: the reference's 0/1 vector."),
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


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
