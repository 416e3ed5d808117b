"""Model files built to hurt: every one is refused with one line, in bounded time and memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.export.graphs import token_ids_graph
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.modelfile.reader import parse_model_bytes, read_model_file
from tests.helpers import signal_group_and_wait
from tests.model_factory import (
    restamp,
    sentiment_layers,
    sentiment_vectorizer,
    slow_graph,
)
from tests.modelfile.hostile_graphs import batch_cubed, two_rows_only


def _model_entry(data: bytes) -> dict:
    return json.loads(parse_model_bytes(data).metadata["imdb_edge.model"])


def _model_entry_span(data: bytes) -> tuple[int, int]:
    value = parse_model_bytes(data).metadata["imdb_edge.model"].encode()
    start = data.find(value)
    return start, start + len(value)


def test_every_single_bit_flip_in_labels_and_threshold_is_refused(model_bytes: bytes) -> None:
    """Schema 1 left this entry outside the checksum: 115 of 1,640 flips changed decisions."""
    start, end = _model_entry_span(model_bytes)
    loaded = 0
    for offset in range(start, end):
        for bit in range(8):
            damaged = bytearray(model_bytes)
            damaged[offset] ^= 1 << bit
            try:
                parse_model_bytes(bytes(damaged))
                loaded += 1
            except ImdbEdgeError as exc:
                assert "\n" not in str(exc)
    assert loaded == 0


def test_schema_1_files_are_refused_with_a_re_export_hint(model_bytes: bytes) -> None:
    import onnx

    proto = onnx.load_model_from_string(model_bytes)
    for entry in proto.metadata_props:
        if entry.key == "imdb_edge.schema":
            entry.value = "1"
    with pytest.raises(ImdbEdgeError, match=r"schema 1.*re-export"):
        parse_model_bytes(proto.SerializeToString())


@pytest.mark.parametrize(
    "labels",
    [["negative", "positive\nfake line"], ["", "positive"], ["neg\tative", "positive"], ["same", "same"], [1, 2]],
)
def test_labels_that_would_break_output_lines_are_refused(model_bytes: bytes, labels: list) -> None:
    forged = restamp(model_bytes, {"imdb_edge.model": json.dumps({**_model_entry(model_bytes), "labels": labels})})
    with pytest.raises(ImdbEdgeError, match="label"):
        parse_model_bytes(forged)


@pytest.mark.parametrize(
    ("entry", "value"),
    [
        ("imdb_edge.model", "[" * 100_000 + "]" * 100_000),
        ("imdb_edge.model", '{"input_form": "token_ids", "threshold": 0.' + "5" * 5000 + "}"),
        ("imdb_edge.training", '{"metrics": {"test_accuracy": ' + "9" * 5000 + "}}"),
        ("imdb_edge.export", '{"test_accuracy": Infinity}'),
    ],
)
def test_deep_or_huge_metadata_json_is_one_line(model_bytes: bytes, entry: str, value: str) -> None:
    with pytest.raises(ImdbEdgeError, match=r"nested deeper|characters|not a JSON number") as caught:
        parse_model_bytes(restamp(model_bytes, {entry: value}))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "value"),
    [
        ("imdb_edge.training", {"config": "dense", "metrics": {}}),
        ("imdb_edge.export", {"test_accuracy": "high"}),
        ("imdb_edge.export", {"parity_fp32": {"max_abs_diff": "0"}}),
        ("imdb_edge.export", {"versions": {"numpy": 2}}),
    ],
)
def test_report_fields_with_wrong_types_are_refused_not_crashing_info(
    model_bytes: bytes, entry: str, value: dict, tmp_path: Path
) -> None:
    path = tmp_path / "typed.onnx"
    path.write_bytes(restamp(model_bytes, {entry: json.dumps(value)}))
    done = subprocess.run(
        [sys.executable, "-m", "imdb_edge", "info", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and ("wrong type" in done.stderr or "version strings" in done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_vocabulary_far_larger_than_its_graph_is_refused_before_parsing(model_bytes: bytes) -> None:
    vectorizer = json.loads(parse_model_bytes(model_bytes).metadata["imdb_edge.vectorizer"])
    vectorizer["vocabulary"] = [f"{i:x}" for i in range(3_000_000)]  # about 21 MB of JSON
    forged = restamp(model_bytes, {"imdb_edge.vectorizer": json.dumps(vectorizer, separators=(",", ":"))})
    start = time.monotonic()
    with pytest.raises(ImdbEdgeError, match="larger than its graph"):
        parse_model_bytes(forged)
    assert time.monotonic() - start < 2.0


def _run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imdb_edge", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_a_fifo_as_model_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    done = _run_cli("classify", "--model", str(fifo), "a fine film", timeout=30)
    assert done.returncode == 2 and "not a regular file" in done.stderr


def test_dev_zero_as_model_is_refused() -> None:
    done = _run_cli("classify", "--model", "/dev/zero", "a fine film")
    assert done.returncode == 2 and "not a regular file" in done.stderr and "MemoryError" not in done.stderr


def test_symlink_loop_is_an_imdb_edge_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop.onnx"
    loop.symlink_to(loop)
    with pytest.raises(ImdbEdgeError, match="cannot read model file"):
        read_model_file(loop)
    with pytest.raises(ImdbEdgeError):
        Classifier.load(loop)


def _graph_with(nodes: list, initializers: list):  # type: ignore[no-untyped-def]
    """The tiny token-id graph with extra nodes and initializers."""
    proto = token_ids_graph(sentiment_layers(sentiment_vectorizer()))
    graph = proto.graph
    graph.node.extend(nodes)
    graph.initializer.extend(initializers)
    return graph


def test_a_loop_of_10_15_iterations_is_refused_at_once(model_bytes: bytes) -> None:
    from onnx import TensorProto, helper, numpy_helper

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"])],
        "spin",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])],
    )
    loop = helper.make_node("Loop", ["trips", ""], [], body=body)
    graph = _graph_with([loop], [numpy_helper.from_array(np.array(10**15, np.int64), "trips")])
    start = time.monotonic()
    with pytest.raises(ImdbEdgeError, match="Loop"):
        parse_model_bytes(restamp(model_bytes, {}, graph=graph))
    assert time.monotonic() - start < 2.0


def test_operators_the_exported_forms_never_use_are_refused(model_bytes: bytes) -> None:
    from onnx import helper, numpy_helper

    bomb = helper.make_node("ConstantOfShape", ["huge_shape"], ["zeros"])
    graph = _graph_with([bomb], [numpy_helper.from_array(np.array([10**6, 10**6], np.int64), "huge_shape")])
    with pytest.raises(ImdbEdgeError, match="operator ConstantOfShape"):
        parse_model_bytes(restamp(model_bytes, {}, graph=graph))


def test_a_node_folded_at_load_from_constants_is_refused(model_bytes: bytes) -> None:
    from onnx import helper, numpy_helper

    outer = helper.make_node("Add", ["column", "row"], ["square"])  # [100000, 1] + [1, 100000]: 40 GB
    inits = [
        numpy_helper.from_array(np.zeros((100_000, 1), np.float32), "column"),
        numpy_helper.from_array(np.zeros((1, 100_000), np.float32), "row"),
    ]
    with pytest.raises(ImdbEdgeError, match="constants only"):
        parse_model_bytes(restamp(model_bytes, {}, graph=_graph_with([outer], inits)))


def test_external_data_is_refused(model_bytes: bytes) -> None:
    from onnx import TensorProto

    graph = _graph_with([], [])
    tensor = graph.initializer[0]
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    with pytest.raises(ImdbEdgeError, match="external data"):
        parse_model_bytes(restamp(model_bytes, {}, graph=graph))


@pytest.mark.parametrize("change", ["opset", "ir_version", "producer"])
def test_a_changed_onnx_header_is_caught_by_the_checksum(model_bytes: bytes, change: str) -> None:
    """The opset decides what operators mean: it is checksummed with the rest."""
    import onnx

    proto = onnx.load_model_from_string(model_bytes)
    if change == "opset":
        proto.opset_import[0].version = 13
    elif change == "ir_version":
        proto.ir_version = 7
    else:
        proto.producer_name = "someone else"
    with pytest.raises(ImdbEdgeError, match="ONNX header"):
        parse_model_bytes(proto.SerializeToString())


def _limited_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))


def test_packed_terms_of_millions_of_tiny_terms_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    """120 MB of "ab\\n" packs into 120 KB; split into 40 M strings it took over 2 GB (the text form's probe
    reads the terms at load), and the MemoryError came out as a traceback."""
    import base64
    import zlib

    from tests.model_factory import build_model_bytes

    text_form = build_model_bytes(form="text", ngram_max=2, compact=True)
    entry = json.loads(parse_model_bytes(text_form).metadata["imdb_edge.vectorizer"])
    entry["terms"] = base64.b64encode(zlib.compress(b"ab\n" * 40_000_000, 9)).decode()
    path = tmp_path / "bomb.onnx"
    path.write_bytes(restamp(text_form, {"imdb_edge.vectorizer": json.dumps(entry)}))
    done = subprocess.run(
        [sys.executable, "-m", "imdb_edge", "classify", "--model", str(path), "a fine film"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited_memory,
    )
    assert done.returncode == 2 and "do not match their fingerprints" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_graph_that_fails_the_load_probe_prints_one_line(tmp_path: Path) -> None:
    """A vocabulary longer than the graph's table: onnxruntime also logged its own error line on stderr."""
    import base64

    import onnx

    from tests.model_factory import build_model_bytes

    compact = build_model_bytes(compact=True)
    loaded = parse_model_bytes(compact)
    entry = loaded.vectorizer.to_dict(compact=True)
    longer = np.concatenate([loaded.vectorizer.fingerprints, np.arange(1, 11, dtype=np.uint64)])
    entry.update(fingerprints=base64.b64encode(longer.astype("<u8").tobytes()).decode(), terms=None)
    model = {**loaded.model, "input_width": longer.size + 1}
    path = tmp_path / "longer.onnx"
    entries = {"imdb_edge.vectorizer": json.dumps(entry), "imdb_edge.model": json.dumps(model)}
    graph = onnx.load_from_string(loaded.graph_model).graph
    path.write_bytes(restamp(compact, entries, graph=graph, keep_arrays=False))
    done = _run_cli("classify", "--model", str(path), "a fine film")
    assert done.returncode == 2 and "does not run on its own vocabulary" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("use", ["node-input", "node-output", "graph-output", "graph-input"])
def test_no_node_or_graph_port_may_name_a_runtime_array(use: str) -> None:
    """The runtime takes imdb_edge.* arrays out before onnxruntime sees the graph: a node reading one ran in
    plain onnxruntime, failed in the runtime with onnxruntime's message, and `info` showed the file as fine."""
    import onnx
    from onnx import TensorProto, helper

    from tests.model_factory import as_schema_3, build_model_bytes

    compact = as_schema_3(build_model_bytes(compact=True))  # arrays in the graph, where a node could read them
    graph = onnx.load_from_string(compact).graph
    name = "imdb_edge.vectorizer.fingerprints"
    if use == "node-input":
        graph.node.append(helper.make_node("Cast", [name], ["as_float"], to=TensorProto.FLOAT))
    elif use == "node-output":
        graph.node.append(helper.make_node("Identity", [graph.input[0].name], ["imdb_edge.copy"]))
    else:
        ports = graph.output if use == "graph-output" else graph.input
        ports.append(helper.make_tensor_value_info(name, TensorProto.UINT64, [None]))
    with pytest.raises(ImdbEdgeError, match="a name kept for arrays only the imdb-edge runtime reads"):
        parse_model_bytes(restamp(compact, {}, graph=graph))


@pytest.mark.parametrize("digest", ["ZZZZZZZZ", "00000000", "ABCDEF01", " 1234567"])
def test_checksum_digests_are_lowercase_hex(model_bytes: bytes, digest: str) -> None:
    """The graph digest is compared only when the structure digest fails: a file whose graph digest was not
    even hex loaded."""
    import onnx

    proto = onnx.load_model_from_string(model_bytes)
    entry = next(e for e in proto.metadata_props if e.key == "imdb_edge.checksum")
    checksum = json.loads(entry.value)
    entry.value = json.dumps({**checksum, "graph_crc32": digest})
    forged = proto.SerializeToString()
    if digest == "00000000":  # hex, wrong: only named when something else is damaged
        assert parse_model_bytes(forged)
        return
    with pytest.raises(ImdbEdgeError, match="lowercase hex digits"):
        parse_model_bytes(forged)


@pytest.mark.parametrize("where", ["graph", "loop-body"])
def test_a_graph_of_a_million_entries_is_refused_at_once(model_bytes: bytes, where: str) -> None:
    """1,000,000 unused 4-byte initializers (a 21 MB file) took 22 s to walk, and loaded; a 1 GB file of them
    would have taken about 20 minutes. Here 20,000 (twice the limit) show the walk stops at the limit."""
    from onnx import TensorProto, helper

    many = [helper.make_tensor(f"w{i}", TensorProto.FLOAT, [1], [0.0]) for i in range(20_000)]
    if where == "graph":
        graph = _graph_with([], many)
    else:
        body = helper.make_graph(
            [helper.make_node("Identity", ["cond"], [f"c{i}"]) for i in range(20_000)],
            "wide",
            [
                helper.make_tensor_value_info("i", TensorProto.INT64, []),
                helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
            ],
            [helper.make_tensor_value_info("c0", TensorProto.BOOL, [])],
        )
        graph = _graph_with([helper.make_node("Loop", ["", ""], [], body=body)], [])
    forged = restamp(model_bytes, {}, graph=graph)
    start = time.monotonic()
    with pytest.raises(ImdbEdgeError, match="more than 10000 entries"):
        parse_model_bytes(forged)
    assert time.monotonic() - start < 1.0


def _hostile(model_bytes: bytes, graph: Any, tmp_path: Path, name: str = "hostile.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(restamp(model_bytes, {}, graph=graph))
    return path


def test_a_graph_slow_on_purpose_is_stopped_at_load_whatever_its_operators(
    model_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Allowed operators only, nothing folded at load, no Loop: 200 products of 2048 x 2048 matrices (about
    a minute). Before, only graphs with a Loop had a time limit, and this one loaded after 132 s."""
    from imdb_edge.runtime import classifier as module

    monkeypatch.setattr(module, "PROBE_SECONDS", 1.0)
    path = _hostile(model_bytes, slow_graph(), tmp_path)
    start = time.monotonic()
    with pytest.raises(ImdbEdgeError, match=r"does not run on its own vocabulary \(it ran longer than 1 s\)"):
        Classifier.load(path)
    assert time.monotonic() - start < 3.0


def test_a_stop_signal_cuts_a_slow_load_short(model_bytes: bytes, tmp_path: Path) -> None:
    """SIGTERM while onnxruntime runs the probe: before, the signal waited for the run to end (minutes)."""
    path = _hostile(model_bytes, slow_graph(), tmp_path)
    for command in (["classify", "-m", str(path), "great movie"], ["info", str(path)]):
        process = subprocess.Popen(
            [sys.executable, "-m", "imdb_edge", *command], stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        time.sleep(1.5)  # well into the probe
        took, stderr = signal_group_and_wait(process, signal.SIGTERM)
        assert took < 2.0, stderr
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr and "SIGTERM" in stderr


def test_a_graph_fast_on_the_probe_but_slow_on_real_input_is_stopped_at_its_first_run(
    model_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imdb_edge.runtime import classifier as module

    monkeypatch.setattr(module, "FIRST_RUN_SECONDS", 0.3)
    monkeypatch.setattr(module, "FIRST_RUN_SECONDS_PER_ROW", 0.0)
    monkeypatch.setattr(module, "RUN_SECONDS_PER_INPUT", 0.0)
    path = tmp_path / "hostile.onnx"
    path.write_bytes(batch_cubed(model_bytes))
    classifier = Classifier.load(path)  # two rows: fast
    inputs = classifier.model_inputs(["a fine film"] * 1024)
    start = time.monotonic()
    with pytest.raises(ImdbEdgeError, match=r"fails on this input \(it ran longer than 0.3 s\)"):
        classifier.run(inputs)
    assert time.monotonic() - start < 2.0


def test_a_graph_that_fails_on_real_input_is_one_line_everywhere(model_bytes: bytes, tmp_path: Path) -> None:
    """It passes the load probe (always two rows) and fails on one review. Before: an onnxruntime traceback
    in-process, an empty -o, and with workers "a worker process could not start (exit code 0)"."""
    path = tmp_path / "hostile.onnx"
    path.write_bytes(two_rows_only(model_bytes))
    with pytest.raises(ImdbEdgeError, match="fails on this input"):
        Classifier.load(path).predict("a fine film")
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("a fine film\n" * 2500)
    cases = [
        ["classify", "-m", str(path), "a fine film"],
        ["classify", "-m", str(path), "-f", str(reviews), "--workers", "2", "-o", str(tmp_path / "out.txt")],
        ["bench", "-m", str(path), "--batch", "1", "--threads", "1", "--min-runs", "1", "--min-seconds", "0"],
    ]
    for args in cases:
        done = _run_cli(*args, timeout=120)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert "fails on this input" in done.stderr and "exit code 0" not in done.stderr, (args, done.stderr)


def test_a_non_zero_padding_row_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    """A forged table whose padding row is not zero: 'great wonderful' scored 0.997 alone and 0.00005 in a
    batch beside a longer review, and every check passed."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(tiny_model)
    for tensor in proto.graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.ndim == 2 and array.shape[0] > 2:  # the first layer's weight table: one row a term, + padding
            array = array.copy()
            array[-1] = -5.0
            tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
    forged = tmp_path / "padded.onnx"
    forged.write_bytes(restamp(tiny_model.read_bytes(), {}, graph=proto.graph))
    with pytest.raises(ImdbEdgeError, match=r"padding could change the scores: the padding row \(id \d+\)"):
        Classifier.load(forged)


def _tiny_graph_with_padding_unit(model_bytes: bytes) -> bytes:
    """The follow-up attack's pad4.onnx: a fifth hidden unit that is 0 for a text alone, +1 for each padding id
    (the padding row), with bias -3.5 under a relu and weight -20 into the logit: silent for up to 3 pads,
    decisive from 4. The old probe padded to width 3 only, and passed it."""
    from onnx import numpy_helper

    from imdb_edge.export.graphs import DenseLayer

    vectorizer = sentiment_vectorizer()
    first, second = sentiment_layers(vectorizer, hidden=5)
    kernel, bias, weights = first.kernel.copy(), first.bias.copy(), second.kernel.copy()
    kernel[:, 4], bias[4], weights[4, 0] = 0.0, -3.5, -20.0
    proto = token_ids_graph([DenseLayer(kernel, bias, "relu"), DenseLayer(weights, second.bias, "sigmoid")])
    for tensor in proto.graph.initializer:
        if tensor.name == "embedding":
            table = numpy_helper.to_array(tensor).copy()
            table[-1, 4] = 1.0
            tensor.CopyFrom(numpy_helper.from_array(table, "embedding"))
    return restamp(model_bytes, {}, graph=proto.graph)


def test_a_padding_row_silent_below_four_pads_is_refused(model_bytes: bytes, tmp_path: Path) -> None:
    """Before: it loaded; "great wonderful" scored 0.000 beside a 14-word review and 0.997 alone."""
    path = tmp_path / "pad4.onnx"
    path.write_bytes(_tiny_graph_with_padding_unit(model_bytes))
    with pytest.raises(ImdbEdgeError, match=r"padding could change the scores: the padding row \(id 24\)"):
        Classifier.load(path)
    done = _run_cli("info", str(path))
    assert done.returncode == 2 and "padding could change the scores" in done.stderr


def test_a_graph_that_counts_its_padding_ids_is_refused(model_bytes: bytes, tmp_path: Path) -> None:
    """Padding row zero, but the ids also reach other nodes, which could count the padding (Equal, a sum, a
    threshold) and act past any width a probe tries: the proof refuses every way to see the ids but one."""
    from onnx import TensorProto, helper

    graph = _graph_with(
        [
            helper.make_node("Cast", ["token_ids"], ["ids_as_float"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", ["ids_as_float"], ["ids_total"], keepdims=0),
        ],
        [],
    )
    path = tmp_path / "counts.onnx"
    path.write_bytes(restamp(model_bytes, {}, graph=graph))
    with pytest.raises(ImdbEdgeError, match="padding could change the scores: the ids are read by something"):
        Classifier.load(path)


@settings(max_examples=40, deadline=None)
@given(words=st.lists(st.sampled_from(["great", "awful", "the", "film", "boring", "superb", "x"]), max_size=12))
def test_a_score_does_not_depend_on_the_padding_width(shipped: Classifier, words: list[str]) -> None:
    """What the proof says, checked on the shipped model: a text alone and padded to widths up to 20,000."""
    ids = shipped.model_inputs([" ".join(words) or "x"])
    alone = shipped.run(ids)
    for width in (ids.shape[1] + 1, ids.shape[1] + 4, 300, 20_000):
        padded = np.full((1, width), shipped.vectorizer.size, dtype=np.int64)
        padded[0, : ids.shape[1]] = ids[0]
        assert abs(float(shipped.run(padded)[0]) - float(alone[0])) < 1e-6


def test_every_run_has_a_time_limit_not_only_the_first(
    model_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: only the probe and the first run were limited; a model fast on its first review and slow on a
    trigger word (here: any GOOD word) took 24 s for predict("A Spielberg film.") (minutes here)."""
    from imdb_edge.runtime import classifier as module
    from tests.modelfile.hostile_graphs import slow_on_good_words

    monkeypatch.setattr(module, "RUN_SECONDS", 0.3)
    monkeypatch.setattr(module, "RUN_SECONDS_PER_ROW", 0.0)
    monkeypatch.setattr(module, "RUN_SECONDS_PER_INPUT", 0.0)
    path = tmp_path / "trigger.onnx"
    path.write_bytes(slow_on_good_words(model_bytes))
    classifier = Classifier.load(path)
    assert classifier.predict("a fine film").label  # the first run: fast
    with pytest.raises(ImdbEdgeError, match=r"fails on this input \(it ran longer than 0.3 s\)"):
        classifier.predict("a great film")
    assert classifier.predict("a fine film").label  # the next run on this thread starts afresh


def test_a_run_over_its_limit_stops_only_itself(
    model_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Classifier shared by threads: the slow run is stopped, the others' runs meanwhile are not."""
    import threading

    from imdb_edge.runtime import classifier as module
    from tests.modelfile.hostile_graphs import slow_on_good_words

    monkeypatch.setattr(module, "RUN_SECONDS", 0.5)
    path = tmp_path / "trigger.onnx"
    path.write_bytes(slow_on_good_words(model_bytes))
    classifier = Classifier.load(path)
    classifier.predict("a fine film")
    failures: list[Exception] = []
    slow = threading.Thread(target=lambda: failures.extend(_raised(lambda: classifier.predict("a great film"))))
    slow.start()
    fast = [classifier.predict(f"a fine film {i}").label for i in range(300)]
    slow.join(timeout=60)
    assert len(fast) == 300 and len(failures) == 1 and "ran longer than" in str(failures[0])


def _raised(call: Any) -> list[Exception]:
    try:
        call()
    except Exception as exc:
        return [exc]
    return []


def test_time_the_process_was_stopped_does_not_count_against_a_run() -> None:
    """Ctrl-Z (SIGSTOP) during a run, then `fg`: the pause between two looks of the watchdog is not counted."""
    from imdb_edge.runtime.classifier import _EXPIRED, _Watchdog

    options = type("Options", (), {"terminate": False})()
    run = [options, 1.0, None, False, None, "model.onnx"]
    _Watchdog._check(run, now=100.0, paused=0.0)  # first look
    _Watchdog._check(run, now=130.0, paused=29.95)  # stopped for half a minute, then 0.05 s of running
    assert not run[_EXPIRED] and not options.terminate
    _Watchdog._check(run, now=131.1, paused=0.0)
    assert run[_EXPIRED] and options.terminate


def test_a_run_stuck_in_one_step_is_reported_to_the_stuck_run_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """RunOptions.terminate acts between onnxruntime's steps; one MatMul of huge matrices is one step of hours.
    The handler (the CLI exits, a worker reports and exits) hears of it STUCK_SECONDS after the run was told."""
    from imdb_edge.runtime import classifier as module

    heard: list[tuple[str, bool]] = []
    monkeypatch.setattr(module, "_stuck_handler", lambda message, cancelled: heard.append((message, cancelled)))
    options = type("Options", (), {"terminate": False})()
    run = [options, 1.0, None, False, None, "model.onnx"]
    for now in (100.0, 101.2, 101.5, 102.0, 102.3, 103.0):
        module._Watchdog._check(run, now=now, paused=0.0)
    assert heard == [("model.onnx: the model fails on this input (it ran longer than 1 s, and its current step "
                      "cannot be cut short)", False)]  # fmt: skip
