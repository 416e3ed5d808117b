#!/usr/bin/env python3
"""The text-input forms against the Python runtime, in one run: time per review, file size, session start.

Apps in other languages give raw strings to plain onnxruntime, so the text forms are
timed there (one thread, one review per call, what an app typing one review does);
the Python runtime is `Classifier.scores([review])` on the token-id file they were made
from. CPU time per review over every review, each path in turn, repeated; the best
pass of each is reported, with its ratio to the Python runtime's best pass of the same
run (issue 26's targets: text_fast at most 6x on reviews and on short texts, its file
at most 1.5x the token-id file, its session at most 3x the token-id file's). Short
texts are the first sentence of each review (imdb_edge/data/short_texts.py).

    python benchmarks/text_forms.py --data "$IMDB_EDGE_DATA" [--model FILE] [--repeats 3] [--json out.json]
        [--extra OTHER.onnx ...]

--extra times other text-input files the same way in the same run (say, the text_fast file an
earlier commit made), so that two graphs are compared by ratios measured in one process.

Without --data, the 256 shipped sample reviews. The text and text_fast files are made
from the model with `imdb-edge export MODEL --input text|text_fast` (the [onnx] extra).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from imdb_edge.atomic import write_json
from imdb_edge.data.reviews import load_test_reviews, review_source
from imdb_edge.data.short_texts import first_sentence
from imdb_edge.export.rewrap import rewrap_as_text
from imdb_edge.runtime.classifier import Classifier, default_model_path

TARGETS = {
    "reviews": 6.0,
    "short texts": 6.0,
    "file": 1.5,
    "session (first in a process)": 3.0,
    "session (again)": 3.0,
}


def plain_session(path: Path) -> ort.InferenceSession:
    """What an app opens: default options but one thread (imdb-edge's own options play no part)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the schema 3 token-id file's two warnings are not what is timed
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def per_review(score: Callable[[str], object], texts: Sequence[str]) -> float:
    """CPU µs per review, one call per review."""
    start = time.process_time()
    for text in texts:
        score(text)
    return (time.process_time() - start) / len(texts) * 1e6


_COLD = """import sys, time, onnxruntime as ort
o = ort.SessionOptions(); o.log_severity_level = 3; o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
t = time.perf_counter(); ort.InferenceSession(sys.argv[1], o); print((time.perf_counter() - t) * 1e3)"""


def session_ms(paths: dict[str, Path], repeats: int) -> dict[str, dict[str, float]]:
    """Median wall ms of creating a plain onnxruntime session of each file: "first" in a fresh process (what an
    app pays once: onnxruntime's own start-up included), "again" in a process that made one before (the graph
    alone). Files are interleaved; each "again" figure is paired with the token-id file's."""
    first: dict[str, list[float]] = {name: [] for name in paths}
    again: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, path in paths.items():
            done = subprocess.run([sys.executable, "-c", _COLD, str(path)], capture_output=True, text=True, check=True)
            first[name].append(float(done.stdout))
    plain_session(paths["token_ids"])
    for name, path in paths.items():
        for _ in range(repeats):
            for form, file in {"token_ids": paths["token_ids"], name: path}.items():
                start = time.perf_counter()
                plain_session(file)
                again[form].append((time.perf_counter() - start) * 1e3)
    return {name: {"first": statistics.median(first[name]), "again": statistics.median(again[name])} for name in paths}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="the IMDB dataset (its 25,000 test reviews); default: the shipped sample")
    parser.add_argument("--model", type=Path, default=None, help="a token-id .onnx file (default: the shipped one)")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the reviews per path (best is kept)")
    parser.add_argument("--no-portable", action="store_true", help="skip the portable text form (27x slower)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--extra", type=Path, action="append", default=[], help="another text-input file to time")
    args = parser.parse_args(argv)

    model = args.model or default_model_path()
    reviews = load_test_reviews(args.data)
    sets = {"reviews": reviews, "short texts": [first_sentence(text) for text in reviews]}
    python = Classifier(model, threads=1)
    with tempfile.TemporaryDirectory(prefix="imdb-edge-text-forms-") as tmp:
        files = {"token_ids": model}
        for form in ([] if args.no_portable else ["text"]) + ["text_fast"]:
            files[form] = Path(tmp) / f"{form}.onnx"
            rewrap_as_text(model, files[form], reviews[:256], review_source(args.data), form)
        sessions = {form: plain_session(path) for form, path in files.items() if form != "token_ids"}
        sessions.update({f"extra {path.name}": plain_session(path) for path in args.extra})
        paths: dict[str, Callable[[str], object]] = {"python runtime": lambda text: python.scores((text,))}
        for form, session in sessions.items():
            paths[f"{form} (plain onnxruntime)"] = lambda text, s=session: s.run(
                None, {"texts": np.array([text], object)}
            )
        times = {name: {kind: float("inf") for kind in sets} for name in paths}
        for _ in range(args.repeats):
            for kind, texts in sets.items():
                for name, score in paths.items():
                    times[name][kind] = min(times[name][kind], per_review(score, texts))
        sizes = {form: path.stat().st_size for form, path in files.items()}
        starts = session_ms(files, 11)
    report = {
        "reviews": len(reviews),
        "source": review_source(args.data),
        "model": str(model),
        "cpu_us_per_review": times,
        "file_bytes": sizes,
        "session_ms_median": starts,
        "repeats": args.repeats,
        "versions": {"onnxruntime": ort.__version__},
    }
    print(f"{len(reviews)} reviews ({report['source']}), one thread, CPU µs per review, best of {args.repeats} passes")
    base = times["python runtime"]
    for name, by_kind in times.items():
        cells = [f"{kind} {us:8.1f} ({us / base[kind]:5.2f}x)" for kind, us in by_kind.items()]
        print(f"  {name:34s} " + "   ".join(cells))
    for form in files:
        cells = [
            f"{when} {starts[form][when]:6.2f} ms ({starts[form][when] / starts['token_ids'][when]:5.2f}x)"
            for when in ("first", "again")
        ]
        ratio = sizes[form] / sizes["token_ids"]
        print(f"  {form:10s} file {sizes[form] / 1024:8,.0f} KB ({ratio:4.2f}x)   session " + "   ".join(cells))
    fast = times["text_fast (plain onnxruntime)"]
    verdicts = {
        "reviews": fast["reviews"] / base["reviews"],
        "short texts": fast["short texts"] / base["short texts"],
        "file": sizes["text_fast"] / sizes["token_ids"],
        "session (first in a process)": starts["text_fast"]["first"] / starts["token_ids"]["first"],
        "session (again)": starts["text_fast"]["again"] / starts["token_ids"]["again"],
    }
    for name, ratio in verdicts.items():
        verdict = "met" if ratio <= TARGETS[name] else "MISSED"
        print(f"target text_fast {name}: {ratio:.2f}x (at most {TARGETS[name]}x): {verdict}")
    report["targets"] = {name: {"ratio": ratio, "limit": TARGETS[name]} for name, ratio in verdicts.items()}
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
