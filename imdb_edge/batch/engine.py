"""Classify chunks of records in order, in bounded memory, on all cores.

Chunks go to worker processes (batch/workers.py) or, for a single chunk or live
input, are classified in this process. Results are written in input order, one
line per record, a whole chunk per write, flushed at once. A stop signal
(batch/stop.py) ends the loop at a safe point: in-flight chunks get a short
grace to finish, so an interrupted run leaves complete lines only and knows how
many, well within 2 seconds; a worker still busy after it is killed.

Memory: a chunk ends at 1,024 records or CHUNK_BYTES of text (records.py), and no
new chunk is sent while the chunks in flight hold IN_FLIGHT_BYTES, so a job holds
at most IN_FLIGHT_BYTES plus two chunks of text (the one sent last and the one read
ahead) however long its records are, besides each worker's model and the chunk it
classifies. Each record is at most 4 bytes a character of --max-chars (at most
10,000,000 characters).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.batch.outcomes import Outcome, Rules, encode_lines, outcomes_for, usable_texts
from imdb_edge.batch.records import Record, record_bytes
from imdb_edge.batch.stop import Interrupted, StopRequest
from imdb_edge.batch.workers import WorkerPool, WorkerStopped
from imdb_edge.runtime.classifier import Classifier, RunCancelled

GRACE_SECONDS = 0.75
IN_FLIGHT_BYTES = 64 << 20
"""Text held by chunks sent to workers and not yet written: no chunk is sent beyond it (a job of 6,144 records
of 1 MB each peaked at 6.9 GB in this process and 11.9 GB in all, with 1,024-record chunks and no budget)."""


@dataclass
class BatchSummary:
    records: int = 0
    errors: int = 0
    unknown: int = 0
    """Records scored but given no label: the model knows too few of their terms (Rules.min_known)."""
    notes: int = 0
    interrupted: bool = False
    reason: str = ""


class _Runner:
    """Where chunks are classified: here, or in worker processes started on the second chunk."""

    def __init__(self, classifier: Classifier, workers: int, stop: StopRequest) -> None:
        self.classifier = classifier
        self.workers = workers
        self.stop = stop
        self.pool: WorkerPool | None = None

    def submit(self, records: list[Record], more_coming: bool) -> Any:
        texts = usable_texts(records)
        if self.pool is None and self.workers > 1 and more_coming:
            model = self.classifier.model_file
            self.pool = WorkerPool(
                model.data, model.path, self.classifier.threshold, self.workers, self.stop, self.classifier.classes
            )
        if self.pool is None:
            with self.stop.interruptible():
                try:
                    return self.classifier.scores_and_known(texts)
                except RunCancelled:  # a stop signal's watcher cut the run short
                    raise Interrupted(self.stop.signal_name) from None
        return self.pool.submit(texts)

    def collect(self, ticket: Any, give_up_at: float | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(scores, known terms) of a submitted chunk, or None if `give_up_at` passes first."""
        if isinstance(ticket, tuple):
            return ticket
        assert self.pool is not None
        return self.pool.collect(ticket, give_up_at)

    def close(self, interrupted: bool = False) -> None:
        if self.pool is not None:
            self.pool.close(wait_seconds=0.0 if interrupted else 0.5)


def _lookahead(chunks: Iterator[list[Record]], stop: StopRequest, live: bool) -> Iterator[tuple[list[Record], bool]]:
    """Each chunk with whether another follows; reads happen inside an interruptible region.

    Live input is never read ahead: the next line may be minutes away, and this one's
    result must be written now.
    """

    def pull() -> list[Record] | None:
        with stop.interruptible():
            return next(chunks, None)

    current = pull()
    while current is not None:
        if live:
            yield current, True
            current = pull()
            continue
        following = pull()
        yield current, following is not None
        current = following


def classify_chunks(
    classifier: Classifier,
    chunks: Iterator[list[Record]],
    write: Callable[[bytes, int], None],
    stop: StopRequest,
    as_json: bool = False,
    workers: int = 1,
    live: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    keyed: bool = False,
    rules: Rules = Rules(),
) -> BatchSummary:
    """Write one line per record via `write(data, lines)`, in order; stop cleanly on SIGINT/SIGTERM.

    Live input (a pipe or terminal) is classified here, chunk by chunk as it arrives,
    so every result is written as soon as its line is read. A file uses workers only
    when it has more than one chunk (starting processes costs more than a small file).
    """
    summary = BatchSummary()
    pending: deque[tuple[list[Record], Any, int]] = deque()  # records, ticket, bytes of text
    depth = 1 if live else 2 * max(1, workers)
    in_flight = 0

    def emit(records: list[Record], scored: tuple[np.ndarray, np.ndarray]) -> None:
        outcomes = outcomes_for(classifier, records, *scored, rules)
        write(encode_lines(outcomes, as_json, classifier.labels, keyed), len(outcomes))
        summary.records += len(outcomes)
        for outcome in outcomes:
            summary.errors += outcome.error is not None
            summary.unknown += outcome.unknown is not None
            summary.notes += outcome.note is not None
            if on_outcome is not None:
                on_outcome(outcome)

    runner = _Runner(classifier, 1 if live else workers, stop)
    try:
        for records, more in _lookahead(chunks, stop, live):
            size = sum(record_bytes(record) for record in records)
            pending.append((records, runner.submit(records, more), size))
            in_flight += size
            while len(pending) >= depth or (pending and not more) or in_flight >= IN_FLIGHT_BYTES:
                records_done, ticket, size = pending.popleft()
                emit(records_done, runner.collect(ticket))  # type: ignore[arg-type]
                in_flight -= size
                stop.raise_if_requested()
            stop.raise_if_requested()
    except Interrupted as exc:
        summary.interrupted, summary.reason = True, f"{exc} received"
        give_up_at = time.monotonic() + GRACE_SECONDS  # finish what the workers already hold, briefly
        with contextlib.suppress(WorkerStopped):
            while pending:
                scored = runner.collect(pending[0][1], give_up_at)
                if scored is None:
                    break
                emit(pending.popleft()[0], scored)
    except WorkerStopped as exc:  # its chunk is lost: write nothing after it, so lines stay aligned
        summary.interrupted, summary.reason = True, str(exc)
    finally:
        runner.close(interrupted=summary.interrupted)
    return summary


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def max_workers() -> int:
    """The most worker processes a job may start: twice the cores (at least 4). Each holds its own session
    (about 90 MB); 64 of them on 2 cores took 5.7 GB to go no faster."""
    return max(4, 2 * (os.cpu_count() or 1))
