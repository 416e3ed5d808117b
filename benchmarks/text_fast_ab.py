#!/usr/bin/env python3
"""Two text-input files against each other, interleaved in one process: CPU µs per review, one thread.

How each text_fast change was judged (docs/benchmarks.md, "How text_fast got there"): the file
built before a change against the one built after it, seven passes each over the 256
shipped sample reviews (or their first sentences with --short), min and median printed.

    python benchmarks/text_fast_ab.py before.onnx after.onnx [--short]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from imdb_edge.data.reviews import sample_reviews
from imdb_edge.data.short_texts import first_sentence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs=2, help="two text-input .onnx files")
    parser.add_argument("--short", action="store_true", help="the first sentence of each review")
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args(argv)
    texts = [first_sentence(text) for text in sample_reviews()] if args.short else sample_reviews()
    inputs = [np.array([text], dtype=object) for text in texts]
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = 1, 1, 3
    sessions = {path: ort.InferenceSession(path, options) for path in args.models}
    passes: dict[str, list[float]] = {path: [] for path in sessions}
    for _ in range(args.passes):
        for path, session in sessions.items():
            start = time.process_time()
            for array in inputs:
                session.run(None, {"texts": array})
            passes[path].append((time.process_time() - start) / len(inputs) * 1e6)
    for path, values in passes.items():
        print(f"{path}: min {min(values):.1f} µs, median {statistics.median(values):.1f} µs per review")
    return 0


if __name__ == "__main__":
    sys.exit(main())
