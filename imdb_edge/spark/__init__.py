"""Score a Spark DataFrame or files on a cluster with the same model file (extra [spark]).

Importing this package needs no pyspark; `classify_dataframe` says how to install
it when it is missing. See docs/spark.md.
"""

from imdb_edge.spark.dataframe import DEFAULT_BATCH_SIZE, classify_dataframe

__all__ = ["DEFAULT_BATCH_SIZE", "classify_dataframe"]
