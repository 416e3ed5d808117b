#!/usr/bin/env python3
"""Where the native vectorizer and the model load spend their time (CPU time, best of N).

Stages of `Fingerprints.ids` are isolated by building tables two ways: one fingerprint
(tokenize, CRC-32, hash chain and probes of a table that stays in L1) and the model's
vocabulary (plus the cache misses of probing its table). Load is split into the native
table, checksums and onnxruntime's session (CPU time, then the wall time of each step of
Classifier.load), and the table build is timed for random fingerprints too. Then
Vectorizer.feature_ids of a hashed vectorizer (--hash-buckets, the model's n-gram range:
no vocabulary) against the model's vocabulary one, interleaved in one run: hashed
native, vocabulary native, both pure Python.

    python benchmarks/vectorizer_profile.py --data ../shared/data/aclImdb_v1_labeled.tar.gz
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from imdb_edge.data.reviews import load_test_reviews
from imdb_edge.runtime.classifier import Classifier, default_model_path, session_options
from imdb_edge.runtime.modelfile import checksums
from imdb_edge.runtime.modelfile.reader import parse_model_bytes, read_model_file, read_regular_file
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig, tokenize_bytes


def best_cpu_ms(call: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return 1000.0 * best


def best_cpu_us_per_call(calls: dict[str, Callable[[str], Any]], texts: list[str], repeats: int) -> dict[str, float]:
    """CPU µs per text of each call, best of `repeats` rounds that interleave the calls (fair on a busy machine)."""
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.process_time()
            for text in texts:
                call(text)
            best[name] = min(best[name], time.process_time() - start)
    return {name: 1e6 * seconds / len(texts) for name, seconds in best.items()}


def load_timeline(path: Path, loads: int) -> dict[str, float]:
    """Wall ms of each step of Classifier.load, in the fastest of `loads`."""
    best: dict[str, float] = {}
    for _ in range(loads):
        marks = [time.perf_counter()]
        data = read_regular_file(path)
        marks.append(time.perf_counter())
        parsed = parse_model_bytes(data, str(path))
        marks.append(time.perf_counter())
        Classifier(parsed)
        marks.append(time.perf_counter())
        names = ("read", "parse, checksums, vectorizer and its table", "onnxruntime session and probe")
        steps = dict(zip(names, np.diff(marks), strict=True))
        steps["total"] = marks[-1] - marks[0]
        if not best or steps["total"] < best["total"]:
            best = steps
    return {name: 1000 * seconds for name, seconds in best.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--data", help="the IMDB dataset (default: the 256 shipped sample reviews)")
    parser.add_argument("--reviews", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hash-buckets", type=int, default=2**21, help="buckets of the hashed vectorizer timed")
    parser.add_argument("--table-terms", type=int, default=200_000, help="random fingerprints of the table build")
    args = parser.parse_args()

    model_file = read_model_file(args.model)
    vectorizer = model_file.vectorizer
    if vectorizer.implementation != "native":
        parser.error("the native vectorizer is not available here")
    texts = load_test_reviews(args.data)[: args.reviews]
    ngram_max = vectorizer.config.ngram_max
    fingerprint_bytes = vectorizer.fingerprints.astype("<u8").tobytes()
    table_type = type(vectorizer._native)
    stages = {
        "tokenize + hash chain + probes (a one-fingerprint table)": table_type(fingerprint_bytes[:8], ngram_max),
        f"+ cache misses (the model's table: {vectorizer.size:,} terms, 1-{ngram_max}-grams)": vectorizer._native,
    }
    print(
        f"{args.model.name}: {vectorizer.size:,} terms, {len(texts)} reviews, CPU µs per review (best of "
        f"{args.repeats})"
    )
    for name, lookup in stages.items():
        ms = best_cpu_ms(lambda lookup=lookup: [lookup.ids(t) for t in texts], args.repeats)
        print(f"  {name}: {1000 * ms / len(texts):.1f}")
    tokens = [tokenize_bytes(t) for t in texts]
    print(
        f"  tokens per review {sum(map(len, tokens)) / len(texts):.0f}, "
        f"bytes per review {sum(len(t.encode('utf-8', 'surrogatepass')) for t in texts) / len(texts):.0f}"
    )

    hashed = Vectorizer(VectorizerConfig(hash_buckets=args.hash_buckets, ngram_max=ngram_max), None)
    if hashed.implementation != "native":
        parser.error("the native hashed vectorizer is not available here")
    per_review = best_cpu_us_per_call(
        {
            f"hashed ({args.hash_buckets:,} buckets, 1-{ngram_max}-grams), native": hashed.feature_ids,
            f"the model's vocabulary ({vectorizer.size:,} terms), native": vectorizer.feature_ids,
            "hashed, pure Python": hashed.pure_python().feature_ids,
            "the model's vocabulary, pure Python": vectorizer.pure_python().feature_ids,
        },
        texts,
        args.repeats,
    )
    print(f"Vectorizer.feature_ids, CPU µs per review (best of {args.repeats}, interleaved)")
    for name, us in per_review.items():
        print(f"  {name}: {us:.1f}")

    data = args.model.read_bytes()
    random_bytes = np.random.default_rng(0).integers(0, 2**64, args.table_terms, dtype=np.uint64).tobytes()
    loads = {
        "onnxruntime session alone (the file's bytes)": lambda: ort.InferenceSession(
            data, sess_options=session_options(1), providers=["CPUExecutionProvider"]
        ),
        "Classifier.load (all of it)": lambda: Classifier.load(args.model),
        "read_model_file (checksums, metadata, vectorizer with its table)": lambda: read_model_file(args.model),
        f"native table alone (the model's {vectorizer.size:,} fingerprints)": lambda: table_type(
            fingerprint_bytes, ngram_max
        ),
        f"native table alone ({args.table_terms:,} random fingerprints)": lambda: table_type(random_bytes, ngram_max),
        "CRC-32 of the whole file (schema 3)": lambda: checksums.digest_of("crc32", [data]),
        "sha256 of the whole file (schema 2)": lambda: hashlib.sha256(data).hexdigest(),
    }
    print(f"load, CPU ms (best of {args.repeats + 2})")
    for name, call in loads.items():
        print(f"  {name}: {best_cpu_ms(call, args.repeats + 2):.2f}")
    print(f"Classifier.load, wall ms of each step (the fastest of {10 * args.repeats} loads)")
    for name, ms in load_timeline(args.model, 10 * args.repeats).items():
        print(f"  {name}: {ms:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
