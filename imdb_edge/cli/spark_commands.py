"""The Spark panel (the [spark] extra): `spark-classify`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from imdb_edge.cli.app import SPARK_PANEL, app
from imdb_edge.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_ERRORS,
    ModelOption,
    ModelSha256Option,
    QuietOption,
    choice,
    choices,
    emit_json,
    flag,
    invoke,
    value_of,
)
from imdb_edge.spark.formats import FORMATS as TABLE_FORMATS

TableFormat = choices("TableFormat", TABLE_FORMATS)


@dataclass(frozen=True)
class SparkClassifyOptions:
    source: str
    target: str
    model: Optional[Path]
    model_sha256: Optional[str]
    text_col: str
    master: Optional[str]
    input_format: Optional[TableFormat]  # type: ignore[valid-type]
    output_format: Optional[TableFormat]  # type: ignore[valid-type]
    overwrite: bool
    batch_size: int
    partitions: Optional[int]
    threshold: Optional[float]
    prefix: str
    as_json: bool
    quiet: bool


@app.command("spark-classify", rich_help_panel=SPARK_PANEL)
def spark_classify(
    source: Annotated[
        str, typer.Argument(metavar="INPUT", help="Parquet, JSON Lines or text file/folder (any Spark path).")
    ],
    target: Annotated[str, typer.Argument(metavar="OUTPUT", help="Folder to create, in the same formats.")],
    model: ModelOption = None,
    model_sha256: ModelSha256Option = None,
    text_col: Annotated[
        str, typer.Option("--text-col", metavar="NAME", help="The column holding the review text.")
    ] = "text",
    master: Annotated[
        Optional[str],
        typer.Option(metavar="URL", help="Spark master, e.g. local[2]; default: spark-submit's, else local[*]."),
    ] = None,
    input_format: Annotated[
        Optional[TableFormat],  # type: ignore[valid-type]
        typer.Option("--format", **choice(TableFormat), help="INPUT's format (default: from its extension)."),
    ] = None,
    output_format: Annotated[
        Optional[TableFormat],  # type: ignore[valid-type]
        typer.Option(**choice(TableFormat), help="OUTPUT's format (default: from its extension, else --format)."),
    ] = None,
    overwrite: Annotated[
        bool, flag("--overwrite/--no-overwrite", help="Replace OUTPUT if it exists (never the input).")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(metavar="N", min=1, help="Reviews per model call on the executors.")
    ] = 1024,
    partitions: Annotated[
        Optional[int],
        typer.Option(metavar="N", help="Repartition the input first (spreads a single file over executors)."),
    ] = None,
    threshold: Annotated[
        Optional[float], typer.Option(metavar="SCORE", help="Score at or above which a review is positive.")
    ] = None,
    prefix: Annotated[str, typer.Option(metavar="TEXT", help="Prefix for the label/score/error columns.")] = "",
    as_json: Annotated[bool, flag("--json", help="Print the summary (output, format, rows, errors) as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Classify a corpus with Apache Spark (needs the [spark] extra); see docs/spark.md.

    OUTPUT gets every input column plus label, score and error (text output: the
    classify command's `label<TAB>score` lines). It appears only when the job has
    finished. Exit 1 if some rows could not be classified (their error says why).

    Example:

    ```
    imdb-edge spark-classify reviews.jsonl scored.parquet --master "local[*]"
    ```
    """
    invoke(SparkClassifyOptions(**locals()), run_spark_classify)


def run_spark_classify(options: SparkClassifyOptions) -> int:
    from imdb_edge.spark.command import JobInterrupted, SparkJob, run

    job = SparkJob(
        source=options.source,
        target=options.target,
        model=options.model,
        model_sha256=options.model_sha256,
        text_col=options.text_col,
        master=options.master,
        input_format=value_of(options.input_format),
        output_format=value_of(options.output_format),
        overwrite=options.overwrite,
        batch_size=options.batch_size,
        partitions=options.partitions,
        threshold=options.threshold,
        prefix=options.prefix,
    )
    try:
        summary = run(job)
    except JobInterrupted as exc:  # one line that says what OUTPUT is now: absent, unchanged or complete
        typer.echo(f"interrupted: {exc.left} ({exc} received)", err=True)
        return EXIT_INTERRUPTED
    if options.as_json:
        emit_json(
            {"output": summary.target, "format": summary.output_format, "rows": summary.rows, "errors": summary.errors}
        )
    else:
        typer.echo(
            f"wrote {summary.target} ({summary.output_format}): {summary.rows} rows, "
            f"{summary.errors} could not be classified",
            err=True,
        )
    return EXIT_SOME_ERRORS if summary.errors else EXIT_OK
