"""spark-classify refuses what the local disk shows before Spark's JVM starts.

Before, a refusal such as an existing OUTPUT came only after the JVM had started (6.7 s). Here each
command runs in a real process whose JAVA_HOME is a stand-in `java` that records every call and fails:
a refusal must come with no call to it, and a job that does need Spark must call it (the control that
shows the stand-in is the `java` Spark would start). No Java is needed to run these tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from imdb_edge.spark.storage import default_fs_is_local, local_path
from tests.helpers import ROOT

pytest.importorskip("pyspark", reason='pyspark is not installed: the Spark tests need pip install ".[spark]"')

# Settings that make Spark resolve a path without a scheme its own way (the local check then stands aside).
SPARK_SETTINGS = ("PYSPARK_GATEWAY_PORT", "HADOOP_CONF_DIR", "YARN_CONF_DIR", "SPARK_CONF_DIR", "SPARK_HOME")


def stand_in_java(folder: Path) -> tuple[Path, Path]:
    """A JAVA_HOME whose bin/java appends its arguments to a file and fails; (JAVA_HOME, that file)."""
    calls = folder / "java-calls.txt"
    java = folder / "java-home" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexit 1\n')
    java.chmod(0o755)
    return java.parent.parent, calls


def spark_classify(cwd: Path, java_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in SPARK_SETTINGS}
    env["JAVA_HOME"] = str(java_home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "imdb_edge", "spark-classify", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


EXISTS = "already exists: choose another path or pass --overwrite"
OVERWRITES = "would overwrite the input {}: choose another path"
REFUSALS = [
    (("in.jsonl", "done.parquet"), f"output done.parquet {EXISTS}"),
    (("missing.jsonl", "new.parquet"), "input missing.jsonl does not exist"),
    (("in.jsonl", "in.jsonl", "--overwrite"), "output in.jsonl " + OVERWRITES.format("in.jsonl")),
    (("in.jsonl", ".", "--output-format", "parquet"), "output . " + OVERWRITES.format("in.jsonl")),
    (("link.jsonl", "in.jsonl", "--overwrite"), "output in.jsonl " + OVERWRITES.format("link.jsonl")),
    (("in.jsonl", "file:{cwd}/done.parquet"), f"output file:{{cwd}}/done.parquet {EXISTS}"),
    (("in.jsonl", "new.avro"), "cannot tell the format of new.avro from its name: pass --output-format"),
    (("in.jsonl", "new.parquet", "--model", "nope.onnx"), "model file nope.onnx does not exist"),
]


def test_refusals_come_before_the_jvm_starts(tmp_path: Path) -> None:
    java_home, calls = stand_in_java(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "in.jsonl").write_text('{"text": "a fine film"}\n')
    (work / "link.jsonl").symlink_to(work / "in.jsonl")
    (work / "done.parquet").mkdir()
    cases = [(tuple(arg.format(cwd=work) for arg in args), message.format(cwd=work)) for args, message in REFUSALS]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda case: spark_classify(work, java_home, *case[0]), cases))
    for (args, message), result in zip(cases, results, strict=True):
        assert result.returncode == 2, (args, result.stderr[-2000:])
        assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1, (args, result.stderr)
    assert not calls.exists(), calls.read_text()  # not one refusal started Java
    assert sorted(p.name for p in work.iterdir()) == ["done.parquet", "in.jsonl", "link.jsonl"]

    control = spark_classify(work, java_home, "in.jsonl", "new.parquet")  # needs Spark: so it starts Java
    assert calls.exists() and control.returncode == 2, control.stderr[-2000:]
    assert control.stderr.splitlines()[-1] == "error: could not start Spark: it needs Java 17 or newer (set JAVA_HOME)"


def test_only_paths_that_surely_name_local_files_are_checked_without_spark(tmp_path: Path) -> None:
    plain: dict[str, str] = {}
    assert local_path("reviews.jsonl", plain) == "reviews.jsonl"
    assert local_path("file:///data/reviews.jsonl", plain) == "/data/reviews.jsonl"
    assert local_path("file:/data/reviews.jsonl", plain) == "/data/reviews.jsonl"
    for spark_only in ["hdfs:///reviews/", "s3a://lake/reviews/", "file://host/data/x", "reviews/*.jsonl", "r/{a,b}"]:
        assert local_path(spark_only, plain) is None, spark_only
    for name in ("HADOOP_CONF_DIR", "YARN_CONF_DIR", "PYSPARK_GATEWAY_PORT"):  # a cluster, or under spark-submit
        assert local_path("reviews.jsonl", {name: "x"}) is None, name
        assert local_path("file:/data/reviews.jsonl", {name: "x"}) == "/data/reviews.jsonl"

    conf = tmp_path / "conf"
    conf.mkdir()
    settings = {"SPARK_CONF_DIR": str(conf)}
    (conf / "spark-defaults.conf").write_text("spark.executor.memory 2g\n")
    assert default_fs_is_local(settings)
    (conf / "spark-defaults.conf").write_text("spark.hadoop.fs.defaultFS hdfs://head:8020\n")
    assert not default_fs_is_local(settings)
    (conf / "spark-defaults.conf").unlink()
    (conf / "core-site.xml").write_text("<configuration/>\n")
    assert not default_fs_is_local(settings)
