"""JSON from untrusted bytes with limits: nesting depth, number size, no NaN/Infinity.

Python's json module turns a 100,000-deep array into RecursionError and a
5,000-digit number into ValueError (or a slow bignum); both must be one clear
reason, never a traceback.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64
MAX_NUMBER_CHARS = 40


class JsonRefused(ValueError):
    """The text is not JSON, or is JSON beyond the limits; the message says which."""


def _number(text: str) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonRefused(f"a number has {len(text)} characters (limit {MAX_NUMBER_CHARS})")
    if not any(c in text for c in ".eE"):
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {text} is out of range")
    return value


def _constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


_CONTAINERS = frozenset((dict, list))


def _depth_ok(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list) and not _CONTAINERS.isdisjoint(map(type, item)):  # a 200,000-string
            # vocabulary costs one C-level pass here, not 200,000 isinstance calls
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return True


def loads(text: str | bytes) -> Any:
    """json.loads with limits; raises JsonRefused with a one-line reason."""
    try:
        value = json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_constant)
    except JsonRefused:
        raise
    except RecursionError:
        raise JsonRefused(f"nested deeper than {MAX_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JsonRefused(f"malformed JSON ({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from None
    except ValueError as exc:  # e.g. a float literal Python cannot read
        raise JsonRefused(f"malformed JSON ({str(exc).splitlines()[0]})") from None
    if not _depth_ok(value):
        raise JsonRefused(f"nested deeper than {MAX_DEPTH} levels")
    return value
