"""JSON for people and scripts: one writer for every report, file or stdout, never NaN or Infinity.

JSON has no NaN or Infinity; Python's json writes them anyway, and strict readers (jq,
JavaScript's JSON.parse) then refuse the whole document. A non-finite float becomes null.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float (in any nested dict, list or tuple) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(document: Any, indent: int | None = 2) -> str:
    """The document as JSON text; refuses nothing a report can hold (non-finite floats become null)."""
    return json.dumps(finite(document), indent=indent, allow_nan=False)
