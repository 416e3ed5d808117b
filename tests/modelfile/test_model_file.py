"""A damaged or foreign model file is refused at load with a one-line reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.export.graphs import token_ids_graph
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.modelfile.reader import parse_model_bytes, read_model_file
from tests.model_factory import build_model_bytes, restamp, sentiment_layers, sentiment_vectorizer


@pytest.fixture(scope="module")
def good_bytes() -> bytes:
    return build_model_bytes()


def test_good_model_round_trips(good_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(good_bytes)
    model_file = read_model_file(path)
    assert model_file.input_form == "token_ids"
    assert model_file.vectorizer.vocabulary == sentiment_vectorizer().vocabulary
    classifier = Classifier(model_file)
    assert classifier.predict("a wonderful, excellent film").label == "positive"
    assert classifier.predict("boring and awful, a waste of time").label == "negative"


def _weights_offset(data: bytes) -> int:
    """Where the first kernel's float bytes sit inside the file."""
    vectorizer = sentiment_vectorizer()
    kernel = sentiment_layers(vectorizer)[0].kernel
    marker = kernel[vectorizer.vocabulary.index("great")].tobytes()
    offset = data.find(marker)
    assert offset > 0
    return offset


def test_bit_flip_in_the_weights_is_caught_by_the_checksum(good_bytes: bytes) -> None:
    damaged = bytearray(good_bytes)
    damaged[_weights_offset(good_bytes) + 2] ^= 0x01
    with pytest.raises(ImdbEdgeError, match="weights or vocabulary arrays do not match the checksum"):
        parse_model_bytes(bytes(damaged))


def test_changed_vocabulary_is_caught_by_the_checksum(good_bytes: bytes) -> None:
    damaged = good_bytes.replace(b'"wonderful"', b'"wonderfuk"')
    assert damaged != good_bytes
    with pytest.raises(ImdbEdgeError, match="vocabulary does not match"):
        parse_model_bytes(damaged)


@pytest.mark.parametrize("cut", [1, 10, 100, 1000, -10])
def test_truncated_file_is_refused(good_bytes: bytes, cut: int) -> None:
    with pytest.raises(ImdbEdgeError):
        parse_model_bytes(good_bytes[:cut])


def test_empty_non_onnx_directory_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    text = tmp_path / "text.onnx"
    text.write_text("hello, this is not a model\n" * 50)
    cases = [(empty, "empty"), (text, "not"), (tmp_path, "directory"), (tmp_path / "none.onnx", "does not exist")]
    for path, message in cases:
        with pytest.raises(ImdbEdgeError, match=message):
            Classifier.load(path)


def test_plain_onnx_without_metadata_is_refused() -> None:
    plain = token_ids_graph(sentiment_layers(sentiment_vectorizer())).SerializeToString()
    with pytest.raises(ImdbEdgeError, match="no imdb-edge metadata"):
        parse_model_bytes(plain)


def _with_entry(data: bytes, key: str, value: str) -> bytes:
    import onnx

    proto = onnx.load_model_from_string(data)
    for entry in proto.metadata_props:
        if entry.key == key:
            entry.value = value
    return proto.SerializeToString()


def test_unknown_schema_version_is_refused(good_bytes: bytes) -> None:
    with pytest.raises(ImdbEdgeError, match="schema '99'"):
        parse_model_bytes(_with_entry(good_bytes, "imdb_edge.schema", "99"))


def test_missing_vocabulary_is_refused(good_bytes: bytes) -> None:
    import onnx

    proto = onnx.load_model_from_string(good_bytes)
    kept = [e for e in proto.metadata_props if e.key != "imdb_edge.vectorizer"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    with pytest.raises(ImdbEdgeError, match="vocabulary"):
        parse_model_bytes(proto.SerializeToString())


def test_vocabulary_that_does_not_fit_the_graph_is_refused(good_bytes: bytes) -> None:
    with pytest.raises(ImdbEdgeError, match="do not belong together"):
        build_model_bytes(input_width=5000)  # the exporter refuses to write it
    entry = json.loads(parse_model_bytes(good_bytes).metadata["imdb_edge.model"])
    forged = restamp(good_bytes, {"imdb_edge.model": json.dumps({**entry, "input_width": 5000})})
    with pytest.raises(ImdbEdgeError, match="do not belong together"):
        parse_model_bytes(forged)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input_form": "pixels"}, "unknown input form"),
        ({"labels": ["only-one"]}, "2 to 1000 labels"),
        ({"threshold": 1.5}, "threshold"),
        ({"input_name": None}, "input_name"),
    ],
)
def test_inconsistent_model_metadata_is_refused(change: dict, message: str) -> None:
    with pytest.raises(ImdbEdgeError, match=message):
        parse_model_bytes(build_model_bytes(**change))


def test_metadata_that_is_not_json_is_refused(good_bytes: bytes) -> None:
    with pytest.raises(ImdbEdgeError, match="not valid JSON"):
        parse_model_bytes(restamp(good_bytes, {"imdb_edge.model": "{oops"}))
