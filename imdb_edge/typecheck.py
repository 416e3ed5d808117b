"""Type checks for settings read from TOML, JSON or flags, with messages a person reads.

A dataclass does not check its field types, so `epochs = "4"` or
`max_features = "10k"` in a TOML file would fail later inside Python internals;
checking at the door names the setting and what it should be.
"""

from __future__ import annotations

from typing import Any

from imdb_edge.errors import ImdbEdgeError

_KINDS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}
_NAMES = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "a string", "None": "none"}


def check_type(name: str, value: Any, annotation: str) -> None:
    """Raise ImdbEdgeError unless `value` fits the simple annotation (e.g. "int", "float | None").

    Other annotations (tuples, nested configs) are left to their own parsers.
    """
    options = [part.strip() for part in annotation.split("|")]
    if value is None and "None" in options:
        return
    for option in options:
        kinds = _KINDS.get(option)
        if kinds is None and option != "None":
            return
        if kinds and isinstance(value, kinds) and (option == "bool" or not isinstance(value, bool)):
            return
    wanted = " or ".join(_NAMES.get(option, option) for option in options)
    raise ImdbEdgeError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__})")
