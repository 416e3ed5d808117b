"""Messages for people go to stderr, so stdout stays clean for results and --json.

`--quiet` turns off progress and notes (`info`); warnings and errors still print.
"""

from __future__ import annotations

import sys

_quiet = False
stdout_was_closed = False
"""The command started with stdout closed (`>&-`): results must go to --output (see imdb_edge/__main__.py)."""
stdin_was_closed = False
"""The command started with stdin closed (`<&-`): '-' has nothing to read."""


class StdoutClosed(OSError):
    """A write to stdout when the command started with it closed (`>&-`): its output would be lost."""


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def info(message: str) -> None:
    if not _quiet:
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
