"""What every command shares: one body pattern (`invoke`), errors as one line and an exit code,
option declarations, and JSON output.

Imports nothing heavy (no numpy, no onnxruntime): `imdb-edge --help` and tab completion
build every command's help from these declarations alone.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from imdb_edge import console, json_out
from imdb_edge.batch.errors import JobError
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.extras import require_extra

EXIT_OK, EXIT_SOME_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
JOB_FLAGS = {
    "output": "--output",
    "resume": "--resume",
    "format": "--format",
    "threshold": "--threshold",
    "max_chars": "--max-chars",
    "json": "--json",
    "encoding": "--encoding",
    "workers": "--workers",
    "min_known": "--min-known",
    "explain": "--explain",
}
"""The flag of each role a batch job's error names (batch/errors.py)."""

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


_stopped_by = ""
"""The stop signal the command got (for the last-resort exit, which runs on another thread)."""


def cancel_onnxruntime_runs(stop: Any = None) -> None:
    """A stop signal's first act: cut short any onnxruntime run the main thread waits in (from the watcher
    thread, so it imports nothing: with no classifier module loaded there is no run to cancel). A run whose
    current step cannot be cut short (one huge MatMul) ends the process a second later (exit_if_run_is_stuck):
    exit 130 within 2 seconds, whatever the model does."""
    global _stopped_by
    _stopped_by = getattr(stop, "signal_name", "") or _stopped_by
    classifier = sys.modules.get("imdb_edge.runtime.classifier")
    cancel = getattr(classifier, "cancel_runs", None)  # None mid-import
    if cancel is not None:
        classifier.on_stuck_run(exit_if_run_is_stuck)  # type: ignore[union-attr]
        cancel()


def install_stuck_run_exit() -> None:
    """Make a run that went over its time limit and cannot be cut short end this command (exit 2, one line),
    instead of waiting for its step to end (runtime.classifier.on_stuck_run); for commands that run models."""
    from imdb_edge.runtime.classifier import on_stuck_run

    on_stuck_run(exit_if_run_is_stuck)


def exit_if_run_is_stuck(message: str, cancelled: bool) -> None:
    """The CLI's last resort, from the run watchdog's thread, while the main thread is inside onnxruntime (so
    no output is half written: results are written between runs): a new output file not yet in place is
    removed, then the process exits at once."""
    result_file = sys.modules.get("imdb_edge.batch.result_file")
    discard = getattr(result_file, "discard_new_files", None)
    if discard is not None:
        discard()
    if cancelled:
        what = f"{_stopped_by} received" if _stopped_by else "stopped"
        line = f"interrupted ({what}; a model run could not be cut short: an --output keeps its complete lines)"
        code = EXIT_INTERRUPTED
    else:
        line, code = f"error: {message}", EXIT_USAGE
    with contextlib.suppress(OSError):
        os.write(2, (line + "\n").encode("utf-8", "backslashreplace"))
    os._exit(code)


def interrupted(signal_name: str) -> typer.Exit:
    """Print `interrupted (SIGTERM received)` on stderr; returns the Exit (130) to raise."""
    typer.echo(f"interrupted ({signal_name} received)" if signal_name else "interrupted", err=True)
    return typer.Exit(EXIT_INTERRUPTED)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print `error: message` on stderr; returns the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def invoke(options: T, action: Callable[[T], int | None]) -> None:
    """The one body of every command: `invoke(XOptions(**locals()), run_x)`, its parameters as a dataclass
    (by keyword), then its action.

    The action returns the exit code (None: 0). User-fixable errors become one line on
    stderr and exit 2. SIGINT or SIGTERM stops the action at once (an onnxruntime run it is
    waiting for is cancelled) and exits 130; `classify --file` and `spark-classify` narrow
    that to their safe points with a StopRequest of their own.
    """
    from imdb_edge.batch.stop import Interrupted, StopRequest

    stop = StopRequest(on_stop=lambda: cancel_onnxruntime_runs(stop))
    try:
        with stop, stop.interruptible():
            code = action(options)
    except (KeyboardInterrupt, Interrupted) as exc:
        raise interrupted(stop.signal_name or (str(exc) if isinstance(exc, Interrupted) else "")) from None
    except Exception as exc:
        if stop.requested:  # whatever broke (a run cancelled, an import cut short) broke because of the signal
            raise interrupted(stop.signal_name) from None
        if isinstance(exc, JobError):
            raise fail(exc.render(JOB_FLAGS)) from None
        if isinstance(exc, ImdbEdgeError):
            raise fail(str(exc)) from None
        if isinstance(exc, OSError):  # disk full, permissions, a path that vanished: the user can fix these
            where = f": {exc.filename}" if exc.filename else ""
            raise fail(f"{exc.strerror or exc}{where}") from None
        raise
    if code:
        raise typer.Exit(code)


def require_stdout(what: str) -> None:
    """Refuse at once, in one line, when stdout was closed (`>&-`) and `what` (a command's results) would be
    lost: before any work, not after it (imdb_edge/__main__.py also makes any later write fail)."""
    if console.stdout_was_closed:
        raise ImdbEdgeError(f"stdout is closed (>&-): {what} would have nowhere to go")


def printable(text: str) -> str:
    """`text` safe to show on a terminal: control characters (an ESC starting an escape sequence, a
    carriage return) escaped, so a record id or a model's metadata cannot drive the terminal."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)


def emit_json(document: Any) -> None:
    """A result document on stdout (json_out: never NaN or Infinity)."""
    typer.echo(json_out.dumps(document))


def prepare_training(what: str) -> None:
    """Refuse in one line without the [train] extra; else import TensorFlow without its log chatter."""
    require_extra("train", what)
    from imdb_edge.train import import_tensorflow_quietly

    import_tensorflow_quietly()


class Choice(str, Enum):
    """A choice whose str() is its value, as Click and every Typer version expect."""

    def __str__(self) -> str:
        return str(self.value)


def choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    return Choice(name, {v: v for v in values})  # type: ignore[return-value]


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


def value_of(choice_value: Enum | None) -> Any:
    """A parsed choice's plain value (None stays None)."""
    return None if choice_value is None else choice_value.value


def flag(*decls: str, help: str) -> Any:
    """An on/off option shown without a `<bool>` type in help."""
    return typer.Option(*decls, metavar="", help=help)


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


def output_alias() -> Any:
    """`--out`, the spelling train/export/sweep used before `--output`, kept working but hidden."""
    return typer.Option("--out", hidden=True, metavar="PATH")


def one_output(output: Optional[Path], old_spelling: Optional[Path]) -> Optional[Path]:
    if output and old_spelling and output != old_spelling:
        raise typer.BadParameter("give --output once", param_hint="'--output'")
    return output or old_spelling


DataOption = Annotated[
    Optional[str],
    typer.Option(
        "--data",
        metavar="PATH",
        help="Your labelled texts (.csv or .tsv with a header, .jsonl, or a folder with one sub-folder of .txt "
        "files per label), or the IMDB archive or aclImdb/ folder. Default: $IMDB_EDGE_DATA, then the user "
        "cache, then a verified download of the IMDB archive.",
    ),
]
TextColumnOption = Annotated[
    str, typer.Option(metavar="NAME", help="The column (CSV/TSV) or field (JSON Lines) holding the text.")
]
LabelColumnOption = Annotated[str, typer.Option(metavar="NAME", help="The column or field holding the label.")]
ValidationFileOption = Annotated[
    Optional[str],
    typer.Option(
        "--validation", metavar="FILE", help="Validation rows from this file (default: held out of --data's rows)."
    ),
]
TestFileOption = Annotated[
    Optional[str],
    typer.Option("--test", metavar="FILE", help="Test rows from this file (default: --test-size of --data's rows)."),
]
TestSizeOption = Annotated[
    float,
    typer.Option(
        metavar="SIZE", help="Rows of --data held out for test when there is no --test file: a fraction or a count."
    ),
]


def data_spec(
    data: Optional[str],
    text_column: str,
    label_column: str,
    validation: Optional[str],
    test: Optional[str],
    test_size: float,
) -> Any:
    """The DataSpec the data options name (imported here: the CLI module stays light)."""
    from imdb_edge.data.sources import DataSpec

    return DataSpec(data, text_column, label_column, validation, test, test_size)


ModelSha256Option = Annotated[
    Optional[str],
    typer.Option(
        "--model-sha256",
        metavar="HEX",
        help="Refuse the model file unless its sha256 is this (sha256sum MODEL, or `imdb-edge info`): the file's "
        "own checksums only catch accidental damage.",
    ),
]

ModelOption = Annotated[
    Optional[Path],
    typer.Option(
        "--model",
        "-m",
        metavar="MODEL",
        help="A .onnx file from `imdb-edge export`. Default: $IMDB_EDGE_MODEL, else the shipped model.",
    ),
]
