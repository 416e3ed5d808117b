"""What counts as a text to classify: one rule for the API, the batch job and Spark."""

from __future__ import annotations


def empty_reason(text: str) -> str | None:
    """Why `text` cannot be classified (nothing in it), or None."""
    if not text:
        return "empty text"
    return "text is only whitespace" if text.isspace() else None  # isspace() stops at the first letter
