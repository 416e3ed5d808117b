"""A live count of classified reviews on stderr, and warnings that print above it.

Kept apart from the batch loop: the loop reports outcomes, this decides how a
person sees them (a rich live line when stderr is a terminal, plain lines otherwise).
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class LiveCount:
    """Context manager: `advance()` per review, `warn()` for a line that must not be overdrawn."""

    def __init__(self, enabled: bool, what: str = "classified", total: int | None = None) -> None:
        """`total`: how many there will be, when known: a bar and the time left, not only a count."""
        self.count = 0
        self._live: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            bar = (BarColumn(), TimeRemainingColumn()) if total else ()
            columns = (SpinnerColumn(), what, *bar, MofNCompleteColumn(), TimeElapsedColumn())
            self._live = Progress(*columns, transient=True, console=Console(stderr=True))
            self._task = self._live.add_task(what, total=total)

    def __enter__(self) -> LiveCount:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, trace)

    @property
    def shown(self) -> int | None:
        """The count on screen (None when no live line is drawn)."""
        return None if self._live is None else int(self._live.tasks[0].completed)

    def advance(self, steps: int = 1) -> None:
        self.count += steps
        if self._live is not None:
            self._live.advance(self._task, steps)

    def warn(self, message: str) -> None:
        if self._live is not None:
            self._live.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=sys.stderr, flush=True)
