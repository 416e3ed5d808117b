"""Latency and throughput of model files on this device: the timed runs behind `imdb-edge bench`.

Like llama-bench: one warm-up, then repeated timed runs per case (at least
`min_runs` and `min_seconds`); bench/report.py turns them into percentiles,
mean ± std and tables. Each case also records the process's CPU time per call: on a
shared machine the wall clock includes waiting for a core, CPU time does not.
benchmarks/peers.py times this runtime with the same calls (`case_call`) on the same
reviews (bench/reviews.py), so both mean the same by "one review".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imdb_edge.bench.reviews import FIRST_SENTENCE, FULL, TEXT_KINDS, batches, mean_chars, texts_of
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.classifier import Classifier, session_options

MODES = ("e2e", "model")
MAX_RUNS = 100_000
"""Timed calls per case at most: a fast case ends there before its --min-seconds (bench --help says so)."""
MAX_BATCH = 65_536
"""The largest batch a case may time: a batch of 100,000,000 reviews ran out of memory before its first run."""


@dataclass(frozen=True)
class Timing:
    """The wall time of each timed call, and the process's CPU time per call over all of them."""

    samples_ms: list[float]
    cpu_ms_per_call: float


@dataclass
class CaseResult:
    model: str
    precision: str
    input_form: str
    mode: str
    threads: int
    batch: int
    samples_ms: list[float] = field(repr=False)
    cpu_ms_per_call: float
    """The process's CPU time per call, a mean over the case's calls (time_calls)."""
    text: str
    """Which text of each pool review the case timed (reviews.TEXT_KINDS)."""
    text_chars: float
    """Their mean length in characters."""

    def stats(self) -> dict[str, float]:
        samples = np.asarray(self.samples_ms)
        mean = float(samples.mean())
        return {
            "runs": int(samples.size),
            "cpu_ms_per_call": self.cpu_ms_per_call,
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
            "text": self.text,
            "text_chars": round(self.text_chars, 1),
            **self.stats(),
        }
        if with_samples:
            row["samples_ms"] = [round(s, 5) for s in self.samples_ms]
        return row


def time_calls(
    call: Callable[[Any], Any], inputs: Sequence[Any], min_runs: int, min_seconds: float, max_runs: int = MAX_RUNS
) -> Timing:
    """Warm up once, then time calls (cycling through `inputs` in order) until both minimums are met."""
    call(inputs[0])
    samples: list[float] = []
    start = time.perf_counter()
    cpu_start = time.process_time_ns()
    index = 0
    while len(samples) < max_runs and (len(samples) < min_runs or time.perf_counter() - start < min_seconds):
        item = inputs[index % len(inputs)]
        t0 = time.perf_counter_ns()
        call(item)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        index += 1
    return Timing(samples, (time.process_time_ns() - cpu_start) / 1e6 / len(samples))


def case_call(
    classifier: Classifier, mode: str, texts: list[str], batch: int
) -> tuple[Callable[[Any], Any], list[Any]]:
    """What one timed call of a case is, and its inputs: `e2e` is raw text to scores
    (`Classifier.scores` on a list of `batch` texts), `model` is the prepared input to scores
    (`Classifier.run`, the text already made into the graph's input)."""
    groups = batches(texts, batch)
    if mode == "e2e":
        return classifier.scores, groups
    return classifier.run, [classifier.model_inputs(group) for group in groups]


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


def iter_cases(
    models: Sequence[Path],
    texts: list[str],
    batch_sizes: Sequence[int],
    threads: Sequence[int],
    modes: Sequence[str],
    min_runs: int,
    min_seconds: float,
    text_kinds: Sequence[str],
) -> Iterator[CaseResult]:
    kinds = {kind: texts_of(texts, kind) for kind in text_kinds}
    for path in models:
        for thread_count in threads:
            classifier = Classifier.load(path, threads=thread_count)
            precision = str(classifier.model_file.model.get("precision", "?"))
            for kind, kind_texts in kinds.items():
                for batch in batch_sizes:
                    for mode in modes:
                        call, inputs = case_call(classifier, mode, kind_texts, batch)
                        timing = time_calls(call, inputs, min_runs, min_seconds)
                        yield CaseResult(
                            path.name,
                            precision,
                            classifier.input_form,
                            mode,
                            thread_count,
                            batch,
                            timing.samples_ms,
                            timing.cpu_ms_per_call,
                            kind,
                            mean_chars(kind_texts),
                        )


@dataclass(frozen=True)
class BenchSettings:
    """What to measure: every model x threads x batch size x mode, each for `min_runs` and `min_seconds`."""

    models: list[Path]
    batch_sizes: list[int]
    threads: list[int]
    modes: list[str]
    min_runs: int
    min_seconds: float
    texts: list[str] = field(default_factory=lambda: [FULL, FIRST_SENTENCE])

    def __post_init__(self) -> None:
        if not self.texts or set(self.texts) - set(TEXT_KINDS):
            raise ImdbEdgeError(f"texts are {' and/or '.join(TEXT_KINDS)}, got {','.join(self.texts)!r}")
        if not self.modes or set(self.modes) - set(MODES):
            raise ImdbEdgeError(f"modes are {' and/or '.join(MODES)}, got {','.join(self.modes)!r}")
        if self.min_runs < 1 or self.min_seconds < 0:
            raise ImdbEdgeError("at least one timed run is needed, and the minimum time cannot be negative")
        for name, values in (("batch sizes", self.batch_sizes), ("thread counts", self.threads)):
            if not values or min(values) < 1:
                raise ImdbEdgeError(f"{name} must be whole numbers >= 1, got {values}")
        if max(self.batch_sizes) > MAX_BATCH:
            raise ImdbEdgeError(f"batch sizes must be at most {MAX_BATCH:,}, got {max(self.batch_sizes):,}")

    def cases(self) -> int:
        return len(self.models) * len(self.threads) * len(self.texts) * len(self.batch_sizes) * len(self.modes)

    def to_dict(self, pool: dict[str, Any]) -> dict[str, Any]:
        """The settings as the report records them, with the review pool (bench/reviews.py) they timed."""
        return {
            "models": [str(p) for p in self.models],
            "reviews": pool["reviews"],
            "review_source": pool["source"],
            "review_pool": pool,
            "batch_sizes": self.batch_sizes,
            "threads": self.threads,
            "modes": self.modes,
            "texts": self.texts,
            "min_runs": self.min_runs,
            "min_seconds": self.min_seconds,
        }


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
        settings.texts,
    )
    for index, result in enumerate(cases, start=1):
        results.append(result)
        if progress is not None:
            progress(index, settings.cases(), result)
    return results, loads
