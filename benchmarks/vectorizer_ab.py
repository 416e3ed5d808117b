#!/usr/bin/env python3
"""A/B of two builds of the native vectorizer in one process: same ids, CPU time per review.

Build the baseline from any commit, e.g. main's:

    git show main:imdb_edge/runtime/_fastvec.c > /tmp/base/_fastvec.c
    gcc -O3 -fPIC -shared -I"$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \
        /tmp/base/_fastvec.c -o /tmp/base/_fastvec.so
    python benchmarks/vectorizer_ab.py --baseline /tmp/base/_fastvec.so --data ../shared/data/aclImdb_v1_labeled.tar.gz

Both builds look up the shipped model's vocabulary; runs are interleaved (best of N),
so the ratio holds even on a busy machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from imdb_edge.runtime import _fastvec  # type: ignore[attr-defined]
from imdb_edge.runtime.bench import load_reviews
from imdb_edge.runtime.classifier import default_model_path
from imdb_edge.runtime.model_file import read_model_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a _fastvec .so built from another commit")
    parser.add_argument("--data", help="the IMDB dataset (default: the 256 shipped sample reviews)")
    parser.add_argument("--reviews", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("baseline._fastvec", args.baseline)
    assert spec is not None and spec.loader is not None
    baseline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline)
    vectorizer = read_model_file(default_model_path()).vectorizer
    vocabulary, ngram_max = vectorizer.vocabulary, vectorizer.config.ngram_max
    texts = load_reviews(args.data)[: args.reviews]
    builds = {"baseline": baseline, "this tree": _fastvec}
    lookups = {name: module.Lookup(vocabulary, ngram_max) for name, module in builds.items()}
    if any(lookups["baseline"].ids(t) != lookups["this tree"].ids(t) for t in texts):
        parser.error("the two builds give different ids")
    ids_s = dict.fromkeys(builds, float("inf"))
    build_s = dict.fromkeys(builds, float("inf"))
    for _ in range(args.repeats):
        for name, lookup in lookups.items():
            start = time.process_time()
            for text in texts:
                lookup.ids(text)
            ids_s[name] = min(ids_s[name], time.process_time() - start)
        for name, module in builds.items():
            start = time.process_time()
            module.Lookup(vocabulary, ngram_max)
            build_s[name] = min(build_s[name], time.process_time() - start)
    for name in builds:
        per_review, build_ms = 1e6 * ids_s[name] / len(texts), 1e3 * build_s[name]
        print(f"{name}: {per_review:.1f} µs per review, tables built in {build_ms:.1f} ms")
    print(
        f"this tree / baseline: {ids_s['this tree'] / ids_s['baseline']:.2f} (ids), "
        f"{build_s['this tree'] / build_s['baseline']:.2f} (build)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
