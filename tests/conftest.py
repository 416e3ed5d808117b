from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from imdb_fixture import make_imdb_archive, make_imdb_folder

FULL_DATA = os.environ.get("IMDB_EDGE_DATA")


@pytest.fixture(scope="session")
def imdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imdb_folder(tmp_path_factory.mktemp("imdb"))


@pytest.fixture(scope="session")
def imdb_archive(imdb_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imdb_archive(imdb_folder, tmp_path_factory.mktemp("archive") / "aclImdb_v1.tar.gz")


@pytest.fixture
def no_data_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No IMDB_EDGE_DATA and an empty cache, so resolution falls through to download."""
    monkeypatch.delenv("IMDB_EDGE_DATA", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("IMDB_EDGE_CACHE", str(cache))
    return cache


def full_data_path() -> Path:
    if not FULL_DATA:
        pytest.skip("set IMDB_EDGE_DATA to the full IMDB dataset to run the full-data tests")
    return Path(FULL_DATA)
