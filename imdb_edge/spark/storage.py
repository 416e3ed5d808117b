"""Paths on whatever file system Spark writes to (local, HDFS, S3...), via Hadoop's FileSystem.

Spark writes a folder of part files; to publish it atomically we write under a
hidden sibling name and rename it into place only after the job succeeded, the
same promise as imdb_edge/atomic.py makes for single files.
"""

from __future__ import annotations

import importlib.util
import os
import re
import uuid
from pathlib import Path
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

    def matches(self, path: str) -> list[str]:
        """The qualified paths a glob matches (`reviews/*.jsonl`, as Spark reads it), or `[path]` if it
        exists; `[]` when nothing is there. `exists` takes a glob literally: no file is named `*.jsonl`."""
        fs, qualified = self._path(path)
        found = fs.globStatus(qualified)
        return [str(status.getPath().toString()) for status in found or []]

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
    local_a, local_b = local_file(a), local_file(b)
    return local_a is not None and local_b is not None and nested_on_disk(local_a, local_b)


def nested_on_disk(a: str, b: str) -> bool:
    """`nested` for two local paths: the same, or one inside the other, as written or once links are resolved."""
    if _inside(os.path.abspath(a), os.path.abspath(b)) or _inside(os.path.realpath(a), os.path.realpath(b)):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(a: str, b: str) -> bool:
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def local_file(qualified: str) -> str | None:
    """The local path of a `file:` URI (Hadoop writes `file:/x` for local paths), else None."""
    if not qualified.startswith("file:"):
        return None
    return unquote(urlparse(qualified).path)


GLOB_CHARS = frozenset("*?[]{}\\")
"""What makes a Hadoop path a pattern; such a path is left to Spark, whose glob rules Python's differ from."""
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def local_path(path: str, env: dict[str, str] | None = None) -> str | None:
    """The local file `path` certainly names, found without starting Spark's JVM; None when only Spark can say.

    A `file:` path is local. A path without a scheme is local unless some configuration may make Spark's
    default file system another one (HDFS on a cluster): then None, and Spark's own checks decide. So a
    refusal made from this answer is the one Spark's file system would give, only seconds sooner.
    """
    if any(char in GLOB_CHARS for char in path):
        return None
    scheme = _SCHEME.match(path)
    if scheme is None:
        return path if path and default_fs_is_local(os.environ if env is None else env) else None
    if scheme.group(1).lower() != "file":
        return None
    rest = path[scheme.end() :]
    if rest.startswith("///"):
        rest = rest[2:]
    elif rest.startswith("//"):  # file://host/...: an authority, which Hadoop reads its own way
        return None
    return rest if rest and ":" not in rest else None


def default_fs_is_local(env: dict[str, str] | os._Environ[str]) -> bool:
    """Whether Spark started from here resolves a path without a scheme on the local disk.

    Not under spark-submit (its own settings decide, and its JVM runs already), and no Hadoop or Spark
    configuration (HADOOP_CONF_DIR, YARN_CONF_DIR, a core-site.xml, spark-env.sh or fs.defaultFS in Spark's
    conf folder) that could point it elsewhere. Unsure means no.
    """
    if any(env.get(name) for name in ("PYSPARK_GATEWAY_PORT", "HADOOP_CONF_DIR", "YARN_CONF_DIR")):
        return False
    for folder in _spark_conf_dirs(env):
        if (folder / "core-site.xml").exists() or (folder / "spark-env.sh").exists():
            return False
        defaults = folder / "spark-defaults.conf"
        try:
            if "defaultFS" in defaults.read_text(encoding="utf-8", errors="replace"):
                return False
        except FileNotFoundError:
            pass
        except OSError:
            return False
    return True


def _spark_conf_dirs(env: dict[str, str] | os._Environ[str]) -> list[Path]:
    """Where Spark's launcher reads configuration: $SPARK_CONF_DIR, else $SPARK_HOME/conf (pyspark's own
    folder when SPARK_HOME is not set)."""
    if env.get("SPARK_CONF_DIR"):
        return [Path(env["SPARK_CONF_DIR"])]
    if env.get("SPARK_HOME"):
        return [Path(env["SPARK_HOME"]) / "conf"]
    spec = importlib.util.find_spec("pyspark")  # pyspark's own lookup exits the process when it fails
    return [Path(spec.origin).parent / "conf"] if spec is not None and spec.origin else []
