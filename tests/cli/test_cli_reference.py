"""docs/cli.md is generated from the app (scripts/cli_reference.py) and must match it today."""

from __future__ import annotations

import subprocess
import sys

import typer

from imdb_edge.cli import app
from tests.helpers import ROOT


def test_cli_reference_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_cli_reference_lists_every_command_and_visible_option() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"## `imdb-edge {name}`" in reference
        for param in command.params:
            if param.hidden:
                continue
            names = [param.metavar] if param.param_type_name == "argument" else param.opts
            assert all(f"`{n}" in reference or f" {n}" in reference for n in names), (name, names)
    assert "--out`" not in reference  # the old spelling stays a hidden alias
