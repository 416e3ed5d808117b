"""SIGINT/SIGTERM: stop at a safe point, wake a blocked read at once, and cut a long native call short.

The one stop mechanism of the commands (`imdb-edge` enters one for every command;
`classify --file` and `spark-classify` add their own for the job). Three paths, because
a signal reaches Python only between bytecodes of the main thread:

- The Python handler only sets a flag while results are being written, so the output
  never gets half a line; in an `interruptible()` region (waiting for input, computing a
  chunk here, starting workers, loading a model) there is nothing half-done to protect,
  so it raises `Interrupted` at once, instead of being swallowed by Python's automatic
  retry of interrupted system calls.
- While the main thread is inside native code (an onnxruntime run, a JVM call) the
  Python handler waits for it to return. So the C-level handler also writes the signal
  to a pipe (`signal.set_wakeup_fd`), and a watcher thread runs the `on_stop` callbacks
  the moment it arrives: they cancel onnxruntime runs (`runtime.classifier.cancel_runs`)
  or Spark jobs, whose calls then return and let the Python handler act.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """A stop signal arrived; the message is the signal's name (SIGINT, SIGTERM)."""


class _Watcher:
    """The thread that hears signals while the main thread is in native code; one per process, started once.

    It tells the innermost StopRequest (the stack `active`), from its own thread.
    """

    def __init__(self) -> None:
        self.active: list[StopRequest] = []
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        threading.Thread(target=self._run, name="imdb-edge-stop-watcher", daemon=True).start()

    @property
    def fd(self) -> int:
        return self._write

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            for signum in data:
                if self.active:
                    self.active[-1].heard(signum)


_watcher: _Watcher | None = None
_watcher_lock = threading.Lock()


def _the_watcher() -> _Watcher:
    global _watcher
    with _watcher_lock:
        if _watcher is None:
            _watcher = _Watcher()
        return _watcher


class StopRequest:
    """Handlers for SIGINT/SIGTERM for the length of a `with` block (main thread only; elsewhere a no-op,
    as the embedding app owns signals).

    `on_stop` runs once when the first signal arrives, from the watcher thread (and, when no watcher could be
    set, from the handler): for work that must begin at once elsewhere; it must not block.
    """

    def __init__(self, on_stop: Callable[[], None] | None = None) -> None:
        self.requested = False
        self.signal_name = ""
        self._on_stop = on_stop
        self._stopped_once = threading.Lock()
        self._interruptible = False
        self._previous: dict[int, Any] = {}
        self._previous_wakeup: int | None = None

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:  # a signal the process was started ignoring stays so
                self._previous[signum] = signal.signal(signum, self._handle)
        watcher = _the_watcher()
        self._previous_wakeup = signal.set_wakeup_fd(watcher.fd, warn_on_full_buffer=False)
        watcher.active.append(self)
        return self

    def heard(self, signum: int) -> None:
        """A signal arrived (watcher thread or handler): note it, and run `on_stop` the first time."""
        self.signal_name = self.signal_name or signal.Signals(signum).name
        self.requested = True
        if self._on_stop is not None and self._stopped_once.acquire(blocking=False):
            self._on_stop()

    def _handle(self, signum: int, frame: Any) -> None:
        self.heard(signum)
        if self._interruptible:
            self._interruptible = False
            raise Interrupted(self.signal_name)

    def raise_if_requested(self) -> None:
        """Raise Interrupted if a stop signal has arrived: for the safe points between steps."""
        if self.requested:
            raise Interrupted(self.signal_name)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A region that a stop signal may abort at once (waiting for input, computing, starting up)."""
        self.raise_if_requested()
        outer = self._interruptible
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = outer

    def __exit__(self, *exc: object) -> None:
        if self._previous_wakeup is None:
            return
        watcher = _the_watcher()
        if self in watcher.active:
            watcher.active.remove(self)
        signal.set_wakeup_fd(self._previous_wakeup, warn_on_full_buffer=False)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM are blocked for this thread until the block ends: processes started inside start
    with them blocked (a child inherits the mask of the thread that starts it), so a signal to the process
    group cannot kill a child before it sets its own handler; the parent, which gets the same signal on
    another thread or when the block ends, stops them in order. (Not SIG_IGN: the disposition is the
    process's, and a signal another thread took meanwhile would be lost.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)  # a signal that came meanwhile is delivered now


def release_held_signals(handler: Callable[[int, Any], None]) -> None:
    """In a child started under `signals_held`: install `handler` for SIGINT and SIGTERM, then unblock them."""
    for signum in SIGNALS:
        signal.signal(signum, handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
