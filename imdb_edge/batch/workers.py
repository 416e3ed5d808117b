"""Worker processes for the batch job: texts in, scores out, in order.

Each worker gets the model's bytes (already verified by the parent), so it never
reads a file that might have been replaced or be a pipe, and a worker that cannot
start says why once, instead of a pool restarting it forever. Chunk k goes to
worker k mod N; each worker answers in the order it was asked, so results come
back in input order. Only float32 scores travel back (4 bytes per review).

A stop signal sent to a worker alone is passed on to the parent, which stops the
whole run at a safe point; a worker whose parent is gone exits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from typing import Any

from imdb_edge.errors import ImdbEdgeError, first_line

POLL_SECONDS = 0.05


class WorkerStopped(Exception):
    """A worker process ended without being asked to (killed by a signal, out of memory)."""


def _worker_main(conn: Any, model_bytes: bytes, where: str, threshold: float, parent_pid: int) -> None:
    def forward(signum: int, frame: Any) -> None:
        if os.getppid() == parent_pid:
            os.kill(parent_pid, signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        import numpy as np

        from imdb_edge.runtime.classifier import Classifier
        from imdb_edge.runtime.modelfile.reader import parse_model_bytes

        classifier = Classifier(parse_model_bytes(model_bytes, where), threads=1, threshold=threshold)
    except Exception as exc:  # report any start failure once, in words
        conn.send(("error", first_line(exc, with_type=not isinstance(exc, ImdbEdgeError))))
        return
    conn.send(("ready", None))
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if texts is None:
            return
        try:
            scores = classifier.scores(texts)
        except Exception as exc:
            conn.send(("error", f"{exc.__class__.__name__}: {exc}"))
            return
        conn.send(("ok", scores.astype(np.float32).tobytes()))


class WorkerPool:
    """N spawned processes, each with its own pipe and onnxruntime session."""

    def __init__(self, model_bytes: bytes, where: str, threshold: float, workers: int) -> None:
        # spawn, not fork: forking a process that already runs onnxruntime threads can copy a held lock.
        context = multiprocessing.get_context("spawn")
        self._conns: list[Any] = []
        self._procs: list[Any] = []
        self._sent = 0
        self._ready = [False] * workers
        for _ in range(workers):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_worker_main, args=(child_end, model_bytes, where, threshold, os.getpid()), daemon=True
            )
            process.start()
            child_end.close()
            self._conns.append(parent_end)
            self._procs.append(process)

    def submit(self, texts: list[str]) -> int:
        """Send texts to the next worker; returns the ticket to collect them with."""
        ticket = self._sent
        try:
            self._conns[ticket % len(self._conns)].send(texts)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self._raise_for(ticket % len(self._conns))
        self._sent += 1
        return ticket

    def collect(self, ticket: int, give_up_at: float | None = None) -> Any:
        """The scores for `ticket` (float32 array), or None if `give_up_at` (monotonic) passes first."""
        import numpy as np

        index = ticket % len(self._conns)
        conn, process = self._conns[index], self._procs[index]
        while True:
            if conn.poll(POLL_SECONDS):
                try:
                    kind, value = conn.recv()
                except (EOFError, OSError):
                    self._raise_for(index)
                if kind == "ready":
                    self._ready[index] = True
                    continue
                if kind == "error":
                    what = "failed:" if self._ready[index] else "could not start:"
                    raise ImdbEdgeError(f"a worker process {what} {value}")
                return np.frombuffer(value, dtype=np.float32)
            if not process.is_alive():
                self._raise_for(index)
            if give_up_at is not None and time.monotonic() >= give_up_at:
                return None

    def _raise_for(self, index: int) -> None:
        conn = self._conns[index]
        try:
            if conn.poll(0):
                kind, value = conn.recv()
                if kind == "error":
                    raise ImdbEdgeError(f"a worker process could not start: {value}")
        except (EOFError, OSError):
            pass
        process = self._procs[index]
        process.join(0.5)
        code = process.exitcode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        if not self._ready[index] and not (code is not None and code < 0):
            raise ImdbEdgeError(f"a worker process could not start ({how})")
        raise WorkerStopped(f"worker process {process.pid} ended unexpectedly ({how})")

    def close(self, wait_seconds: float = 0.5) -> None:
        """Ask every worker to exit; end those still running after `wait_seconds`."""
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        deadline = time.monotonic() + wait_seconds
        for process in self._procs:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self._procs:
            if process.is_alive():
                process.kill()
                process.join(1.0)
        for conn in self._conns:
            conn.close()
