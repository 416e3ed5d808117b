"""Classify a stream of records in order, in constant memory, on all cores.

Records go in chunks to worker processes (each with its own onnxruntime session);
at most a few chunks are in flight, and results are written in input order, one
line per record, a whole chunk per write. SIGINT/SIGTERM stop the loop between
chunks, so an interrupted run leaves only complete lines and knows how many.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.records import Record

CHUNK_RECORDS = 1024
_worker: Classifier | None = None


@dataclass(frozen=True)
class Outcome:
    """The result for one record: a label and score, or the reason there is none."""

    key: str | int
    label: str | None = None
    score: float | None = None
    error: str | None = None
    note: str | None = None

    def as_json(self) -> str:
        obj: dict[str, Any] = {"id": self.key}
        if self.error is None:
            obj.update(label=self.label, score=round(self.score or 0.0, 6))
        else:
            obj["error"] = self.error
        if self.note:
            obj["note"] = self.note
        return json.dumps(obj, ensure_ascii=False)

    def as_text(self) -> str:
        return f"{self.label}\t{self.score:.6f}" if self.error is None else f"error\t{self.error}"


def classify_chunk(classifier: Classifier, records: list[Record]) -> list[Outcome]:
    """One vectorized pass over the usable texts of a chunk; unusable ones keep their error."""
    texts = _usable_texts(records)
    return _outcomes(classifier, records, classifier.scores(texts) if texts else [])


def _usable_texts(records: list[Record]) -> list[str]:
    return [r.text for r in records if r.text is not None]


def _outcomes(classifier: Classifier, records: list[Record], scores: Iterable[float]) -> list[Outcome]:
    """Outcomes of a chunk from the scores of its usable texts, in order."""
    next_score = iter(scores).__next__
    outcomes = []
    for record in records:
        if record.text is None:
            outcomes.append(Outcome(record.key, error=record.error, note=record.note))
            continue
        score = float(next_score())
        label = classifier.labels[int(score >= classifier.threshold)]
        outcomes.append(Outcome(record.key, label, score, note=record.note))
    return outcomes


def _init_worker(model_path: str, threshold: float) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and terminate() must end a worker at once
    _worker = Classifier.load(model_path, threads=1, threshold=threshold)


def _worker_scores(texts: list[str]) -> Any:
    """Only texts go to a worker and only a float32 array comes back: pickling records and
    outcomes cost the parent more than classifying them costs a worker."""
    assert _worker is not None
    return _worker.scores(texts)


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ordered_outcomes(
    classifier: Classifier, model_path: Path | None, records: Iterable[Record], workers: int, chunk_size: int
) -> Iterator[list[Outcome]]:
    if workers <= 1 or model_path is None:
        for chunk in _chunks(records, chunk_size):
            yield classify_chunk(classifier, chunk)
        return
    # spawn, not fork: forking a process that already runs onnxruntime (or TensorFlow)
    # threads can copy a held lock into the child and hang it.
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=_init_worker, initargs=(str(model_path), classifier.threshold))
    try:
        pending: deque[tuple[list[Record], Any]] = deque()
        for chunk in _chunks(records, chunk_size):
            pending.append((chunk, pool.apply_async(_worker_scores, (_usable_texts(chunk),))))
            if len(pending) >= 2 * workers:
                done, result = pending.popleft()
                yield _outcomes(classifier, done, result.get())
        while pending:
            done, result = pending.popleft()
            yield _outcomes(classifier, done, result.get())
        pool.close()
    except GeneratorExit:  # the consumer stopped early (a stop request): let in-flight chunks end
        if all(result.wait(timeout=30) is None and result.ready() for _, result in pending):
            pool.close()
        else:
            pool.terminate()
        raise
    except BaseException:  # a second signal or an error: stop the workers now
        pool.terminate()
        raise
    finally:
        pool.join()


class _StopRequest:
    """SIGINT/SIGTERM ask the loop to stop after the chunk it is writing; a second one stops at once.

    A flag, not an exception: with worker-pool threads in this process the signal can
    arrive in any thread, and an exception raised between writing a chunk and counting
    it would misreport how far the output got.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: the embedding app owns signals
                break
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


@dataclass
class BatchSummary:
    records: int = 0
    errors: int = 0
    notes: int = 0
    interrupted: bool = False


def classify_stream(
    classifier: Classifier,
    records: Iterable[Record],
    out: TextIO,
    as_json: bool = False,
    workers: int = 1,
    model_path: Path | None = None,
    chunk_size: int = CHUNK_RECORDS,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> BatchSummary:
    """Write one line per record to `out`, in order; stop cleanly on SIGINT/SIGTERM."""
    summary = BatchSummary()
    results = _ordered_outcomes(classifier, model_path, records, workers, chunk_size)
    with _StopRequest() as stop:
        try:
            for outcomes in results:
                out.write("".join((o.as_json() if as_json else o.as_text()) + "\n" for o in outcomes))
                out.flush()
                summary.records += len(outcomes)
                summary.errors += sum(o.error is not None for o in outcomes)
                summary.notes += sum(o.note is not None for o in outcomes)
                if on_outcome is not None:
                    for outcome in outcomes:
                        on_outcome(outcome)
                if stop.requested:
                    summary.interrupted = True
                    break
        except KeyboardInterrupt:  # a second signal, or Ctrl-C from an embedding app
            summary.interrupted = True
        finally:
            results.close()  # stops the worker pool now, not whenever the generator is collected
    return summary


def complete_lines(path: Path) -> int:
    """Count complete lines of an earlier output and cut any partial last line (for --resume)."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        with open(path, "r+b") as handle:
            handle.truncate(keep)
    return data.count(b"\n", 0, keep)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class _Progress:
    """A live count of classified reviews on stderr (only when stderr is a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn

            columns = (SpinnerColumn(), "classified", MofNCompleteColumn(), TimeElapsedColumn())
            self._bar = Progress(*columns, transient=True, console=Console(stderr=True))
            self._task = self._bar.add_task("classify", total=None)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def warn(self, message: str) -> None:
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def batch_progress(enabled: bool) -> Iterator[_Progress]:
    progress = _Progress(enabled)
    if progress._bar is None:
        yield progress
        return
    with progress._bar:
        yield progress
