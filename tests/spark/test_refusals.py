"""spark-classify refuses what the local disk shows before Spark's JVM starts.

Before, a refusal such as an existing OUTPUT came only after the JVM had started (6.7 s or more). Here the
commands run in real processes whose JAVA_HOME is a stand-in `java` that records every call and fails: no
refusal may have called it, and a job that does need Spark must call it (the control that shows the
stand-in is the `java` Spark would start). No Java is needed to run these tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_edge.runtime.classifier import default_model_path
from imdb_edge.spark.storage import default_fs_is_local, local_path
from tests.helpers import ROOT, cli

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


def spark_env(java_home: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in SPARK_SETTINGS}
    env["JAVA_HOME"] = str(java_home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


# One process runs every refusal in turn (one start-up instead of one per case), as `imdb-edge spark-classify
# ARGS` would, and reports each one's exit code, stderr and whether `java` had been called by then.
REFUSE_IN_TURN = """
import contextlib, io, json, os, sys
from imdb_edge.cli import app
calls, results = sys.argv[1], []
for args, env in json.loads(sys.argv[2]):
    stderr = io.StringIO()
    saved = dict(os.environ)
    os.environ.update(env)
    with contextlib.redirect_stderr(stderr):
        try:
            app(["spark-classify", *args], prog_name="imdb-edge")
            code = 0
        except SystemExit as exc:
            code = exc.code
    os.environ.clear()
    os.environ.update(saved)
    results.append([code, stderr.getvalue(), os.path.exists(calls)])
print(json.dumps(results))
"""


EXISTS = "already exists: choose another path or pass --overwrite"
OVERWRITES = "would overwrite the input {}: choose another path"
MODEL = "would overwrite the model file {}: choose another path"
PARQUET = ("--output-format", "parquet")
REFUSALS = [
    (("in.jsonl", "done.parquet"), f"output done.parquet {EXISTS}"),
    (("missing.jsonl", "new.parquet"), "input missing.jsonl does not exist"),
    (("in.jsonl", "in.jsonl", "--overwrite"), "output in.jsonl " + OVERWRITES.format("in.jsonl")),
    (("in.jsonl", ".", "--output-format", "parquet"), "output . " + OVERWRITES.format("in.jsonl")),
    (("link.jsonl", "in.jsonl", "--overwrite"), "output in.jsonl " + OVERWRITES.format("link.jsonl")),
    (("in.jsonl", "file:{cwd}/done.parquet"), f"output file:{{cwd}}/done.parquet {EXISTS}"),
    (("in.jsonl", "new.avro"), "cannot tell the format of new.avro from its name: pass --output-format"),
    (("in.jsonl", "new.parquet", "--model", "nope.onnx"), "model file nope.onnx does not exist"),
    # OUTPUT is the model file the job reads (the follow-up attack): --overwrite replaced it with a folder of results
    (
        ("in.jsonl", "model.onnx", "-m", "model.onnx", *PARQUET, "--overwrite"),
        "output model.onnx " + MODEL.format("model.onnx"),
    ),
    (
        ("in.jsonl", "hard.onnx", "-m", "model.onnx", *PARQUET, "--overwrite"),
        "output hard.onnx " + MODEL.format("model.onnx"),
    ),
    (
        ("in.jsonl", "model.onnx", "-m", "soft.onnx", *PARQUET, "--overwrite"),
        "output model.onnx " + MODEL.format("soft.onnx"),
    ),
    (
        ("in.jsonl", "models", *PARQUET, "--overwrite", "-m", "models/m.onnx"),
        "output models " + MODEL.format("models/m.onnx"),
    ),
    (
        ("in.jsonl", "{cwd}/model.onnx", *PARQUET, "--overwrite", "env:IMDB_EDGE_MODEL=model.onnx"),
        "output {cwd}/model.onnx " + MODEL.format("model.onnx"),
    ),
]


def test_refusals_come_before_the_jvm_starts(tmp_path: Path) -> None:
    java_home, calls = stand_in_java(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "in.jsonl").write_text('{"text": "a fine film"}\n')
    (work / "link.jsonl").symlink_to(work / "in.jsonl")
    (work / "done.parquet").mkdir()
    shutil.copyfile(default_model_path(), work / "model.onnx")
    (work / "hard.onnx").hardlink_to(work / "model.onnx")
    (work / "soft.onnx").symlink_to(work / "model.onnx")
    (work / "models").mkdir()
    shutil.copyfile(default_model_path(), work / "models" / "m.onnx")
    cases = [([arg.format(cwd=work) for arg in args], message.format(cwd=work)) for args, message in REFUSALS]
    env = spark_env(java_home)
    runs = [
        (
            [arg for arg in args if not arg.startswith("env:")],
            dict(a[4:].split("=", 1) for a in args if a.startswith("env:")),
        )
        for args, _ in cases
    ]
    command = [sys.executable, "-c", REFUSE_IN_TURN, str(calls), json.dumps(runs)]
    ran = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    for (args, message), (code, stderr, java_called) in zip(cases, json.loads(ran.stdout), strict=True):
        one_line = stderr.startswith(f"error: {message}") and stderr.count("\n") == 1
        assert code == 2 and one_line and not java_called, (args, code, stderr, java_called)
    assert sorted(p.name for p in work.iterdir()) == [
        "done.parquet",
        "hard.onnx",
        "in.jsonl",
        "link.jsonl",
        "model.onnx",
        "models",
        "soft.onnx",
    ]
    assert (work / "model.onnx").read_bytes() == default_model_path().read_bytes()

    # a job that needs Spark, in a process of its own: it starts (the stand-in) Java
    control = cli("spark-classify", "in.jsonl", "new.parquet", cwd=work, env=env)
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
