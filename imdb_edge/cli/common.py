"""What every command shares: one body pattern (`invoke`), errors as one line and an exit code,
option declarations, and JSON output.

Imports nothing heavy (no numpy, no onnxruntime): `imdb-edge --help` and tab completion
build every command's help from these declarations alone.
"""

from __future__ import annotations

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
}
"""The flag of each role a batch job's error names (batch/errors.py)."""

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print `error: message` on stderr; returns the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def invoke(options: T, action: Callable[[T], int | None]) -> None:
    """The one body of every command: `invoke(XOptions(**locals()), run_x)`, its parameters as a dataclass
    (by keyword), then its action.

    The action returns the exit code (None: 0). User-fixable errors become one line on
    stderr and exit 2; an interruption exits 130.
    """
    from imdb_edge.batch.stop import Interrupted

    try:
        code = action(options)
    except JobError as exc:
        raise fail(exc.render(JOB_FLAGS)) from None
    except ImdbEdgeError as exc:
        raise fail(str(exc)) from None
    except (KeyboardInterrupt, Interrupted) as exc:
        reason = f" ({exc} received)" if isinstance(exc, Interrupted) else ""
        typer.echo(f"interrupted{reason}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OSError as exc:  # disk full, permissions, a path that vanished: the user can fix these
        where = f": {exc.filename}" if exc.filename else ""
        raise fail(f"{exc.strerror or exc}{where}") from None
    if code:
        raise typer.Exit(code)


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
        help="aclImdb/ folder or .tar.gz archive. Default: $IMDB_EDGE_DATA, then the user "
        "cache, then a verified download of the official archive.",
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
