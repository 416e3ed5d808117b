"""One exception type for problems the user can fix, so the CLI can print one line."""


class ImdbEdgeError(Exception):
    """A user-facing error: its message is the whole story, no traceback needed."""
