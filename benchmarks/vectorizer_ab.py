#!/usr/bin/env python3
"""A/B of two builds of the native vectorizer in one process: same ids, CPU time per review.

Build the baseline from any commit, e.g. main's:

    git show main:imdb_edge/runtime/_fastvec.c > /tmp/base/_fastvec.c
    gcc -O3 -fPIC -shared -I"$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \\
        /tmp/base/_fastvec.c -o /tmp/base/_fastvec.so
    python benchmarks/vectorizer_ab.py --baseline /tmp/base/_fastvec.so --data ../shared/data/aclImdb_v1_labeled.tar.gz

Both builds look up the shipped model's vocabulary: by its fingerprints where the build
has `Fingerprints`, by its terms (the string tables of builds up to f16c51b, `Lookup`)
otherwise; with --hash-buckets N both hash into N buckets instead (`Hasher`). Timed per
review: `ids(text)`, `padded([text], 1)` (the one-review path of `Classifier.scores`) and
`padded` of batches of 64. Runs are interleaved (best of N, the order flipped every other
repeat), so the ratio holds even on a busy machine. With --negation, this tree's lookup marks
negated words (tokenizer ascii-split-neg-v1) and the baseline's does not: with the baseline
built from this tree too, the ratio is what the marks cost (the ids then differ, by design).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from imdb_edge.data.reviews import load_test_reviews
from imdb_edge.runtime import _fastvec  # type: ignore[attr-defined]
from imdb_edge.runtime.classifier import default_model_path
from imdb_edge.runtime.modelfile.reader import read_model_file
from imdb_edge.runtime.vectorizer import Vectorizer


def vocabulary_builder(
    build: ModuleType, vectorizer: Vectorizer, hash_buckets: int, negation: bool = False
) -> Callable[[], Any]:
    """How this build makes the lookup: hashed, from the fingerprints, or (older builds) from the terms."""
    ngram_max = vectorizer.config.ngram_max
    marks = {"negation": True} if negation else {}
    if hash_buckets:
        return lambda: build.Hasher(hash_buckets, ngram_max, **marks)
    if hasattr(build, "Fingerprints"):
        data = vectorizer.fingerprints.astype("<u8").tobytes()
        return lambda: build.Fingerprints(data, ngram_max, **marks)
    vocabulary = vectorizer.vocabulary
    return lambda: build.Lookup(vocabulary, ngram_max)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a _fastvec .so built from another commit")
    parser.add_argument("--data", help="the IMDB dataset (default: the 256 shipped sample reviews)")
    parser.add_argument("--reviews", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--hash-buckets", type=int, default=0, help="compare Hasher(N) instead of the vocabulary")
    parser.add_argument("--negation", action="store_true", help="this tree marks negated words, the baseline not")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("baseline._fastvec", args.baseline)
    assert spec is not None and spec.loader is not None
    baseline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline)
    vectorizer = read_model_file(default_model_path()).vectorizer
    texts = load_test_reviews(args.data)[: args.reviews]
    builders = {
        "baseline": vocabulary_builder(baseline, vectorizer, args.hash_buckets),
        "this tree": vocabulary_builder(_fastvec, vectorizer, args.hash_buckets, args.negation),
    }
    lookups = {name: build() for name, build in builders.items()}
    if args.negation:  # the ids differ from the baseline's by design: check them against the definition
        marked = Vectorizer(replace(vectorizer.config, negation=True), None, None, vectorizer.fingerprints)
        if any(lookups["this tree"].ids(t) != marked.pure_python().feature_ids(t).tobytes() for t in texts):
            parser.error("this tree's marked ids differ from the definition's")
    elif any(lookups["baseline"].ids(t) != lookups["this tree"].ids(t) for t in texts):
        parser.error("the two builds give different ids")
    batches = [texts[i : i + 64] for i in range(0, len(texts), 64)]
    calls: dict[str, Callable[[Any], object]] = {
        "ids": lambda lookup: [lookup.ids(text) for text in texts],
        "padded one": lambda lookup: [lookup.padded([text], 1) for text in texts],
        "padded 64": lambda lookup: [lookup.padded(batch, 1) for batch in batches],
        "build": lambda lookup: None,
    }
    best = {(name, call): float("inf") for name in builders for call in calls}
    for repeat in range(args.repeats):
        for name in list(builders)[:: 1 if repeat % 2 == 0 else -1]:
            for call, run in calls.items():
                start = time.process_time()
                run(builders[name]() if call == "build" else lookups[name])
                best[name, call] = min(best[name, call], time.process_time() - start)
    for name, lookup in lookups.items():
        per_review = ", ".join(f"{call} {1e6 * best[name, call] / len(texts):.2f}" for call in calls if call != "build")
        build_ms = 1e3 * best[name, "build"]
        print(f"{name} ({type(lookup).__name__}): µs per review: {per_review}; built in {build_ms:.2f} ms")
    ratios = ", ".join(f"{best['this tree', call] / best['baseline', call]:.2f} ({call})" for call in calls)
    print(f"this tree / baseline: {ratios}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
