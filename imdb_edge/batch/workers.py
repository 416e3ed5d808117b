"""Worker processes for the batch job: texts in, scores out, in order.

Each worker gets the model's bytes (already verified by the parent) through its own
connection once it runs, so it never reads a file that might have been replaced or be a
pipe, and the parent never blocks writing a large payload into a child that a signal
already killed (multiprocessing's spawn pipe keeps its read end open in the parent until
the write ends). A worker that cannot start says why once, instead of a pool restarting it
forever. Chunk k goes to worker k mod N; each worker answers in the order it was asked, so
results come back in input order. Only float32 scores and int32 known-term counts travel back.

Workers start with SIGINT/SIGTERM held (batch/stop.py), so a signal to the whole process
group cannot kill one half-started; once running, a stop signal sent to a worker (alone or
with the group) is passed on to the parent, which stops the whole run at a safe point. A
worker whose parent is gone exits at once, even in the middle of a run (the kernel kills it
when its parent dies, on Linux; elsewhere a thread that watches the parent does).

Sending a chunk waits while the worker is busy (a pipe holds 64 KB, a chunk up to a few
MB): that wait is interruptible, so a stop signal is acted on at once even while every
worker is deep in a slow run; a worker left with half a chunk, or still busy with one
after the grace, is killed, not asked to finish.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing import resource_tracker
from multiprocessing.reduction import ForkingPickler
from typing import Any

from imdb_edge.batch.stop import StopRequest, release_held_signals, signals_held
from imdb_edge.errors import ImdbEdgeError, first_line

POLL_SECONDS = 0.05


class WorkerStopped(Exception):
    """A worker process ended without being asked to (killed by a signal, out of memory)."""


def _send(conn: Any, message: Any) -> bool:
    """Send to the parent; False when it is gone (then the worker just ends, with no traceback)."""
    try:
        conn.send(message)
    except (OSError, ValueError):
        return False
    return True


PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """End this process as soon as `parent_pid` is gone, whatever it is doing (a run of a slow model included):
    SIGKILL from the kernel on the parent's death (Linux prctl), else a thread that looks every 0.2 s."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        watched_by_kernel = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError, ImportError):
        watched_by_kernel = False
    if os.getppid() != parent_pid:  # it died before the watch began
        os._exit(0)
    if watched_by_kernel:
        return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="imdb-edge-parent-watch", daemon=True).start()


def _worker_main(conn: Any, where: str, threshold: float | None, parent_pid: int) -> None:
    def forward(signum: int, frame: Any) -> None:
        if os.getppid() == parent_pid:
            os.kill(parent_pid, signum)

    _die_with_parent(parent_pid)
    release_held_signals(forward)
    try:
        model_bytes = conn.recv_bytes()
    except (EOFError, OSError):  # the parent stopped before sending the model
        return
    try:
        import numpy as np

        from imdb_edge.runtime.classifier import Classifier, on_stuck_run
        from imdb_edge.runtime.modelfile.reader import parse_model_bytes

        classifier = Classifier(parse_model_bytes(model_bytes, where), threads=1, threshold=threshold)
    except Exception as exc:  # report any start failure once, in words
        _send(conn, ("error", first_line(exc, with_type=not isinstance(exc, ImdbEdgeError))))
        return
    del model_bytes

    def stuck(message: str, cancelled: bool) -> None:  # a run over its limit, in a step that cannot be cut short
        _send(conn, ("error", message))
        os._exit(1)

    on_stuck_run(stuck)
    if not _send(conn, ("ready", None)):
        return
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if texts is None:
            return
        try:
            scores, known = classifier.scores_and_known(texts)
        except Exception as exc:
            _send(conn, ("error", first_line(exc, with_type=not isinstance(exc, ImdbEdgeError))))
            return
        if not _send(conn, ("ok", (scores.astype(np.float32).tobytes(), known.astype(np.int32).tobytes()))):
            return


class WorkerPool:
    """N spawned processes, each with its own pipe and onnxruntime session."""

    def __init__(
        self,
        model_bytes: bytes,
        where: str,
        threshold: float | None,
        workers: int,
        stop: StopRequest,
        classes: int = 2,
    ) -> None:
        """Start the workers and hand each the model; a stop signal meanwhile raises Interrupted (and ends
        every worker started so far)."""
        # spawn, not fork: forking a process that already runs onnxruntime threads can copy a held lock.
        context = multiprocessing.get_context("spawn")
        self._stop = stop
        self._score_shape = (-1,) if classes == 2 else (-1, classes)
        self._conns: list[Any] = []
        self._procs: list[Any] = []
        self._sent = 0
        self._ready = [False] * workers
        self._busy = [0] * workers  # chunks sent to each worker and not yet collected
        self._broken = [False] * workers  # a send cut short: the pipe holds half a chunk
        try:
            # Started first: starting it inside `signals_held` would unblock the signals (bpo-33613's own block).
            resource_tracker.ensure_running()
            with signals_held():
                for _ in range(workers):
                    parent_end, child_end = context.Pipe()
                    process = context.Process(
                        target=_worker_main, args=(child_end, where, threshold, os.getpid()), daemon=True
                    )
                    process.start()
                    child_end.close()
                    self._conns.append(parent_end)
                    self._procs.append(process)
            for index, conn in enumerate(self._conns):
                with stop.interruptible():  # the write waits for the worker to read it: a signal must end that
                    try:
                        conn.send_bytes(model_bytes)
                    except (BrokenPipeError, ConnectionResetError):
                        self._raise_for(index)
        except BaseException:
            self.close(wait_seconds=0.0)
            raise

    def submit(self, texts: list[str]) -> int:
        """Send texts to the next worker; returns the ticket to collect them with.

        The send waits while that worker is busy with earlier chunks; a stop signal meanwhile raises
        Interrupted at once (the worker, left with half a chunk, is killed on close)."""
        ticket = self._sent
        index = ticket % len(self._conns)
        payload = ForkingPickler.dumps(texts)
        try:
            with self._stop.interruptible():
                self._conns[index].send_bytes(payload)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self._broken[index] = True
            self._raise_for(index)
        except BaseException:
            self._broken[index] = True
            raise
        self._sent += 1
        self._busy[index] += 1
        return ticket

    def collect(self, ticket: int, give_up_at: float | None = None) -> Any:
        """(scores, known terms) for `ticket`, or None if `give_up_at` (monotonic) passes first.

        Without `give_up_at`, a stop signal raises Interrupted (the caller then collects what it can
        with a deadline)."""
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
                scores, known = value
                self._busy[index] -= 1
                return (
                    np.frombuffer(scores, dtype=np.float32).reshape(self._score_shape),
                    np.frombuffer(known, dtype=np.int32).astype(np.int64),
                )
            if not process.is_alive():
                self._raise_for(index)
            if give_up_at is None:
                self._stop.raise_if_requested()
            elif time.monotonic() >= give_up_at:
                return None

    def _raise_for(self, index: int) -> None:
        """Why worker `index` is gone: the error it reported, else how it ended."""
        conn = self._conns[index]
        try:
            while conn.poll(0):
                kind, value = conn.recv()
                if kind == "ready":
                    self._ready[index] = True
                elif kind == "error":
                    what = "failed:" if self._ready[index] else "could not start:"
                    raise ImdbEdgeError(f"a worker process {what} {value}")
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
        """Ask every idle worker to exit, and kill the busy ones (holding a chunk nobody will collect, or half
        of one) at once; end any still running after `wait_seconds`. Never waits on a full pipe."""
        for index, (conn, process) in enumerate(zip(self._conns, self._procs, strict=True)):
            if self._busy[index] or self._broken[index]:
                process.kill()
                continue
            with contextlib.suppress(OSError, ValueError):
                os.set_blocking(conn.fileno(), False)  # a 5-byte message goes whole or not at all
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
