"""End-to-end on the real 50,000 reviews (runs when IMDB_EDGE_DATA points at them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import full_data_path

pytest.importorskip("tensorflow")

from typer.testing import CliRunner

from imdb_edge.cli import app

pytestmark = pytest.mark.fulldata


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference model of the issue: one hidden layer of 16 units, 4 epochs, seed 0."""
    data = full_data_path()
    out = tmp_path_factory.mktemp("full") / "ref16"
    result = CliRunner().invoke(
        app, ["train", "--data", str(data), "--hidden", "16", "--epochs", "4", "--seed", "0", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_reference_model_reaches_88_percent(reference_run: Path) -> None:
    document = json.loads((reference_run / "metrics.json").read_text())
    metrics = document["metrics"]
    assert metrics["test_rows"] == 25_000 and metrics["train_rows"] == 15_000
    assert metrics["test_accuracy"] >= 0.88, metrics
    assert document["data"]["skipped_files"] == 0
