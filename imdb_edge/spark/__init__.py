"""Score a Spark DataFrame or files on a cluster with the same model file (extra [spark]).

Importing this package needs no pyspark, and loads nothing heavy: `classify_dataframe`
loads on first use (PEP 562) and says how to install pyspark when it is missing. See
docs/spark.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imdb_edge.spark.dataframe import DEFAULT_BATCH_SIZE, classify_dataframe

__all__ = ["DEFAULT_BATCH_SIZE", "classify_dataframe"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from imdb_edge.spark import dataframe

        return getattr(dataframe, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
