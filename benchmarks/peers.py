#!/usr/bin/env python3
"""Peer comparison in one run: the same trained model and the same reviews through
Keras, LiteRT (fp32 and int8), a naive regex + dense fp32 ONNX path, and this runtime.

Needs the [train] extra plus `ai-edge-litert`. Reports single-review latency (one
thread) end to end and model-only, each as a ratio to this runtime's default form,
plus cold start (wall time and peak memory of one classify process) and file
throughput. Ratios measured in the same run are what hold on a noisy machine.

    python benchmarks/peers.py --run runs/default-ref16 --data PATH --out docs/benchmarks-peers.json
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from imdb_edge.atomic import write_json
from imdb_edge.runtime.bench import time_calls
from imdb_edge.runtime.classifier import Classifier, session_options
from imdb_edge.runtime.machine import describe_machine
from imdb_edge.runtime.vectorizer import Vectorizer

REFERENCE = "imdb-edge int8 token_ids"
NAIVE_PATTERN = re.compile(r"[a-z0-9]+")


def litert_models(model: Any, width: int, workdir: Path) -> dict[str, Path]:
    """The Keras model as LiteRT flatbuffers: fp32 and int8 (dynamic-range) weights."""
    import tensorflow as tf

    function = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec((1, width), tf.float32)])
    paths = {}
    for name, optimize in (("fp32", False), ("int8", True)):
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], model)
        if optimize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        path = workdir / f"model.{name}.tflite"
        path.write_bytes(converter.convert())
        paths[name] = path
    return paths


def litert_runner(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(inp, x)
        interpreter.invoke()
        return interpreter.get_tensor(out)

    return run


def naive_runner(vectorizer: Vectorizer, dense_onnx: Path) -> Callable[[str], np.ndarray]:
    """What a user would write first: a regex tokenizer and the dense 10,000-wide fp32 model."""
    import onnxruntime as ort

    index = {term: i for i, term in enumerate(vectorizer.vocabulary)}
    session = ort.InferenceSession(str(dense_onnx), session_options(1))
    width = vectorizer.size

    def run(text: str) -> np.ndarray:
        ids = [index[w] for w in NAIVE_PATTERN.findall(text.lower()) if w in index]
        x = np.zeros((1, width), dtype=np.float32)
        x[0, ids] = 1.0
        return session.run(None, {"features": x})[0]

    return run


def summarize(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples) * 1000.0  # µs
    return {
        "runs": int(arr.size),
        "p50_us": float(np.percentile(arr, 50)),
        "p90_us": float(np.percentile(arr, 90)),
        "mean_us": float(arr.mean()),
        "std_us": float(arr.std(ddof=1)),
    }


def peak_rss_of(command: list[str], repeats: int) -> dict[str, float]:
    """Median wall time and peak RSS of a whole process, from start to exit.

    GNU time measures it: a child forked straight from this (TensorFlow-sized)
    process would report this process's memory as its own peak.
    """
    walls, rss = [], []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "rss"
        for _ in range(repeats):
            start = time.perf_counter()
            done = subprocess.run(["/usr/bin/time", "-o", str(report), "-f", "%M", *command], capture_output=True)
            walls.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise RuntimeError(f"{command} failed: {done.stderr[-500:]!r}")
            rss.append(int(report.read_text().split()[-1]) / 1024)  # KiB
    return {"wall_s_median": statistics.median(walls), "peak_rss_mb_median": statistics.median(rss), "runs": repeats}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, type=Path, help="a run folder from imdb-edge train")
    parser.add_argument("--data", default=os.environ.get("IMDB_EDGE_DATA"), help="the IMDB dataset")
    parser.add_argument("--reviews", type=int, default=500, help="test reviews in the latency pool")
    parser.add_argument("--min-runs", type=int, default=1000)
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--cold-repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    args = parser.parse_args()

    import keras

    from imdb_edge.data.dataset import load_dataset, resolve_data_path
    from imdb_edge.export.pipeline import export_run

    data_path = resolve_data_path(args.data)
    test = load_dataset(data_path).test
    pool = [test.texts[i] for i in np.random.default_rng(0).permutation(len(test))[: args.reviews]]
    model = keras.saving.load_model(args.run / "model.keras", safe_mode=True)
    vectorizer = Vectorizer.from_json((args.run / "vectorizer.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="imdb-edge-peers-"))
    onnx_files = {}
    for form in ("token_ids", "dense"):
        for precision in ("fp32", "int8"):
            path = work / f"{form}.{precision}.onnx"
            export_run(
                args.run, path, input_form=form, quantize=None if precision == "fp32" else "int8", data=data_path
            )
            onnx_files[(form, precision)] = path
    tflite = litert_models(model, vectorizer.size, work)

    dense_inputs = [vectorizer.multi_hot([t]) for t in pool]
    cases: dict[str, dict[str, Any]] = {}

    def measure(
        name: str, end_to_end: Callable[[str], Any], model_only: Callable[[Any], Any] | None, prepared: list[Any] | None
    ) -> None:
        row = {"e2e": summarize(time_calls(end_to_end, pool, args.min_runs, args.min_seconds))}
        if model_only is not None and prepared is not None:
            row["model"] = summarize(time_calls(model_only, prepared, args.min_runs, args.min_seconds))
        cases[name] = row
        print(f"measured {name}", file=sys.stderr, flush=True)

    keras_predict = lambda x: model.predict(x, verbose=0)  # noqa: E731
    keras_call = lambda x: model(x, training=False)  # noqa: E731
    measure("keras model.predict", lambda t: keras_predict(vectorizer.multi_hot([t])), keras_predict, dense_inputs)
    measure("keras direct call", lambda t: keras_call(vectorizer.multi_hot([t])), keras_call, dense_inputs)
    for precision, path in tflite.items():
        run = litert_runner(path)
        measure(f"LiteRT {precision} (dense)", lambda t, run=run: run(vectorizer.multi_hot([t])), run, dense_inputs)
    naive = naive_runner(vectorizer, onnx_files[("dense", "fp32")])
    measure("naive: regex + dense fp32 ONNX", naive, None, None)
    for (form, precision), path in onnx_files.items():
        classifier = Classifier.load(path, threads=1)
        prepared = [classifier.model_inputs([t]) for t in pool]
        measure(f"imdb-edge {precision} {form}", lambda t, c=classifier: c.scores([t]), classifier.run, prepared)

    reference = cases[REFERENCE]
    for row in cases.values():
        for mode in ("e2e", "model"):
            if mode in row and mode in reference:
                row[mode]["ratio_to_imdb_edge"] = row[mode]["p50_us"] / reference[mode]["p50_us"]

    # Cold start: one process, from start to answer.
    text = "An absolute masterpiece, I loved every minute."
    cold_ours = peak_rss_of(
        [sys.executable, "-m", "imdb_edge", "classify", "--model", str(onnx_files[("token_ids", "int8")]), text],
        args.cold_repeats,
    )
    keras_script = (
        "import os, sys; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'\n"
        "import keras\nfrom imdb_edge.runtime.vectorizer import Vectorizer\n"
        f"m = keras.saving.load_model({str(args.run / 'model.keras')!r})\n"
        f"v = Vectorizer.from_json(open({str(args.run / 'vectorizer.json')!r}).read())\n"
        f"print(float(m.predict(v.multi_hot([{text!r}]), verbose=0)[0, 0]))\n"
    )
    cold_keras = peak_rss_of([sys.executable, "-c", keras_script], args.cold_repeats)
    cold = {
        "imdb-edge classify": cold_ours,
        "keras (tensorflow) script": cold_keras,
        "wall_ratio": cold_keras["wall_s_median"] / cold_ours["wall_s_median"],
        "memory_ratio": cold_keras["peak_rss_mb_median"] / cold_ours["peak_rss_mb_median"],
    }

    # File throughput after start-up: the marginal rate between a 1x and a 4x file.
    lines = "".join(t.replace("\n", " ").replace("\r", " ") + "\n" for t in test.texts)
    throughput = {}
    for workers in (1, os.cpu_count() or 1):
        walls = {}
        for copies in (1, 4):
            source = work / f"reviews{copies}.txt"
            source.write_text(lines * copies)
            command = [sys.executable, "-m", "imdb_edge", "classify", "--model", str(onnx_files[("token_ids", "int8")])]
            command += ["--file", str(source), "--workers", str(workers), "--output", str(work / "out.tsv")]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            walls[copies] = time.perf_counter() - start
        throughput[f"{workers} worker(s)"] = {
            "reviews_per_s_after_startup": 3 * len(test.texts) / (walls[4] - walls[1]),
            "wall_s_25k": walls[1],
            "wall_s_100k": walls[4],
        }

    report = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": describe_machine(),
        "run": str(args.run),
        "pool_reviews": len(pool),
        "settings": {"min_runs": args.min_runs, "min_seconds": args.min_seconds, "threads": 1},
        "latency": cases,
        "cold_start": cold,
        "file_throughput": throughput,
        "sizes_bytes": {
            **{f"onnx {p} {f}": path.stat().st_size for (f, p), path in onnx_files.items()},
            **{f"tflite {p}": path.stat().st_size for p, path in tflite.items()},
        },
    }
    if args.out:
        write_json(args.out, report)
    print(markdown(report))
    return 0


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    out = [
        f"{m['cpu']} ({m['architecture']}, {m['cores']} cores), onnxruntime {m['onnxruntime']}, one thread, "
        f"{report['pool_reviews']} test reviews, {report['timestamp']}",
        "",
        "| path | e2e p50 µs | e2e mean ± std µs | ratio to imdb-edge | model-only p50 µs | ratio to imdb-edge |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["latency"].items():
        e2e, mod = row["e2e"], row.get("model")
        model_cells = f"{mod['p50_us']:.1f} | {mod['ratio_to_imdb_edge']:.2f}x" if mod else "- | -"
        out.append(
            f"| {name} | {e2e['p50_us']:.1f} | {e2e['mean_us']:.1f} ± {e2e['std_us']:.1f} "
            f"| {e2e['ratio_to_imdb_edge']:.2f}x | {model_cells} |"
        )
    cold = report["cold_start"]
    ours, theirs = cold["imdb-edge classify"], cold["keras (tensorflow) script"]
    out += [
        "",
        "| cold start (one review, whole process) | wall s (median) | peak RSS MB |",
        "|---|---:|---:|",
        f"| imdb-edge classify | {ours['wall_s_median']:.2f} | {ours['peak_rss_mb_median']:.0f} |",
        f"| Keras + TensorFlow | {theirs['wall_s_median']:.2f} | {theirs['peak_rss_mb_median']:.0f} |",
        f"| ratio | {cold['wall_ratio']:.1f}x faster | {cold['memory_ratio']:.1f}x smaller |",
        "",
        "| classify --file (after start-up) | reviews/s |",
        "|---|---:|",
    ]
    for name, row in report["file_throughput"].items():
        out.append(f"| {name} | {row['reviews_per_s_after_startup']:,.0f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
