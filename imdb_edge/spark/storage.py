"""Paths on whatever file system Spark writes to (local, HDFS, S3...), via Hadoop's FileSystem.

Spark writes a folder of part files; to publish it atomically we write under a
hidden sibling name and rename it into place only after the job succeeded, the
same promise as imdb_edge/atomic.py makes for single files.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from imdb_edge.errors import ImdbEdgeError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class Storage:
    """exists / rename / delete on qualified paths, through the session's Hadoop configuration."""

    def __init__(self, spark: SparkSession) -> None:
        context = spark.sparkContext
        self._jvm: Any = context._jvm  # type: ignore[attr-defined]
        self._conf: Any = context._jsc.hadoopConfiguration()  # type: ignore[attr-defined]

    def _path(self, path: str) -> tuple[Any, Any]:
        hadoop_path = self._jvm.org.apache.hadoop.fs.Path(path)
        fs = hadoop_path.getFileSystem(self._conf)
        return fs, fs.makeQualified(hadoop_path)

    def qualified(self, path: str) -> str:
        return str(self._path(path)[1].toString())

    def exists(self, path: str) -> bool:
        fs, qualified = self._path(path)
        return bool(fs.exists(qualified))

    def delete(self, path: str) -> None:
        fs, qualified = self._path(path)
        fs.delete(qualified, True)

    def rename(self, source: str, target: str) -> None:
        fs, qualified = self._path(source)
        if not fs.rename(qualified, self._path(target)[1]):
            raise ImdbEdgeError(f"could not rename {source} to {target}")

    def sibling(self, path: str, tag: str) -> str:
        """A hidden name next to `path` (Spark and Hadoop skip names starting with '.')."""
        qualified = self._path(path)[1]
        name = f".{qualified.getName()}.{tag}-{uuid.uuid4().hex[:8]}"
        return str(self._jvm.org.apache.hadoop.fs.Path(qualified.getParent(), name).toString())

    def publish(self, staged: str, target: str) -> None:
        """Rename a finished `staged` folder to `target`, replacing what was there only at the last step."""
        if not self.exists(target):
            self.rename(staged, target)
            return
        old = self.sibling(target, "old")
        self.rename(target, old)
        try:
            self.rename(staged, target)
        except BaseException:
            self.rename(old, target)
            raise
        self.delete(old)


def nested(a: str, b: str) -> bool:
    """True when qualified paths `a` and `b` are the same or one lies inside the other, as written, and, on
    the local file system, once links are resolved (`ln -s precious.jsonl link.jsonl` then `link.jsonl` as
    input and `precious.jsonl` as output named one file two ways, and --overwrite replaced the input)."""
    if _inside(a, b):
        return True
    local_a, local_b = _local(a), _local(b)
    if local_a is None or local_b is None:
        return False
    if _inside(os.path.realpath(local_a), os.path.realpath(local_b)):
        return True
    try:
        return os.path.samefile(local_a, local_b)
    except OSError:
        return False


def _inside(a: str, b: str) -> bool:
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def _local(qualified: str) -> str | None:
    """The local path of a `file:` URI (Hadoop writes `file:/x` for local paths), else None."""
    if not qualified.startswith("file:"):
        return None
    return unquote(urlparse(qualified).path)
