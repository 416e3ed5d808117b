"""Schema 4: the runtime's arrays sit outside the graph, so plain onnxruntime loads a file without a warning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from imdb_edge import Classifier
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.classifier import default_model_path
from imdb_edge.runtime.modelfile.arrays import RUNTIME_ARRAYS_FIELD
from imdb_edge.runtime.modelfile.protowire import fields, length_prefix, spans
from imdb_edge.runtime.modelfile.reader import parse_model_bytes
from imdb_edge.runtime.modelfile.schema import SCHEMA_KEY
from tests.model_factory import as_schema_3, build_model_bytes, restamp

TEXTS = ["A great, wonderful movie", "awful and boring: a waste of time", "not good, not bad", "zyzzyva"]
FINGERPRINTS = "imdb_edge.vectorizer.fingerprints"


@pytest.fixture(scope="module")
def schema_4() -> bytes:
    return build_model_bytes(ngram_max=2, compact=True)


def _plain_onnxruntime_stderr(path: Path) -> str:
    """What onnxruntime prints when an app opens the file with default options (no imdb-edge code)."""
    code = "import sys, onnxruntime; onnxruntime.InferenceSession(sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_the_arrays_are_fields_of_their_own_not_initializers(schema_4: bytes) -> None:
    loaded = parse_model_bytes(schema_4)
    assert loaded.metadata[SCHEMA_KEY] == "4"
    names = [t.name for t in onnx.load_from_string(schema_4).graph.initializer]
    assert not [name for name in names if name.startswith("imdb_edge.")]
    arrays = [onnx.TensorProto.FromString(bytes(v)) for n, _w, v in fields(schema_4) if n == RUNTIME_ARRAYS_FIELD]
    assert sorted(t.name for t in arrays) == [FINGERPRINTS, "imdb_edge.vectorizer.terms"]
    onnx.checker.check_model(onnx.load_from_string(schema_4))  # still a valid ONNX model for the onnx package


def test_plain_onnxruntime_loads_schema_4_without_a_warning_and_schema_3_with_two(
    schema_4: bytes, tmp_path: Path
) -> None:
    new, old = tmp_path / "new.onnx", tmp_path / "old.onnx"
    new.write_bytes(schema_4)
    old.write_bytes(as_schema_3(schema_4))
    assert _plain_onnxruntime_stderr(new) == ""
    assert _plain_onnxruntime_stderr(old).count("Removing initializer 'imdb_edge.vectorizer.") == 2


def test_both_layouts_answer_alike(schema_4: bytes) -> None:
    old = parse_model_bytes(as_schema_3(schema_4))
    assert old.metadata[SCHEMA_KEY] == "3"
    np.testing.assert_array_equal(Classifier(old).scores(TEXTS), Classifier(parse_model_bytes(schema_4)).scores(TEXTS))


def test_the_shipped_model_is_schema_4_and_its_schema_3_layout_still_loads(tmp_path: Path) -> None:
    """The shipped file was schema 3 until issue 30 rebuilt it; files of that layout must keep loading."""
    shipped = default_model_path().read_bytes()
    assert parse_model_bytes(shipped).metadata[SCHEMA_KEY] == "4"
    assert _plain_onnxruntime_stderr(default_model_path()) == ""
    old = parse_model_bytes(as_schema_3(shipped))
    assert old.metadata[SCHEMA_KEY] == "3"
    np.testing.assert_array_equal(Classifier(old).scores(TEXTS), Classifier.load().scores(TEXTS))
    assert Classifier(old).predict("An absolute masterpiece, I loved every minute.").label == "positive"


def _with_extra_field(data: bytes, payload: bytes) -> bytes:
    """`data` restamped (fresh checksums) with one more occurrence of the arrays field holding `payload`."""
    proto = onnx.load_from_string(data)
    proto.MergeFromString(length_prefix(RUNTIME_ARRAYS_FIELD, len(payload)) + payload)
    return restamp(proto.SerializeToString(), {})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (onnx.TensorProto(name="weights", data_type=2, raw_data=b"\x01", dims=[1]), "other than an imdb_edge.* array"),
        (onnx.TensorProto(name="imdb_edge.extra", data_type=2, raw_data=b"\x01", dims=[1]), "does not use"),
        (onnx.TensorProto(name=FINGERPRINTS, data_type=13, raw_data=bytes(8), dims=[1]), "appears twice"),
        (onnx.TensorProto(name="imdb_edge.odd", data_type=13, raw_data=bytes(5), dims=[1]), "raw bytes"),
    ],
    ids=["not-an-array", "unused", "twice", "wrong-size"],
)
def test_forged_arrays_fields_are_one_line_errors(schema_4: bytes, payload: onnx.TensorProto, message: str) -> None:
    with pytest.raises(ImdbEdgeError, match=message) as caught:
        parse_model_bytes(_with_extra_field(schema_4, payload.SerializeToString()))
    assert "\n" not in str(caught.value)


def test_a_flipped_bit_in_the_arrays_field_is_caught_by_the_checksum(schema_4: bytes) -> None:
    end = next(e for n, _w, _v, _s, e in spans(memoryview(schema_4)) if n == RUNTIME_ARRAYS_FIELD)
    damaged = bytearray(schema_4)
    damaged[end - 3] ^= 0x10
    with pytest.raises(ImdbEdgeError, match="damaged"):
        parse_model_bytes(bytes(damaged))


def test_the_schema_is_named_for_readers_that_do_not_know_it(schema_4: bytes) -> None:
    entry = json.loads(parse_model_bytes(schema_4).metadata["imdb_edge.model"])
    with pytest.raises(ImdbEdgeError, match="schema '9'"):
        parse_model_bytes(restamp(schema_4, {SCHEMA_KEY: "9", "imdb_edge.model": json.dumps(entry)}))
