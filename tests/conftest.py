"""Shared fixtures: the small IMDB fixture, the full dataset when present, small models built once.

Markers (pyproject.toml): `fulldata` is added to every test that asks for the
`full_data` fixture, so the marker and the dependency cannot drift apart; `slow`
marks tests that train or export; `spark` marks the Spark tests. The run ends with
a line per marker, so CI shows what ran and what was skipped.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.imdb_fixture import make_imdb_archive, make_imdb_folder

FULL_DATA_ENV = "IMDB_EDGE_DATA"
REPORTED_MARKERS = ("fulldata", "slow", "spark", "browser")


@pytest.fixture(scope="session")
def imdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imdb_folder(tmp_path_factory.mktemp("imdb"))


@pytest.fixture(scope="session")
def imdb_archive(imdb_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imdb_archive(imdb_folder, tmp_path_factory.mktemp("archive") / "aclImdb_v1.tar.gz")


@pytest.fixture(scope="session")
def full_data() -> Path:
    """The real 50,000-review dataset ($IMDB_EDGE_DATA); tests that need it are skipped without it."""
    if not os.environ.get(FULL_DATA_ENV):
        pytest.skip(f"set {FULL_DATA_ENV} to the full IMDB dataset to run the full-data tests")
    return Path(os.environ[FULL_DATA_ENV])


@pytest.fixture(scope="session")
def model_bytes() -> bytes:
    """A small token-id model file (hand-set weights), built once per session."""
    from tests.model_factory import build_model_bytes

    return build_model_bytes()


@pytest.fixture(scope="session")
def tiny_model(model_bytes: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same small model as a file."""
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    path.write_bytes(model_bytes)
    return path


@pytest.fixture(scope="session")
def shipped() -> Any:
    """The model shipped inside the package, loaded once."""
    from imdb_edge.runtime.classifier import Classifier

    return Classifier.load()


@pytest.fixture
def no_data_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No IMDB_EDGE_DATA and an empty cache, so resolution falls through to download."""
    monkeypatch.delenv(FULL_DATA_ENV, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("IMDB_EDGE_CACHE", str(cache))
    return cache


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "full_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.fulldata)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counts: dict[str, Counter[str]] = {marker: Counter() for marker in REPORTED_MARKERS}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call" and outcome == "passed":
                continue
            for marker in REPORTED_MARKERS:
                if marker in getattr(report, "keywords", {}):
                    counts[marker][outcome] += 1
    parts = [
        f"{marker}: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(found.items()))
        for marker, found in counts.items()
        if found
    ]
    if parts:
        terminalreporter.write_line("markers  " + "; ".join(parts))
