"""`imdb-edge bench`: latency and throughput of model files on this device.

Like llama-bench: one warm-up, then repeated timed runs per case (at least
`min_runs` and `min_seconds`), reported as percentiles and mean ± std, as a
Markdown table or JSON with the raw samples and a machine description.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.classifier import Classifier, session_options
from imdb_edge.runtime.machine import describe_machine
from imdb_edge.runtime.vectorizer import implementation

MODES = ("e2e", "model")


@dataclass
class CaseResult:
    model: str
    precision: str
    input_form: str
    mode: str
    threads: int
    batch: int
    samples_ms: list[float] = field(repr=False)

    def stats(self) -> dict[str, float]:
        samples = np.asarray(self.samples_ms)
        mean = float(samples.mean())
        return {
            "runs": int(samples.size),
            "p50_ms": float(np.percentile(samples, 50)),
            "p90_ms": float(np.percentile(samples, 90)),
            "p99_ms": float(np.percentile(samples, 99)),
            "mean_ms": mean,
            "std_ms": float(samples.std(ddof=1)) if samples.size > 1 else 0.0,
            "reviews_per_s": self.batch * 1000.0 / mean if mean > 0 else float("inf"),
        }

    def to_dict(self, with_samples: bool = True) -> dict[str, Any]:
        row: dict[str, Any] = {
            "model": self.model,
            "precision": self.precision,
            "input_form": self.input_form,
            "mode": self.mode,
            "threads": self.threads,
            "batch": self.batch,
            **self.stats(),
        }
        if with_samples:
            row["samples_ms"] = [round(s, 5) for s in self.samples_ms]
        return row


def sample_reviews() -> list[str]:
    """The 256 real test reviews shipped with the package."""
    path = resources.files("imdb_edge.runtime") / "samples" / "reviews.jsonl"
    lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): texts hold U+2028 and friends
    return [json.loads(line)["text"] for line in lines if line.strip()]


def load_reviews(data: str | None) -> list[str]:
    """Test-split reviews from `data` (folder or archive), else the shipped sample."""
    if data is None:
        return sample_reviews()
    from imdb_edge.data.dataset import load_dataset  # numpy-only loader, no TensorFlow

    return load_dataset(data).test.texts


def time_calls(
    call: Callable[[Any], Any], inputs: Sequence[Any], min_runs: int, min_seconds: float, max_runs: int = 100_000
) -> list[float]:
    """Warm up once, then time calls (cycling through `inputs`) until both minimums are met."""
    call(inputs[0])
    samples: list[float] = []
    start = time.perf_counter()
    index = 0
    while len(samples) < max_runs and (len(samples) < min_runs or time.perf_counter() - start < min_seconds):
        item = inputs[index % len(inputs)]
        t0 = time.perf_counter_ns()
        call(item)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        index += 1
    return samples


def _batches(texts: list[str], size: int, count: int = 16) -> list[list[str]]:
    """`count` different batches of `size` reviews, wrapping around the pool."""
    return [[texts[(start * size + i) % len(texts)] for i in range(size)] for start in range(count)]


@dataclass
class LoadResult:
    model: str
    bytes: int
    load_ms: list[float]
    first_inference_ms: float
    session_ms: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        load_mean = float(np.mean(self.load_ms))
        session_mean = float(np.mean(self.session_ms)) if self.session_ms else None
        return {
            "model": self.model,
            "bytes": self.bytes,
            "load_ms_mean": load_mean,
            "load_ms_samples": [round(v, 3) for v in self.load_ms],
            "session_ms_mean": session_mean,
            "session_ms_samples": [round(v, 3) for v in self.session_ms],
            "load_vs_session": load_mean / session_mean if session_mean else None,
            "first_inference_ms": self.first_inference_ms,
        }


def measure_load(path: Path, repeats: int = 5) -> LoadResult:
    """Load time (read, verify checksums, build the vocabulary tables and the session), the first
    inference after it, and, interleaved, what onnxruntime alone takes to create the session."""
    import onnxruntime as ort

    data = path.read_bytes()
    loads, sessions = [], []
    first = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        ort.InferenceSession(data, sess_options=session_options(1), providers=["CPUExecutionProvider"])
        sessions.append((time.perf_counter_ns() - t0) / 1e6)
        t0 = time.perf_counter_ns()
        classifier = Classifier.load(path, threads=1)
        loads.append((time.perf_counter_ns() - t0) / 1e6)
        t0 = time.perf_counter_ns()
        classifier.predict("A first review after loading.")
        first = first or (time.perf_counter_ns() - t0) / 1e6
    return LoadResult(path.name, path.stat().st_size, loads, first, sessions)


def ratios(results: list[CaseResult]) -> list[str]:
    """One line per model: single-review end to end vs its own model-only time, and vs the first model."""
    single = {
        (r.model, r.mode): r.stats()["p50_ms"]
        for r in results
        if r.batch == 1 and r.threads == min(x.threads for x in results)
    }
    models = list(dict.fromkeys(r.model for r in results))
    lines = []
    first_e2e = single.get((models[0], "e2e")) if models else None
    for model in models:
        e2e, only = single.get((model, "e2e")), single.get((model, "model"))
        if e2e is None:
            continue
        parts = [f"{model}: one review end to end p50 {1000 * e2e:.1f} µs"]
        if only:
            parts.append(f"{e2e / only:.2f}x its model-only p50 ({1000 * only:.1f} µs)")
        if first_e2e and model != models[0]:
            parts.append(f"{e2e / first_e2e:.2f}x {models[0]}")
        lines.append(", ".join(parts))
    return lines


def iter_cases(
    models: Sequence[Path],
    texts: list[str],
    batch_sizes: Sequence[int],
    threads: Sequence[int],
    modes: Sequence[str],
    min_runs: int,
    min_seconds: float,
) -> Iterator[CaseResult]:
    for path in models:
        for thread_count in threads:
            classifier = Classifier.load(path, threads=thread_count)
            precision = str(classifier.model_file.model.get("precision", "?"))
            for batch in batch_sizes:
                batches = _batches(texts, batch)
                for mode in modes:
                    if mode == "e2e":
                        samples = time_calls(classifier.scores, batches, min_runs, min_seconds)
                    else:
                        prepared = [classifier.model_inputs(b) for b in batches]
                        samples = time_calls(classifier.run, prepared, min_runs, min_seconds)
                    yield CaseResult(path.name, precision, classifier.input_form, mode, thread_count, batch, samples)


@dataclass(frozen=True)
class BenchSettings:
    models: list[Path]
    batch_sizes: list[int]
    threads: list[int]
    modes: list[str]
    min_runs: int
    min_seconds: float

    def cases(self) -> int:
        return len(self.models) * len(self.threads) * len(self.batch_sizes) * len(self.modes)

    @classmethod
    def from_options(
        cls, models: list[Path], batch: str, threads: str | None, mode: str, min_runs: int, min_seconds: float
    ) -> BenchSettings:
        """The `bench` command's options, checked: comma lists of whole numbers, known modes."""
        modes = [m.strip() for m in mode.split(",") if m.strip()]
        if not modes or set(modes) - set(MODES):
            raise ImdbEdgeError(f"--mode takes e2e and/or model, got {mode!r}")
        if min_runs < 1 or min_seconds < 0:
            raise ImdbEdgeError("--min-runs must be >= 1 and --min-seconds >= 0")
        thread_counts = _whole_numbers(threads, "--threads") if threads else list(range(1, (os.cpu_count() or 1) + 1))
        return cls(models, _whole_numbers(batch, "--batch"), thread_counts, modes, min_runs, min_seconds)

    def to_dict(self, reviews: int, source: str) -> dict[str, Any]:
        return {
            "models": [str(p) for p in self.models],
            "reviews": reviews,
            "review_source": source,
            "batch_sizes": self.batch_sizes,
            "threads": self.threads,
            "modes": self.modes,
            "min_runs": self.min_runs,
            "min_seconds": self.min_seconds,
        }


def _whole_numbers(value: str, what: str) -> list[int]:
    try:
        items = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ImdbEdgeError(f"{what} must be comma-separated whole numbers, got {value!r}") from None
    if not items or min(items) < 1:
        raise ImdbEdgeError(f"{what} must be whole numbers >= 1, got {value!r}")
    return items


def run_bench(
    settings: BenchSettings, texts: list[str], progress: Callable[[int, int, CaseResult], None] | None = None
) -> tuple[list[CaseResult], list[LoadResult]]:
    """Load times first, then every case in order, reporting each as it finishes."""
    loads = [measure_load(path) for path in settings.models]
    results = []
    cases = iter_cases(
        settings.models,
        texts,
        settings.batch_sizes,
        settings.threads,
        settings.modes,
        settings.min_runs,
        settings.min_seconds,
    )
    for index, result in enumerate(cases, start=1):
        results.append(result)
        if progress is not None:
            progress(index, settings.cases(), result)
    return results, loads


def recommend(results: list[CaseResult]) -> str | None:
    """The model file with the lowest single-review end-to-end p50 on this device."""
    single = [r for r in results if r.mode == "e2e" and r.batch == 1]
    if len({r.model for r in single}) < 2:
        return None
    best = min(single, key=lambda r: r.stats()["p50_ms"])
    others = sorted(
        {r.model: r.stats()["p50_ms"] for r in single if r.model != best.model and r.threads == best.threads}.items(),
        key=lambda item: item[1],
    )
    runner_up = f"; next {others[0][0]} at {1000 * others[0][1]:.1f} µs" if others else ""
    return (
        f"fastest for one review on this device: {best.model} ({best.precision}, {best.input_form}, "
        f"{best.threads} thread(s)): p50 {1000 * best.stats()['p50_ms']:.1f} µs{runner_up}"
    )


def markdown_table(results: list[CaseResult], loads: list[LoadResult]) -> str:
    lines = [
        "| model | precision | input | mode | threads | batch | p50 ms | p90 ms | p99 ms | mean ± std ms | reviews/s |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r.stats()
        lines.append(
            f"| {r.model} | {r.precision} | {r.input_form} | {r.mode} | {r.threads} | {r.batch} "
            f"| {s['p50_ms']:.4f} | {s['p90_ms']:.4f} | {s['p99_ms']:.4f} | {s['mean_ms']:.4f} ± {s['std_ms']:.4f} "
            f"| {s['reviews_per_s']:,.0f} |"
        )
    if loads:
        lines += [
            "",
            "| model | size KB | load ms (mean of 5) | onnxruntime session alone ms | load / session "
            "| first inference ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for load in loads:
            d = load.to_dict()
            lines.append(
                f"| {load.model} | {load.bytes / 1024:.0f} | {d['load_ms_mean']:.2f} | {d['session_ms_mean']:.2f} "
                f"| {d['load_vs_session']:.1f}x | {load.first_inference_ms:.3f} |"
            )
    lines += ["", f"vectorizer: {implementation()}", *ratios(results)]
    return "\n".join(lines) + "\n"


def report_document(results: list[CaseResult], loads: list[LoadResult], settings: dict[str, Any]) -> dict[str, Any]:
    from imdb_edge import __version__

    return {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "imdb_edge": __version__,
        "machine": describe_machine(),
        "settings": settings,
        "vectorizer": implementation(),
        "ratios": ratios(results),
        "recommendation": recommend(results),
        "load": [load.to_dict() for load in loads],
        "results": [r.to_dict() for r in results],
    }


def summary_text(document: dict[str, Any], results: list[CaseResult], loads: list[LoadResult]) -> str:
    """What `bench` prints without --json: the machine line, the table, the recommendation."""
    machine, settings = document["machine"], document["settings"]
    lines = [
        f"{machine['cpu']} ({machine['architecture']}, {machine['cores']} cores), "
        f"onnxruntime {machine['onnxruntime']}, {settings['reviews']} reviews from {settings['review_source']}\n",
        markdown_table(results, loads),
    ]
    if document["recommendation"]:
        lines.append(document["recommendation"])
    return "\n".join(lines)


def plot_histogram(results: list[CaseResult], path: Path) -> None:
    """Latency histograms of the single-review end-to-end cases."""
    try:
        import matplotlib
    except ImportError:
        raise ImdbEdgeError("--plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from imdb_edge.atomic import staged_file

    fewest_threads = min(r.threads for r in results)
    single = [r for r in results if r.batch == min(x.batch for x in results) and r.threads == fewest_threads]
    modes = [m for m in MODES if any(r.mode == m for r in single)]
    fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes), 4.2), squeeze=False)
    for axis, mode in zip(axes[0], modes, strict=True):
        for r in (r for r in single if r.mode == mode):
            samples_us = 1000 * np.asarray(r.samples_ms)
            cut = np.percentile(samples_us, 99)
            axis.hist(samples_us[samples_us <= cut], bins=60, alpha=0.5, label=r.model)
        axis.set_xlabel("latency per call, µs (up to p99)")
        axis.set_ylabel("runs")
        axis.set_title(
            f"{'end to end' if mode == 'e2e' else 'model only'}, batch {single[0].batch}, {fewest_threads} thread(s)"
        )
        axis.legend(fontsize=7)
    fig.tight_layout()
    with staged_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
