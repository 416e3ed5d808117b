"""Score a Spark DataFrame or files on a cluster with the same model file (extra [spark]).

Importing this package needs no pyspark, and loads nothing heavy: its names load on first use
(PEP 562), and `classify_dataframe` says how to install pyspark when it is missing. See docs/spark.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imdb_edge.spark.dataframe import DEFAULT_BATCH_SIZE, classify_dataframe
    from imdb_edge.spark.deps import use_this_python_on_executors

_HOMES = {
    "DEFAULT_BATCH_SIZE": "imdb_edge.spark.dataframe",
    "classify_dataframe": "imdb_edge.spark.dataframe",
    "use_this_python_on_executors": "imdb_edge.spark.deps",
}
__all__ = ["DEFAULT_BATCH_SIZE", "classify_dataframe", "use_this_python_on_executors"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
