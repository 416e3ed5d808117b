#!/usr/bin/env python3
"""Peer comparison in one run: the same trained model and the same reviews through
Keras, LiteRT (fp32 and int8), a naive regex + dense fp32 ONNX path, and this runtime;
plus the shipped default model (native and pure-Python vectorizer) and fastText
trained on the same reviews.

Needs the [train] extra; `ai-edge-litert` for the LiteRT rows and `fasttext`
(fasttext-numpy2) for the fastText row (each is skipped, and said so, when missing).
Reports single-review latency (one thread) end to end and model-only, each as a
ratio to this runtime's int8 token-id form of the same run, cold start (wall time
and peak memory of one classify process, against `python -c "import numpy,
onnxruntime"`), file throughput, and the issue-11 targets. Ratios measured in the
same run are what hold on a noisy machine.

"One review" means here what it means in `imdb-edge bench`: the same pool of test
reviews (imdb_edge/bench/reviews.py: --reviews drawn at random, seed 0) cycled in the
same order, and this runtime's rows timed with bench's own calls (`case_call`: raw text
to scores, or prepared input to scores), so the default model's row and `imdb-edge bench
--data PATH --threads 1 --batch 1` measure the same thing.

    python benchmarks/peers.py --run runs/default-ref16 --data PATH --output docs/benchmarks-peers.json
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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
from imdb_edge.bench.latency import Timing, case_call, measure_load, time_calls
from imdb_edge.bench.machine import describe_machine
from imdb_edge.bench.reviews import POOL_SIZE, describe_pool, draw_pool
from imdb_edge.runtime.classifier import Classifier, default_model_path, session_options
from imdb_edge.runtime.vectorizer import Vectorizer, implementation, tokenize

sys.path.insert(0, str(Path(__file__).parent))  # the sibling modules below, however this script is run
from fasttext_peer import fasttext_model
from one_text import one_text_markdown, one_text_section

REFERENCE = "imdb-edge int8 token_ids"
DEFAULT = "imdb-edge default model (native vectorizer)"
DEFAULT_PURE = "imdb-edge default model (pure-Python vectorizer)"
NAIVE = "naive: regex + dense fp32 ONNX"
FASTTEXT = "fastText predict (1-3-grams, .ftz, pre-tokenized text)"
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


def summarize(timing: Timing) -> dict[str, float]:
    arr = np.asarray(timing.samples_ms) * 1000.0  # µs
    return {
        "runs": int(arr.size),
        "cpu_us_per_call": timing.cpu_ms_per_call * 1000.0,
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


def interleaved_cold(a: list[str], b: list[str], repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Whole-process figures of two commands run in turn (A B A B ...), after one warm-up each."""
    peak_rss_of(a, 1), peak_rss_of(b, 1)
    runs_a, runs_b = [], []
    for _ in range(repeats):
        runs_a.append(peak_rss_of(a, 1))
        runs_b.append(peak_rss_of(b, 1))

    def median(runs: list[dict[str, float]]) -> dict[str, float]:
        return {
            "wall_s_median": statistics.median(r["wall_s_median"] for r in runs),
            "peak_rss_mb_median": statistics.median(r["peak_rss_mb_median"] for r in runs),
            "runs": len(runs),
        }

    return median(runs_a), median(runs_b)


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue-11 targets, each with the measured ratio and whether it holds."""
    lat = report["latency"]
    p50 = {name: row["e2e"]["p50_us"] for name, row in lat.items()}
    default_model = lat[DEFAULT]["model"]["p50_us"]
    rows = [
        ("default model, one review: end to end <= 2.5x its model-only", p50[DEFAULT] / default_model, "<=", 2.5),
        ("default model >= 3x faster than the naive regex path", p50[NAIVE] / p50[DEFAULT], ">=", 3.0),
        ("default model end to end <= 1.3x the 10,000-word model", p50[DEFAULT] / p50[REFERENCE], "<=", 1.3),
    ]
    if FASTTEXT in p50:
        rows.append(("default model faster than fastText predict", p50[FASTTEXT] / p50[DEFAULT], ">=", 1.0))
    two = report["file_throughput"].get("2 worker(s)")
    if two:
        rows.append(
            ("classify --file, 2 workers, reviews/s after start-up", two["reviews_per_s_after_startup"], ">=", 60_000)
        )
    rows.append(
        ("cold classify vs python -c 'import numpy, onnxruntime'", report["cold_start"]["vs_imports"], "<=", 2.0)
    )
    for name, load in report["load"].items():
        rows.append((f"{name}: Classifier load vs onnxruntime session alone", load["load_vs_session"], "<=", 3.0))
    return [
        {
            "target": name,
            "measured": value,
            "limit": f"{op} {limit:g}",
            "met": value <= limit if op == "<=" else value >= limit,
        }
        for name, value, op, limit in rows
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, type=Path, help="a run folder from imdb-edge train")
    parser.add_argument("--data", default=os.environ.get("IMDB_EDGE_DATA"), help="the IMDB dataset")
    parser.add_argument(
        "--reviews", type=int, default=POOL_SIZE, help="test reviews in the latency pool (as bench --reviews)"
    )
    parser.add_argument("--min-runs", type=int, default=1000)
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--cold-repeats", type=int, default=5)
    parser.add_argument("--default-model", type=Path, default=default_model_path(), help="the shipped model file")
    parser.add_argument(
        "--extra-model", type=Path, action="append", default=[], help="also time this model file (repeatable)"
    )
    parser.add_argument("--no-keras", action="store_true", help="skip the (slow) Keras rows")
    parser.add_argument("--output", type=Path, help="write the JSON report here")
    args = parser.parse_args()

    import keras

    from imdb_edge.data.dataset import load_dataset, resolve_data_path
    from imdb_edge.export.pipeline import export_run

    data_path = resolve_data_path(args.data)
    test = load_dataset(data_path).test
    review_pool = draw_pool(test.texts, str(data_path), args.reviews)
    pool = review_pool.texts
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
    try:
        import ai_edge_litert  # noqa: F401

        tflite = litert_models(model, vectorizer.size, work)
    except ImportError:
        print("LiteRT rows skipped: ai-edge-litert is not installed", file=sys.stderr)
        tflite = {}

    dense_inputs = [vectorizer.multi_hot([t]) for t in pool]
    cases: dict[str, dict[str, Any]] = {}

    def measure(
        name: str, end_to_end: Callable[[str], Any], model_only: Callable[[Any], Any] | None, prepared: list[Any] | None
    ) -> None:
        """A peer's row: its own call on each review of the pool in turn (and on its prepared inputs)."""
        row = {"e2e": summarize(time_calls(end_to_end, pool, args.min_runs, args.min_seconds))}
        if model_only is not None and prepared is not None:
            row["model"] = summarize(time_calls(model_only, prepared, args.min_runs, args.min_seconds))
        cases[name] = row
        print(f"measured {name}", file=sys.stderr, flush=True)

    def measure_imdb_edge(name: str, classifier: Classifier, modes: tuple[str, ...] = ("e2e", "model")) -> None:
        """This runtime's row, timed exactly as `imdb-edge bench --batch 1` times it."""
        row = {}
        for mode in modes:
            call, inputs = case_call(classifier, mode, pool, 1)
            row[mode] = summarize(time_calls(call, inputs, args.min_runs, args.min_seconds))
        cases[name] = row
        print(f"measured {name}", file=sys.stderr, flush=True)

    keras_predict = lambda x: model.predict(x, verbose=0)  # noqa: E731
    keras_call = lambda x: model(x, training=False)  # noqa: E731
    if not args.no_keras:
        measure("keras model.predict", lambda t: keras_predict(vectorizer.multi_hot([t])), keras_predict, dense_inputs)
        measure("keras direct call", lambda t: keras_call(vectorizer.multi_hot([t])), keras_call, dense_inputs)
    for precision, path in tflite.items():
        run = litert_runner(path)
        measure(f"LiteRT {precision} (dense)", lambda t, run=run: run(vectorizer.multi_hot([t])), run, dense_inputs)
    naive = naive_runner(vectorizer, onnx_files[("dense", "fp32")])
    measure(NAIVE, naive, None, None)
    for (form, precision), path in onnx_files.items():
        measure_imdb_edge(f"imdb-edge {precision} {form}", Classifier.load(path, threads=1))
    measure_imdb_edge(DEFAULT, Classifier.load(args.default_model, threads=1))
    for path in args.extra_model:
        measure_imdb_edge(f"imdb-edge {path.name} (native vectorizer)", Classifier.load(path, threads=1))
    pure = Classifier.load(args.default_model, threads=1)
    pure.vectorizer = pure.vectorizer.pure_python()
    measure_imdb_edge(DEFAULT_PURE, pure, ("e2e",))
    fasttext_info: dict[str, Any] | None = None
    ft = None
    try:
        train = load_dataset(data_path).train
        ft, fasttext_info = fasttext_model(train.texts, train.labels, test.texts, test.labels, work)
        tokenized = {t: " ".join(tokenize(t)) for t in pool}
        cases[FASTTEXT] = {
            "e2e": summarize(time_calls(lambda t: ft.predict(tokenized[t]), pool, args.min_runs, args.min_seconds))
        }
        print(f"measured {FASTTEXT}", file=sys.stderr, flush=True)
    except ImportError:
        print("fastText row skipped: the fasttext module (fasttext-numpy2) is not installed", file=sys.stderr)
    # Issue 29: one text at a time by length, predict against onnxruntime's floor and fastText (one_text.py).
    one_text = one_text_section(
        Classifier.load(args.default_model, threads=1),
        pool,
        ft,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )

    reference = cases[REFERENCE]
    for row in cases.values():
        for mode in ("e2e", "model"):
            if mode in row and mode in reference:
                row[mode]["ratio_to_imdb_edge"] = row[mode]["p50_us"] / reference[mode]["p50_us"]

    # Cold start: one process, from start to answer, with the shipped model; the floor is
    # importing numpy and onnxruntime. Both interleaved, run by run.
    text = "An absolute masterpiece, I loved every minute."
    classify_command = [sys.executable, "-m", "imdb_edge", "classify", "--model", str(args.default_model), text]
    imports_command = [sys.executable, "-c", "import numpy, onnxruntime"]
    cold_ours, cold_imports = interleaved_cold(classify_command, imports_command, args.cold_repeats)
    cold = {
        "imdb-edge classify": cold_ours,
        "import numpy, onnxruntime": cold_imports,
        "vs_imports": cold_ours["wall_s_median"] / cold_imports["wall_s_median"],
    }
    if not args.no_keras:
        keras_script = (
            "import os, sys; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'\n"
            "import keras\nfrom imdb_edge.runtime.vectorizer import Vectorizer\n"
            f"m = keras.saving.load_model({str(args.run / 'model.keras')!r})\n"
            f"v = Vectorizer.from_json(open({str(args.run / 'vectorizer.json')!r}).read())\n"
            f"print(float(m.predict(v.multi_hot([{text!r}]), verbose=0)[0, 0]))\n"
        )
        cold_keras = peak_rss_of([sys.executable, "-c", keras_script], args.cold_repeats)
        cold["keras (tensorflow) script"] = cold_keras
        cold["wall_ratio"] = cold_keras["wall_s_median"] / cold_ours["wall_s_median"]
        cold["memory_ratio"] = cold_keras["peak_rss_mb_median"] / cold_ours["peak_rss_mb_median"]

    # File throughput after start-up: the marginal rate between a 1x and a 4x file, by
    # wall clock, and the CPU (user + sys of the whole process tree) each extra review
    # costs: on a shared machine the wall rate depends on what else runs, the CPU cost not.
    lines = "".join(t.replace("\n", " ").replace("\r", " ") + "\n" for t in test.texts)
    for copies in (1, 4):
        (work / f"reviews{copies}.txt").write_text(lines * copies)
    throughput = {}
    for workers in (1, os.cpu_count() or 1):
        walls, cpus = {}, {}
        for copies in (1, 4):
            command = [sys.executable, "-m", "imdb_edge", "classify", "--model", str(args.default_model)]
            command += ["--file", str(work / f"reviews{copies}.txt"), "--workers", str(workers)]
            command += ["--output", str(work / "out.tsv")]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            walls[copies] = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[copies] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        extra = 3 * len(test.texts)
        throughput[f"{workers} worker(s)"] = {
            "reviews_per_s_after_startup": extra / (walls[4] - walls[1]),
            "cpu_us_per_review_after_startup": 1e6 * (cpus[4] - cpus[1]) / extra,
            "wall_s_25k": walls[1],
            "wall_s_100k": walls[4],
        }

    loaded = {"default model": args.default_model, "10,000-word model": onnx_files[("token_ids", "int8")]}
    loaded.update({path.name: path for path in args.extra_model})
    load = {name: measure_load(path, repeats=7).to_dict() for name, path in loaded.items()}

    report = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": describe_machine(),
        "run": str(args.run),
        "pool_reviews": len(pool),
        "review_pool": review_pool.describe(),
        "settings": {"min_runs": args.min_runs, "min_seconds": args.min_seconds, "threads": 1},
        "vectorizer": implementation(),
        "default_model": str(args.default_model),
        "latency": cases,
        "fasttext": fasttext_info,
        "one_text": one_text,
        "cold_start": cold,
        "load": load,
        "file_throughput": throughput,
        "sizes_bytes": {
            "default model": args.default_model.stat().st_size,
            **{f"onnx {p} {f}": path.stat().st_size for (f, p), path in onnx_files.items()},
            **{f"tflite {p}": path.stat().st_size for p, path in tflite.items()},
        },
    }
    report["targets"] = targets(report) + one_text["targets"]
    if args.output:
        write_json(args.output, report)
    print(markdown(report))
    return 0


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    out = [
        f"{m['cpu']} ({m['architecture']}, {m['cores']} cores), onnxruntime {m['onnxruntime']}, one thread, "
        f"{report['timestamp']}",
        f"reviews: {describe_pool(report['review_pool'])}",
        "",
        "| path | e2e p50 µs | e2e mean ± std µs | e2e CPU µs/call | ratio to imdb-edge | model-only p50 µs "
        "| ratio to imdb-edge |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["latency"].items():
        e2e, mod = row["e2e"], row.get("model")
        model_cells = f"{mod['p50_us']:.1f} | {mod['ratio_to_imdb_edge']:.2f}x" if mod else "- | -"
        out.append(
            f"| {name} | {e2e['p50_us']:.1f} | {e2e['mean_us']:.1f} ± {e2e['std_us']:.1f} "
            f"| {e2e['cpu_us_per_call']:.1f} | {e2e['ratio_to_imdb_edge']:.2f}x | {model_cells} |"
        )
    cold = report["cold_start"]
    ours, imports = cold["imdb-edge classify"], cold["import numpy, onnxruntime"]
    out += [
        "",
        "| cold start (one review, whole process) | wall s (median) | peak RSS MB |",
        "|---|---:|---:|",
        f"| imdb-edge classify (default model) | {ours['wall_s_median']:.2f} | {ours['peak_rss_mb_median']:.0f} |",
        f"| python -c 'import numpy, onnxruntime' | {imports['wall_s_median']:.2f} "
        f"| {imports['peak_rss_mb_median']:.0f} |",
    ]
    if "keras (tensorflow) script" in cold:
        theirs = cold["keras (tensorflow) script"]
        out += [
            f"| Keras + TensorFlow | {theirs['wall_s_median']:.2f} | {theirs['peak_rss_mb_median']:.0f} |",
            f"| Keras vs imdb-edge | {cold['wall_ratio']:.1f}x slower | {cold['memory_ratio']:.1f}x larger |",
        ]
    if report.get("fasttext"):
        ft = report["fasttext"]
        out += [
            "",
            f"fastText: test accuracy {100 * ft['test_accuracy']:.2f}% on {ft['test_reviews']:,} reviews, "
            f".ftz {ft['file_bytes'] / 1024:,.0f} KB; "
            f"default model file {report['sizes_bytes']['default model'] / 1024:,.0f} KB",
        ]
    out += [
        "",
        "| classify --file (after start-up) | reviews/s (wall) | CPU µs per review (all processes) |",
        "|---|---:|---:|",
    ]
    for name, row in report["file_throughput"].items():
        out.append(
            f"| {name} | {row['reviews_per_s_after_startup']:,.0f} | {row['cpu_us_per_review_after_startup']:.1f} |"
        )
    out += ["", "| load (7 interleaved) | file KB | Classifier load ms | onnxruntime session alone ms | ratio |"]
    out.append("|---|---:|---:|---:|---:|")
    for name, load in report["load"].items():
        out.append(
            f"| {name} | {load['bytes'] / 1024:,.0f} | {load['load_ms_mean']:.1f} | {load['session_ms_mean']:.1f} "
            f"| {load['load_vs_session']:.2f}x |"
        )
    if report.get("one_text"):
        out += ["", one_text_markdown(report["one_text"]).split("\n\n| target")[0]]
    out += ["", "| target | measured | limit | verdict |", "|---|---:|---|---|"]
    for row in report["targets"]:
        out.append(
            f"| {row['target']} | {row['measured']:,.2f} | {row['limit']} | {'met' if row['met'] else '**missed**'} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
