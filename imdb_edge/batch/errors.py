"""Why a batch job cannot start, worded for whoever runs it.

A message names the options it is about by role (`{output}`, `{resume}`, ...). The CLI
renders them as its flags (`--output`); the Python API as plain words ("the output").
"""

from __future__ import annotations

from collections.abc import Mapping

from imdb_edge.errors import ImdbEdgeError

PLAIN_NAMES: Mapping[str, str] = {
    "output": "the output",
    "resume": "resume",
    "format": "the input format",
    "threshold": "the threshold",
    "max_chars": "max_chars",
    "json": "JSON output",
    "encoding": "the encoding",
    "workers": "workers",
    "min_known": "min_known",
    "explain": "explain",
}
"""How each role reads outside the CLI."""


class JobError(ImdbEdgeError):
    """A job that cannot start; nothing was written. `render(names)` words it for a front end."""

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = {key: str(value) for key, value in values.items()}
        super().__init__(self.render(PLAIN_NAMES))

    def render(self, names: Mapping[str, str]) -> str:
        """The message with each role named as `names` says (values such as paths are inserted as they are)."""
        return self.template.format_map({**PLAIN_NAMES, **names, **self.values})
