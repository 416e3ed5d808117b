"""imdb_edge.spark on a real local Spark (local[2]): same answers as the runtime and the CLI.

One SparkSession for the whole module (starting one costs seconds); small partitions
and small Arrow batches so several batches, partitions and Python workers take part.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.extras import install_hint
from imdb_edge.runtime.classifier import Classifier, default_model_path
from tests.imdb_fixture import make_review

for _module in ("pyspark", "pandas", "pyarrow"):
    pytest.importorskip(_module, reason=f'{_module} is not installed: the Spark tests need pip install ".[spark]"')
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java found: the Spark tests need Java 17 or newer", allow_module_level=True)

import pandas as pd  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

from imdb_edge.spark import classify_dataframe, worker  # noqa: E402
from imdb_edge.spark.deps import quiet_pandas3_warning, use_this_python_on_executors  # noqa: E402
from tests.helpers import ROOT, cli, run_cli  # noqa: E402
from tests.record_cases import JSONL_CASES, LINE_CASES, matches  # noqa: E402

pytestmark = pytest.mark.spark
ARROW_BATCH = 16  # rows per Arrow batch, so one partition sends many batches
# What the JVM prints at start-up before the session exists (not ours to silence).
SPARK_LOG_LINE = re.compile(
    r"^(\d\d/\d\d/\d\d .* (WARN|INFO) |WARNING: |Using Spark|Setting default log level|To adjust logging)"
)


@pytest.fixture(scope="module")
def spark() -> SparkSession:
    use_this_python_on_executors()
    quiet_pandas3_warning()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("imdb-edge tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def fixture_reviews(n: int = 300) -> list[str]:
    rng = random.Random(15)
    return [make_review(rng, positive=i % 2 == 0) for i in range(n)]


@pytest.mark.parametrize("which", ["shipped", "tiny"])
def test_labels_and_scores_match_predict_batch(spark: SparkSession, tiny_model: Path, which: str) -> None:
    model = default_model_path() if which == "shipped" else tiny_model
    texts = fixture_reviews()
    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "id int, text string").repartition(3)
    rows = classify_dataframe(df, model=model, batch_size=7).orderBy("id").collect()
    expected = Classifier.load(model).predict_batch(texts)
    assert [r["id"] for r in rows] == list(range(len(texts)))
    assert [r["label"] for r in rows] == [p.label for p in expected]
    assert max(abs(r["score"] - p.score) for r, p in zip(rows, expected, strict=True)) <= 1e-6
    assert all(r["error"] is None for r in rows)
    assert {p.label for p in expected} == {"positive", "negative"}


def test_unusable_rows_become_error_rows_without_failing_the_job(spark: SparkSession, tiny_model: Path) -> None:
    good = "An absolute masterpiece, I loved every minute."
    cells = [good.encode(), None, b"", b" \t ", b"bad \xff\xfe bytes", b"awful boring waste"]
    df = spark.createDataFrame([(i, c) for i, c in enumerate(cells)], "id int, text binary")
    rows = classify_dataframe(df, model=tiny_model).orderBy("id").collect()
    assert [r["error"] for r in rows] == [
        None,
        worker.NULL_TEXT,
        "empty text",
        "text is only whitespace",
        "not valid UTF-8 (byte 4)",
        None,
    ]
    assert [r["label"] for r in rows] == ["positive", None, None, None, None, "negative"]
    assert [r["score"] is None for r in rows] == [False, True, True, True, True, False]
    assert rows[0]["text"] == good.encode()  # the input column is passed through untouched


def test_a_review_the_model_cannot_take_is_an_error_row(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that raises is retried row by row: only the offending row gets an error. (The model call that
    fails is the one classify_chunk makes, `scores_and_known`; patching `scores` alone no longer reached it.)"""
    classifier = Classifier.load(tiny_model)
    real_call = classifier.scores_and_known

    def scores_and_known(texts):  # type: ignore[no-untyped-def]
        if any("poison" in t for t in texts):
            raise RuntimeError("simulated onnxruntime failure\nsecond line")
        return real_call(texts)

    monkeypatch.setattr(classifier, "scores_and_known", scores_and_known)
    frame = worker.label_series(pd.Series([b"great film", b"poison", b"awful film"]), classifier, batch_size=8)
    assert frame["label"].tolist() == ["positive", None, "negative"]
    assert frame["error"].tolist() == [None, "cannot classify (RuntimeError: simulated onnxruntime failure)", None]


@pytest.mark.parametrize("null", [None, float("nan"), pd.NA])
def test_text_output_reads_every_kind_of_null(null: object) -> None:
    """Under pandas 3 a null string cell reaches the UDF as NaN, not None: every scored row came out as
    `error<TAB>nan` (text output), while the same tests passed on pandas 2."""
    labels = pd.Series(["positive", null], dtype=object)
    errors = pd.Series([null, "empty text"], dtype=object)
    lines = worker.text_lines(labels, pd.Series([0.9, null], dtype=object), errors)
    assert lines.tolist() == ["positive\t0.900000", "error\tempty text"]


def test_each_python_worker_loads_the_model_once(spark: SparkSession, tiny_model: Path) -> None:
    texts = fixture_reviews(400)
    df = spark.createDataFrame([(t,) for t in texts], "text string").repartition(2)
    assert classify_dataframe(df, model=tiny_model, batch_size=5).filter("error is null").count() == len(texts)

    def report(frames):  # type: ignore[no-untyped-def]
        from imdb_edge.spark import worker as executor_worker

        for _ in frames:
            pass
        keys = sorted(f"{checksum}@{threshold}" for checksum, threshold in executor_worker._classifiers)
        yield pd.DataFrame({"pid": [os.getpid()], "loads": [executor_worker.loads], "keys": [" ".join(keys)]})

    seen = spark.range(0, 8, numPartitions=8).mapInPandas(report, "pid long, loads long, keys string").collect()
    tiny_key = f"{worker.model_checksum(tiny_model.read_bytes())}@0.5"
    used = [r for r in seen if tiny_key in r["keys"].split()]
    assert used, f"no reused Python worker holds the tiny model: {seen}"
    models = {tiny_key, f"{worker.model_checksum(default_model_path().read_bytes())}@0.5"}
    for row in seen:  # 400 rows in Arrow batches of 16: a load per batch would show here
        assert set(row["keys"].split()) <= models and row["loads"] == len(row["keys"].split()), seen


def test_the_executor_refuses_a_damaged_model(tiny_model: Path) -> None:
    data = tiny_model.read_bytes()
    with pytest.raises(ImdbEdgeError, match="reached this executor damaged"):
        worker.classifier_for(lambda: data[:-1] + b"\0", worker.model_checksum(data), 0.5)
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF  # inside the graph: the file's own checksum catches it
    with pytest.raises(ImdbEdgeError, match=r"damaged|not a valid ONNX"):
        worker.classifier_for(lambda: bytes(damaged), worker.model_checksum(bytes(damaged)), 0.5)


def test_bad_arguments_are_one_line_errors(spark: SparkSession, tiny_model: Path) -> None:
    df = spark.createDataFrame([(1, "good")], "id int, review string")
    with pytest.raises(ImdbEdgeError, match="no column 'text' in the input"):
        classify_dataframe(df, model=tiny_model)
    with pytest.raises(ImdbEdgeError, match="holds int, not text"):
        classify_dataframe(df, text_col="id", model=tiny_model)
    labeled = spark.createDataFrame([("good", 1)], "text string, label int")
    with pytest.raises(ImdbEdgeError, match="already has column"):
        classify_dataframe(labeled, model=tiny_model)
    assert classify_dataframe(labeled, model=tiny_model, prefix="pred_").columns == [
        "text",
        "label",
        "pred_label",
        "pred_score",
        "pred_error",
    ]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def cli_results(path: Path, model: Path) -> dict:
    result = run_cli("classify", "--file", str(path), "--json", "--model", str(model), "--workers", "1")
    return {row["id"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_cli_jsonl_to_parquet_matches_classify(spark: SparkSession, tiny_model: Path, tmp_path: Path) -> None:
    texts = fixture_reviews(120)
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"id": i, "text": t} for i, t in enumerate(texts)])
    with source.open("a") as handle:
        handle.write('{"id": 120, "text": ""}\nnot json at all\n')
    target = tmp_path / "scored.parquet"
    result = run_cli("spark-classify", str(source), str(target), "--model", str(tiny_model))
    assert result.exit_code == 1, result.output  # some rows could not be classified, like `classify`
    assert "122 rows, 2 could not be classified" in result.stderr
    table = pd.read_parquet(target)
    assert sorted(table.columns) == ["error", "id", "label", "score", "text"]
    expected = cli_results(source, tiny_model)
    scored = table[table["error"].isna()]
    assert len(scored) == len(texts)
    for row in scored.itertuples():
        assert row.label == expected[int(row.id)]["label"]
        assert abs(row.score - expected[int(row.id)]["score"]) <= 1e-6  # classify rounds to 6 places
    assert sorted(table["error"].dropna()) == sorted([expected[120]["error"], expected[122]["error"]])
    assert expected[122]["error"].startswith("malformed JSON")  # the same words as classify's, not Spark's
    assert not list(tmp_path.glob(".scored.parquet.*"))  # no staging folder left behind


def test_cli_parquet_to_jsonl_and_text(spark: SparkSession, tiny_model: Path, tmp_path: Path) -> None:
    texts = ["A wonderful film, loved it", "awful boring waste", "   "]
    source = tmp_path / "in.parquet"
    pd.DataFrame({"review": texts, "n": [1, 2, 3]}).to_parquet(source)
    out = tmp_path / "out.jsonl"
    result = run_cli("spark-classify", str(source), str(out), "--model", str(tiny_model), "--text-col", "review")
    assert result.exit_code == 1, result.output
    rows = sorted((json.loads(line) for part in out.glob("part-*") for line in part.open()), key=lambda r: r["n"])
    assert [r.get("label") or r["error"] for r in rows] == ["positive", "negative", "text is only whitespace"]

    lines_in = tmp_path / "reviews.txt"
    lines_in.write_bytes(b"A wonderful film, loved it\n\nbad \xff bytes\nawful boring waste\n")
    lines_out = tmp_path / "labels.txt"
    result = run_cli("spark-classify", str(lines_in), str(lines_out), "--model", str(tiny_model))
    assert result.exit_code == 1, result.output
    written = "".join(part.read_text() for part in sorted(lines_out.glob("part-*")))
    classify = run_cli("classify", "--file", str(lines_in), "--model", str(tiny_model), "--workers", "1")
    assert written == classify.stdout  # same lines, same order as the classify command
    assert written.splitlines()[2] == "error\tnot valid UTF-8 (byte 4)"


def test_cli_refuses_before_writing_anything(spark: SparkSession, tiny_model: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "great"}])
    before = source.read_bytes()
    cases = [
        ((str(tmp_path / "missing.jsonl"), str(tmp_path / "a.parquet")), "does not exist"),
        ((str(source), str(source), "--overwrite"), "would overwrite the input"),
        ((str(source), str(tmp_path)), "would overwrite the input"),  # the input lies inside OUTPUT
        ((str(source), str(tmp_path / "b.parquet"), "--text-col", "body"), "no column 'body'"),
        ((str(source), str(tmp_path / "c.avro")), "cannot tell the format"),  # (no extension: the input's)
    ]
    for args, message in cases:
        result = run_cli("spark-classify", *args, "--model", str(tiny_model))
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    result = run_cli("spark-classify", str(source), str(tmp_path / "d.parquet"), "--format", "csv")
    assert result.exit_code == 2  # a choice, refused by the option parser as every command's choices are
    assert "'csv' is not one of parquet, jsonl, text" in result.stderr
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_cli_overwrites_only_when_asked(spark: SparkSession, tiny_model: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "great"}])
    target = tmp_path / "out.jsonl"
    target.mkdir()
    (target / "keep.txt").write_text("earlier result")
    refused = run_cli("spark-classify", str(source), str(target), "--model", str(tiny_model))
    assert refused.exit_code == 2 and "already exists" in refused.stderr
    assert (target / "keep.txt").read_text() == "earlier result"
    replaced = run_cli("spark-classify", str(source), str(target), "--model", str(tiny_model), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert not (target / "keep.txt").exists() and list(target.glob("part-*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_a_glob_input_is_every_file_it_matches(spark: SparkSession, tiny_model: Path, tmp_path: Path) -> None:
    """Before: `spark-classify 'reviews/*.jsonl' ...` said the input did not exist (the pattern was checked as
    one literal name), although the docs promise globs."""
    folder = tmp_path / "reviews"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": 1, "text": "a wonderful film"}])
    write_jsonl(folder / "b.jsonl", [{"id": 2, "text": "an awful film"}])
    pattern, target = str(folder / "*.jsonl"), tmp_path / "out.parquet"
    result = run_cli("spark-classify", pattern, str(target), "--model", str(tiny_model))
    assert result.exit_code == 0, result.output
    assert sorted(pd.read_parquet(target)["id"]) == [1, 2]
    before = (folder / "a.jsonl").read_bytes()
    for output in (folder / "a.jsonl", folder):  # one of the files it matches, or their folder
        refused = run_cli("spark-classify", pattern, str(output), "--overwrite", "--output-format", "parquet")
        assert refused.exit_code == 2 and "would overwrite the input" in refused.stderr, refused.output
    assert (folder / "a.jsonl").read_bytes() == before
    missing = run_cli("spark-classify", str(tmp_path / "none-*.jsonl"), str(tmp_path / "x.parquet"))
    assert missing.exit_code == 2 and "none-*.jsonl does not exist" in missing.stderr, missing.output


def test_cli_without_the_extra_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real process in which pyspark cannot be imported, as after a plain `pip install .`. The hint names
    the checkout as `.` only from inside it, so the expected one is worked out in the process's folder too
    (worked out in the checkout, where pytest runs, it said `.` and the process a full path)."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pyspark.py").write_text("raise ImportError('No module named pyspark')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow), str(ROOT)])}
    result = cli("spark-classify", "in.jsonl", "out.parquet", env=env, cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    assert result.returncode == 2
    hint = install_hint("spark").replace('".[spark]"', f'"{ROOT}[spark]"')  # the child runs in tmp_path, not here
    assert result.stderr in {
        f"error: pyspark not installed: Spark support needs {h}\n" for h in (hint, install_hint("spark"))
    }


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (Spark's JVM and its Python workers), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie (a container's init may never reap an orphan)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_process_group_exits_130_in_one_line(tmp_path: Path, signum: signal.Signals) -> None:
    """A stop signal to the whole process group while the write job runs, as a shell's Ctrl-C or a job runner
    sends it. Before (the follow-up attack): SIGTERM reached Spark's JVM too, which exited in the middle of the job; the
    clean-up failed with Python and Java tracebacks and exit 2. Now: exit 130 within a couple of seconds, one
    line that says what OUTPUT is, no staging folder, and no JVM or Python worker left running. SIGINT runs
    with an earlier result under --overwrite, which must stay as it was."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in fixture_reviews(200) * 200])  # 40,000 rows
    target = tmp_path / "out.parquet"
    extra = []
    if signum == signal.SIGINT:
        target.mkdir()
        (target / "keep.txt").write_text("earlier result")
        extra = ["--overwrite"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "imdb_edge", "spark-classify", str(source), str(target), "--master", "local[1]"]
    process = subprocess.Popen([*command, *extra], stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".out.parquet.incomplete-*")) and process.poll() is None:
        assert time.monotonic() < deadline, "the write job never started"
        time.sleep(0.05)
    below = descendants(process.pid)
    sent = time.monotonic()
    os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=300)
    took = time.monotonic() - sent
    messages = [line for line in stderr.splitlines() if not SPARK_LOG_LINE.match(line)]
    left = "is unchanged" if signum == signal.SIGINT else "was not created"
    assert messages == [f"interrupted: no result was written; {target} {left} ({signum.name} received)"], stderr[-3000:]
    assert process.returncode == 130 and took < 4, (process.returncode, took)
    expected = ["in.jsonl", "out.parquet"] if signum == signal.SIGINT else ["in.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    if signum == signal.SIGINT:
        assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert below, "no JVM was seen below the command"
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in below):
        assert time.monotonic() < deadline, f"left running: {[pid for pid in below if alive(pid)]}"
        time.sleep(0.1)


def test_spark_submit_runs_the_command(tmp_path: Path) -> None:
    """The documented cluster route, in local mode: spark-submit runs imdb_edge/spark/__main__.py."""
    submit = Path(sys.executable).parent / "spark-submit"
    if not submit.exists():
        pytest.skip(f"no spark-submit next to {sys.executable}")
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "great film"}, {"id": 2, "text": " "}])
    target = tmp_path / "out.parquet"
    from imdb_edge.spark import __main__ as entry

    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [str(submit), "--master", "local[1]", entry.__file__, str(source), str(target), "--output-format", "parquet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 1, result.stderr[-2000:]  # one row had only whitespace
    # spark-submit relays the Python driver's stdout and stderr both on its stdout
    assert f"wrote {target} (parquet): 2 rows, 1 could not be classified" in result.stdout.splitlines()
    table = pd.read_parquet(target).sort_values("id")
    assert table["error"].tolist()[1] == "text is only whitespace" and table["label"].tolist()[0] == "positive"


def test_base_cli_does_not_import_spark() -> None:
    code = "import sys, imdb_edge.cli; print(sorted(m for m in ('pyspark', 'pandas', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_documented_example_on_the_25000_test_reviews(spark: SparkSession, full_data: Path, tmp_path: Path) -> None:
    """docs/spark.md's example: the same labels as `imdb-edge classify --file` on the real test set, and so the
    accuracy the model file records, computed from the output's true-label column as the page does."""
    from imdb_edge.data.dataset import IMDB_LABELS, load_dataset
    from imdb_edge.runtime.modelfile.describe import describe_model

    test = load_dataset(full_data).test
    rows = [
        {"id": i, "text": t, "sentiment": IMDB_LABELS[label]}
        for i, (t, label) in enumerate(zip(test.texts, test.labels, strict=True))
    ]
    source = write_jsonl(tmp_path / "test.jsonl", rows)
    target = tmp_path / "scored.parquet"
    result = run_cli("spark-classify", str(source), str(target))
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(target).sort_values("id")
    assert table["id"].tolist() == list(range(25_000)) and table["error"].isna().all()
    recorded = describe_model(default_model_path())[0]["test_accuracy"]
    assert round((table["label"] == table["sentiment"]).mean(), 5) == recorded  # the page quotes it: 92.64%
    classify = run_cli("classify", "--file", str(source), "--json")
    assert classify.exit_code == 0
    expected = [json.loads(line) for line in classify.stdout.splitlines()]
    assert table["label"].tolist() == [row["label"] for row in expected]
    assert max(abs(a - row["score"]) for a, row in zip(table["score"], expected, strict=True)) <= 1e-6
    direct = Classifier.load().predict_batch(test.texts)
    assert table["label"].tolist() == [p.label for p in direct]
    assert max(abs(a - p.score) for a, p in zip(table["score"], direct, strict=True)) <= 1e-6


@pytest.mark.parametrize(("cases", "suffix"), [(JSONL_CASES, ".jsonl"), (LINE_CASES, ".txt")])
def test_spark_gives_the_shared_record_tables_answers(
    spark: SparkSession, tiny_model: Path, tmp_path: Path, cases: list, suffix: str
) -> None:
    """tests/record_cases.py, the table `classify` is tested on: a repeated key failed the whole Spark job, and
    a "text" that was a number, a list or an object was scored as its JSON text."""
    source = tmp_path / f"cases{suffix}"
    source.write_bytes(b"".join(raw + b"\n" for raw, _ in cases))
    target = tmp_path / "out.txt"
    run_cli("spark-classify", str(source), str(target), "--model", str(tiny_model), "--output-format", "text")
    lines = "".join(part.read_text() for part in sorted(target.glob("part-*"))).splitlines()
    assert len(lines) == len(cases)
    for line, (raw, expected) in zip(lines, cases, strict=True):
        assert matches(line, expected), (raw, line)


def test_keys_that_differ_only_in_case_are_two_columns(spark: SparkSession, tiny_model: Path, tmp_path: Path) -> None:
    """JSON keys are case-sensitive, and so is `classify`. Before (the follow-up attack): one line with both "text" and
    "Text" failed the whole job (COLUMN_ALREADY_EXISTS, nothing written), and "Text" on a line of its own was
    merged into the "text" column (its value lost). Now every line is kept with its keys as written; the
    session's own setting is restored afterwards."""
    rows = [
        {"id": 1, "text": "a wonderful film"},
        {"id": 2, "text": "an awful film", "Text": "a wonderful film"},
        {"id": 3, "Text": "a wonderful film"},
        {"id": 4, "ID": 40, "text": "an awful waste"},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    before = spark.conf.get("spark.sql.caseSensitive")
    for target in (tmp_path / "out.parquet", tmp_path / "out.jsonl"):
        result = run_cli("spark-classify", str(source), str(target), "--model", str(tiny_model))
        assert result.exit_code == 1, result.output  # one line has no "text"
        assert "4 rows, 1 could not be classified" in result.stderr
    table = pd.read_parquet(tmp_path / "out.parquet").sort_values("id")
    assert sorted(table.columns) == ["ID", "Text", "error", "id", "label", "score", "text"]
    assert table["label"].tolist() == ["positive", "negative", None, "negative"]
    assert table["Text"].tolist() == [None, "a wonderful film", "a wonderful film", None]
    assert table["error"].tolist()[2] == expected_error(source, tiny_model, 2)
    lines = [json.loads(line) for part in sorted((tmp_path / "out.jsonl").glob("part-*")) for line in part.open()]
    assert sorted((r["id"], r.get("Text"), r.get("ID")) for r in lines) == [
        (1, None, None),
        (2, "a wonderful film", None),
        (3, "a wonderful film", None),
        (4, None, 40),
    ]
    assert spark.conf.get("spark.sql.caseSensitive") == before


def expected_error(source: Path, model: Path, index: int) -> str:
    """`classify`'s error for line `index` (0-based) of a JSON Lines file."""
    result = run_cli("classify", "--file", str(source), "--json", "--model", str(model), "--workers", "1")
    return [json.loads(line) for line in result.stdout.splitlines()][index]["error"]


def test_an_input_behind_a_link_is_never_the_output(spark: SparkSession, tiny_model: Path, tmp_path: Path) -> None:
    """Before: `ln -s precious.jsonl link.jsonl; spark-classify link.jsonl precious.jsonl --overwrite` replaced
    the input with a folder of results (paths were compared as strings)."""
    precious = write_jsonl(tmp_path / "precious.jsonl", [{"text": "great"}])
    before = precious.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(precious)
    (tmp_path / "dir-link").symlink_to(tmp_path)
    for source, target in [
        ("link.jsonl", "precious.jsonl"),
        ("precious.jsonl", "link.jsonl"),
        ("dir-link/precious.jsonl", "precious.jsonl"),
    ]:
        result = run_cli(
            "spark-classify", str(tmp_path / source), str(tmp_path / target), "--overwrite", "--model", str(tiny_model)
        )
        assert result.exit_code == 2 and "would overwrite the input" in result.stderr, (source, target, result.output)
    assert precious.read_bytes() == before


def test_a_dead_python_worker_is_named() -> None:
    """Before: a killed Spark worker was reported as "An error occurred while calling o92.parquet"."""
    from imdb_edge.spark.command import _cause

    message = (
        "An error occurred while calling o92.parquet.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 3.0 failed 1 times\n"
        "org.apache.spark.SparkException: Python worker exited unexpectedly (crashed)\n"
        "\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator$$anonfun$1.applyOrElse\n"
        "Caused by: java.io.EOFException\n"
    )
    assert "Python worker process died" in _cause(RuntimeError(message))
    other = "An error occurred while calling o7.json.\n: java.lang.X\nCaused by: java.io.IOException: disk full\n"
    assert _cause(RuntimeError(other)) == "java.io.IOException: disk full"


def test_three_labels_on_spark(spark: SparkSession, tmp_path: Path) -> None:
    from tests.model_factory import THREE_LABELS, build_model_bytes

    model = tmp_path / "three.onnx"
    model.write_bytes(build_model_bytes(labels=THREE_LABELS))
    texts = ["wonderful excellent superb", "boring awful waste", "the movie was this", None]
    df = spark.createDataFrame([(t,) for t in texts], "text string")
    rows = classify_dataframe(df, model=model).collect()
    assert [r["label"] for r in rows] == ["positive", "negative", "neutral", None]
    expected = Classifier.load(model).predict_batch(texts[:3])
    assert [round(r["score"], 5) for r in rows[:3]] == [round(p.score, 5) for p in expected]
    with pytest.raises(ImdbEdgeError, match="a threshold applies to a model of two labels"):
        classify_dataframe(df, model=model, threshold=0.6)
