"""SIGINT/SIGTERM during a job: stop at a safe point, and wake a blocked read at once.

The one stop mechanism of the long-running commands (`classify --file`, `spark-classify`).
The handler only sets a flag while results are being written, so the output never
gets half a line. While the loop waits for input (a stalled stdin, a FIFO with no
writer) or computes a chunk in this process, there is nothing half-done to protect,
so the handler raises `Interrupted` there: the first signal wakes the read instead
of being swallowed by Python's automatic retry of interrupted system calls.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """A stop signal arrived; the message is the signal's name (SIGINT, SIGTERM)."""


class StopRequest:
    """Handlers for SIGINT/SIGTERM for the length of a `with` block (main thread only).

    `on_stop` runs inside the handler when a signal arrives, for work that must begin at
    once elsewhere (Spark cancels its jobs from a thread); it must not block.
    """

    def __init__(self, on_stop: Callable[[], None] | None = None) -> None:
        self.requested = False
        self.signal_name = ""
        self._on_stop = on_stop
        self._interruptible = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        for signum in SIGNALS:
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: the embedding app owns signals
                break
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        self.signal_name = self.signal_name or signal.Signals(signum).name
        if self._on_stop is not None:
            self._on_stop()
        if self._interruptible:
            self._interruptible = False
            raise Interrupted(self.signal_name)

    def raise_if_requested(self) -> None:
        """Raise Interrupted if a stop signal has arrived: for the safe points between steps."""
        if self.requested:
            raise Interrupted(self.signal_name)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A region that a stop signal may abort at once (waiting for input, computing)."""
        self.raise_if_requested()
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
