#!/usr/bin/env python3
"""Vocabulary table layouts (layouts.c) timed on the shipped model's fingerprints and real n-gram hashes.

    python benchmarks/table_layouts/run.py --data ../shared/data/aclImdb_v1_labeled.tar.gz --reviews 3000 \
        --model runs/best200k.int8.onnx

Writes the fingerprints and each review's n-gram hashes (in the kernel's order: at each
token its 1-, 2- and 3-gram) to a temporary folder, builds layouts.c with gcc -O3 and runs
it. Layouts that a model file could hold ready-made, or that build with sequential writes,
against the kernel's table (docs/benchmarks.md, round 5).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from imdb_edge.data.reviews import load_test_reviews
from imdb_edge.runtime.classifier import default_model_path
from imdb_edge.runtime.modelfile.reader import read_model_file
from imdb_edge.runtime.vectorizer import _ngram_hashes, tokenize_bytes


def kernel_order(tokens: list[bytes], ngram_max: int) -> np.ndarray:
    """The n-gram hashes of a review in the order the kernel probes them: at each token, the n-grams ending there."""
    hashes = _ngram_hashes(tokens, ngram_max)
    n = len(tokens)
    levels: list[np.ndarray] = []
    start = 0
    for size in range(1, min(ngram_max, n) + 1):
        levels.append(hashes[start : start + n - size + 1])
        start += n - size + 1
    order = [level[t - size] for t in range(n) for size, level in enumerate(levels) if t >= size]
    return np.array(order, dtype="<u8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the IMDB dataset (default: the 256 shipped sample reviews)")
    parser.add_argument("--reviews", type=int, default=3000)
    parser.add_argument("--model", type=Path, default=default_model_path(), help="whose vocabulary (default: shipped)")
    args = parser.parse_args()
    vectorizer = read_model_file(args.model).vectorizer
    reviews = load_test_reviews(args.data)[: args.reviews]
    per_review = [kernel_order(tokenize_bytes(text), vectorizer.config.ngram_max) for text in reviews]
    offsets = np.cumsum([0] + [len(h) for h in per_review]).astype("<u8")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        vectorizer.fingerprints.astype("<u8").tofile(work / "fingerprints.bin")
        np.concatenate(per_review).tofile(work / "hashes.bin")
        offsets.tofile(work / "offsets.bin")
        binary = work / "layouts"
        source = Path(__file__).with_name("layouts.c")
        subprocess.run(["gcc", "-O3", "-Wall", "-Werror", str(source), "-o", str(binary)], check=True)
        names = ["fingerprints.bin", "hashes.bin", "offsets.bin"]
        return subprocess.run([str(binary), *(str(work / name) for name in names)]).returncode


if __name__ == "__main__":
    raise SystemExit(main())
