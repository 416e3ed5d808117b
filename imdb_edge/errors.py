"""One exception type for problems the user can fix, so the CLI can print one line."""

from __future__ import annotations


class ImdbEdgeError(Exception):
    """A user-facing error: its message is the whole story, no traceback needed."""


def first_line(exc: BaseException, with_type: bool = False) -> str:
    """An error's message cut to its first line, for a one-line report; its type where the message is empty
    (a MemoryError). `with_type` prefixes the type, for errors from other libraries whose name says more."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return exc.__class__.__name__
    return f"{exc.__class__.__name__}: {lines[0]}" if with_type else lines[0]
