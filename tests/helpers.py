"""What many tests share: where the repository is, and running the CLI in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository's root folder."""


def run_cli(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Any:
    """`imdb-edge ARGS...` in this process (Typer's CliRunner): the Result has exit_code, stdout, stderr."""
    from typer.testing import CliRunner

    from imdb_edge.cli import app

    return CliRunner().invoke(app, list(args), input=input, env=env, prog_name="imdb-edge")
