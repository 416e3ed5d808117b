"""Messages for people go to stderr, so stdout stays clean for results and --json."""

from __future__ import annotations

import sys


def info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
