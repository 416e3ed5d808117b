"""The Typer app: its help panels, the order a newcomer reads the commands in, and `--version`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

RUN_PANEL = "Run a model (base install)"
TRAIN_PANEL = "Train and export (need the \\[train] extra)"
SPARK_PANEL = "Score on Apache Spark (need the \\[spark] extra)"
COMMAND_ORDER = ("classify", "evaluate", "info", "bench", "train", "sweep", "export", "spark-classify")


class NewcomerOrder(typer.core.TyperGroup):
    """List the commands a first-time user runs (base install) before the training ones."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(names))


app = typer.Typer(
    name="imdb-edge",
    cls=NewcomerOrder,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


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
    `train`, `sweep` and `export` of a run folder need the [train] extra; making a
    text-input model from an exported one (`export MODEL.onnx --input text`) needs
    only the [onnx] extra. From a checkout: `pip install ".[train]"`; a command whose
    extra is missing prints the install command for how you installed imdb-edge.
    """


def main() -> None:
    # One name in usage lines and completion, however it was started (`python -m imdb_edge` too).
    app(prog_name="imdb-edge")
