"""Test reviews to measure on: the dataset's test split when one is given, else the shipped sample.

The one loader behind `bench --data`, `export MODEL.onnx --input text --data` and the
benchmarks, so `--data` means the same everywhere: a path is resolved as `train`
resolves it (a missing path is named as such), and only the test split is used.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

SAMPLE_SOURCE = "shipped sample"
"""How reports name the shipped sample as a review source."""


def sample_reviews() -> list[str]:
    """The 256 real test reviews shipped with the package (samples/README.md)."""
    path = resources.files("imdb_edge.data") / "samples" / "reviews.jsonl"
    lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): texts hold U+2028 and friends
    return [json.loads(line)["text"] for line in lines if line.strip()]


def load_test_reviews(data: str | Path | None) -> list[str]:
    """The test-split reviews of the dataset at `data` (folder or archive), else the shipped sample."""
    if data is None:
        return sample_reviews()
    from imdb_edge.data.dataset import load_dataset, resolve_data_path

    return load_dataset(resolve_data_path(data, allow_download=False), unlabelled=False).test.texts


def review_source(data: str | Path | None) -> str:
    """What reports say the reviews were: the path given, or the shipped sample."""
    return str(data) if data is not None else SAMPLE_SOURCE
