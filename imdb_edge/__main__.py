"""`imdb-edge` and `python -m imdb_edge`: ready for a stop signal and closed streams from the first moment.

Importing the CLI takes tens of milliseconds; a SIGINT or SIGTERM meanwhile (a pipeline
stopped at once, `timeout`) ends the command with exit 130 and one line, not a traceback
or a death by signal. A closed stdin, stdout or stderr (`2>&-`) is replaced by /dev/null
before any file is opened, so no file the command opens can take its number and receive
what was meant for it. A closed stdin or stdout is remembered, as results need somewhere
to go and '-' something to read; anything written to a closed stdout raises an OSError
that says so (the command then fails with that one line and exit 2, never exits 0 with its
output lost).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import sys
from typing import Any

from imdb_edge import console


def _interrupted_before_start(signum: int, frame: Any) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"interrupted ({signal.Signals(signum).name} received)\n".encode())
    raise SystemExit(130)


class _ClosedStdout(io.RawIOBase):
    """What a closed stdout writes to: every write raises, so no command can lose its output silently."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if not len(data):
            return 0
        raise console.StdoutClosed(errno.EBADF, "stdout is closed (>&-): the output has nowhere to go")


def _occupy_closed_streams() -> None:
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            if os.open(os.devnull, os.O_RDWR) != fd:  # the lowest free number: the one that was closed
                raise RuntimeError(f"could not reopen file descriptor {fd}") from None
            if fd == 0:
                console.stdin_was_closed = True
            if fd == 1:
                console.stdout_was_closed = True
    for name, fd in (("stdin", 0), ("stdout", 1), ("stderr", 2)):
        if getattr(sys, name) is None:  # Python found the stream closed at start
            setattr(sys, name, os.fdopen(fd, "r" if fd == 0 else "w", encoding="utf-8", errors="backslashreplace"))
    if console.stdout_was_closed:
        sys.stdout = io.TextIOWrapper(_ClosedStdout(), encoding="utf-8", write_through=True)  # type: ignore[arg-type]


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # started ignoring it (`cmd &` in a script): keep so
            signal.signal(signum, _interrupted_before_start)
    _occupy_closed_streams()
    from imdb_edge.cli import main as run_cli

    try:
        run_cli()
    except console.StdoutClosed as exc:  # help or --version (a command's own writes fail inside `invoke`)
        os.write(2, f"error: {exc.strerror}\n".encode())
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
