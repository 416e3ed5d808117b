"""Model files store term fingerprints and zlib-packed terms: loaded without parsing strings, terms on demand."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime import vectorizer as module
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.modelfile.reader import CHECKSUM_KEY, SCHEMA_KEY, VECTORIZER_KEY, parse_model_bytes
from imdb_edge.runtime.vectorizer import FINGERPRINTS_VERSION, Vectorizer, term_fingerprints
from tests.model_factory import (
    as_schema_3,
    build_model_bytes,
    field,
    restamp,
    sentiment_vectorizer,
    with_raw_initializer,
)

TEXTS = ["A great, wonderful movie", "awful and boring: a waste of time", "not good, not bad", "", "zyzzyva"]


@pytest.fixture(scope="module")
def compact_bytes() -> bytes:
    """Schema 3's layout (arrays in the graph), which files written before schema 4 keep and still load with;
    test_runtime_arrays_field.py covers schema 4's."""
    return as_schema_3(build_model_bytes(ngram_max=2, compact=True))


def _entry(data: bytes) -> dict:
    """The vectorizer entry with its arrays inline (base64), as a forger would write it back."""
    return parse_model_bytes(data).vectorizer.to_dict(compact=True)


def _restamp_inline(data: bytes, entry: dict) -> bytes:
    """`data` with the vectorizer entry `entry` (arrays inline) and a graph without the runtime's arrays."""
    import onnx

    plain_graph = onnx.load_from_string(parse_model_bytes(data).graph_model).graph
    return restamp(data, {VECTORIZER_KEY: json.dumps(entry)}, plain_graph)


def test_the_file_stores_fingerprints_and_packed_terms_as_raw_initializers(compact_bytes: bytes) -> None:
    import onnx

    entry = json.loads(parse_model_bytes(compact_bytes).metadata[VECTORIZER_KEY])
    assert entry["version"] == FINGERPRINTS_VERSION and entry["vocabulary"] is None
    names = {"fingerprints": "imdb_edge.vectorizer.fingerprints", "terms": "imdb_edge.vectorizer.terms"}
    assert {key: entry[key] for key in names} == {key: {"initializer": name} for key, name in names.items()}
    tensors = {t.name: t for t in onnx.load_from_string(compact_bytes).graph.initializer}
    original = sentiment_vectorizer(2)
    stored = onnx.numpy_helper.to_array(tensors[names["fingerprints"]])
    assert stored.dtype == np.uint64 and stored.tolist() == term_fingerprints(original.vocabulary).tolist()
    unpacked = zlib.decompress(tensors[names["terms"]].raw_data).decode().split("\n")
    assert unpacked == original.vocabulary


def test_onnxruntime_gets_the_graph_without_the_vectorizer_arrays(compact_bytes: bytes) -> None:
    import onnx
    import onnxruntime as ort

    loaded = parse_model_bytes(compact_bytes)
    kept = [t.name for t in onnx.load_from_string(loaded.graph_model).graph.initializer]
    assert kept and not any(name.startswith("imdb_edge.") for name in kept)
    # Plain onnxruntime runs the whole file too (it drops the unused arrays itself), with the same scores.
    plain = ort.InferenceSession(compact_bytes, providers=["CPUExecutionProvider"])
    classifier = Classifier(loaded)
    inputs = classifier.model_inputs(TEXTS[:3])
    assert plain.run(None, {plain.get_inputs()[0].name: inputs})[0].reshape(-1).tolist() == (
        classifier.run(inputs).tolist()
    )


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ({"initializer": "imdb_edge.nothing"}, "refer to 'imdb_edge.nothing', which the graph does not hold"),
        ({"initializer": 7}, "which the graph does not hold"),
        ({"initializer": "imdb_edge.vectorizer.terms"}, "holds the wrong type for the vectorizer's fingerprints"),
    ],
)
def test_references_to_missing_or_mistyped_arrays_are_one_line_errors(
    compact_bytes: bytes, reference: dict, message: str
) -> None:
    entry = json.loads(parse_model_bytes(compact_bytes).metadata[VECTORIZER_KEY])
    forged = restamp(compact_bytes, {VECTORIZER_KEY: json.dumps({**entry, "fingerprints": reference})})
    with pytest.raises(ImdbEdgeError, match=message):
        parse_model_bytes(forged)


def test_a_flipped_bit_in_the_fingerprints_is_caught_by_the_checksum(compact_bytes: bytes) -> None:
    fingerprints = term_fingerprints(sentiment_vectorizer(2).vocabulary).astype("<u8").tobytes()
    offset = compact_bytes.find(fingerprints)
    assert offset > 0  # stored raw, in place
    damaged = bytearray(compact_bytes)
    damaged[offset + 100] ^= 0x04
    with pytest.raises(ImdbEdgeError, match="weights or vocabulary arrays do not match the checksum"):
        parse_model_bytes(bytes(damaged))


def test_schema_2_files_still_load_and_are_verified_with_sha256(compact_bytes: bytes) -> None:
    """Schema 2: sha256 digests, the vectorizer's arrays as base64 inside its JSON, no runtime arrays."""
    import onnx

    plain_graph = onnx.load_from_string(parse_model_bytes(compact_bytes).graph_model).graph
    old = restamp(compact_bytes, {SCHEMA_KEY: "2", VECTORIZER_KEY: json.dumps(_entry(compact_bytes))}, plain_graph)
    checksum = json.loads(parse_model_bytes(old).metadata[CHECKSUM_KEY])
    assert sorted(checksum) == ["graph_sha256", "metadata_sha256", "structure_sha256", "vectorizer_sha256"]
    assert Classifier(parse_model_bytes(old)).scores(TEXTS).tolist() == (
        Classifier(parse_model_bytes(compact_bytes)).scores(TEXTS).tolist()
    )
    damaged = old.replace(b'"threshold": 0.5', b'"threshold": 0.6')
    assert damaged != old
    with pytest.raises(ImdbEdgeError, match=r"metadata .* does not match the checksum"):
        parse_model_bytes(damaged)


def test_a_malformed_runtime_array_is_a_one_line_error(compact_bytes: bytes) -> None:
    import onnx

    proto = onnx.load_from_string(compact_bytes)
    array = next(t for t in proto.graph.initializer if t.name == "imdb_edge.vectorizer.fingerprints")
    array.dims[0] += 1  # the shape no longer matches the bytes
    with pytest.raises(ImdbEdgeError, match="not a one-dimensional uint8 or uint64 array"):
        parse_model_bytes(restamp(compact_bytes, {}, graph=proto.graph))


def test_a_compact_file_classifies_like_the_term_list_and_gives_its_terms_on_demand(compact_bytes: bytes) -> None:
    compact = Classifier(parse_model_bytes(compact_bytes))
    listed = Classifier(parse_model_bytes(build_model_bytes(ngram_max=2)))
    assert compact.vectorizer._vocabulary is None  # not unpacked by loading
    assert compact.scores(TEXTS).tolist() == listed.scores(TEXTS).tolist()
    for text in TEXTS:
        assert compact.vectorizer.feature_ids(text).tolist() == listed.vectorizer.feature_ids(text).tolist()
    assert compact.vectorizer.vocabulary == listed.vectorizer.vocabulary


def _with_terms(data: bytes, terms: bytes) -> bytes:
    entry = _entry(data)
    entry["terms"] = base64.b64encode(terms).decode()
    return _restamp_inline(data, entry)


def _not_utf8_terms() -> bytes:
    """As many terms as the fingerprints, the first not UTF-8."""
    return b"\xff\xfe" + b"\n" * (sentiment_vectorizer(2).size - 1)


def test_terms_that_do_not_match_their_fingerprints_are_refused_when_read(compact_bytes: bytes) -> None:
    terms = sentiment_vectorizer(2).vocabulary
    swapped = [terms[1], terms[0], *terms[2:]]
    forged = parse_model_bytes(_with_terms(compact_bytes, zlib.compress("\n".join(swapped).encode())))
    assert forged.vectorizer.feature_ids("a great movie").size  # the lookup itself never reads the terms
    with pytest.raises(ImdbEdgeError, match="do not match their fingerprints"):
        forged.vectorizer.vocabulary  # noqa: B018


@pytest.mark.parametrize(
    ("terms", "message"),
    [(b"not zlib at all", "do not unpack"), (zlib.compress(b"x" * 5000)[:-6], "truncated")],
)
def test_damaged_packed_terms_are_refused_when_read(compact_bytes: bytes, terms: bytes, message: str) -> None:
    forged = parse_model_bytes(_with_terms(compact_bytes, terms))
    with pytest.raises(ImdbEdgeError, match=message):
        forged.vectorizer.vocabulary  # noqa: B018


def test_packed_terms_cannot_unpack_past_the_limit(compact_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_UNPACKED_TERMS", 1000)
    forged = parse_model_bytes(_with_terms(compact_bytes, zlib.compress(b"a\n" * 10_000)))
    with pytest.raises(ImdbEdgeError, match="unpack to more than"):
        forged.vectorizer.vocabulary  # noqa: B018


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fingerprints": "***"}, "not base64"),
        ({"fingerprints": base64.b64encode(b"123").decode()}, "not 8-byte integers"),
        ({"terms": 7}, "terms are not base64"),
        ({"version": 9}, "version 9 is not supported"),
        # the lookup would follow the fingerprints while the term list (info, rewrap) showed other terms
        ({"vocabulary": ["not", "these", "terms"]}, "both a term list and fingerprints"),
    ],
)
def test_bad_fingerprint_documents_are_one_line_errors(compact_bytes: bytes, change: dict, message: str) -> None:
    with pytest.raises(ImdbEdgeError, match=message):
        Vectorizer.from_dict({**_entry(compact_bytes), **change})


def test_repeated_fingerprints_are_refused(compact_bytes: bytes) -> None:
    entry = _entry(compact_bytes)
    stored = np.frombuffer(base64.b64decode(entry["fingerprints"]), dtype="<u8").copy()
    stored[1] = stored[0]
    entry.update(fingerprints=base64.b64encode(stored.tobytes()).decode(), terms=None)
    with pytest.raises(ImdbEdgeError, match="same fingerprint"):  # by the native table build, or numpy without it
        Vectorizer.from_dict(entry)


def test_a_file_without_terms_cannot_be_rewrapped_as_text(compact_bytes: bytes, tmp_path: Path) -> None:
    from imdb_edge.export.rewrap import rewrap_as_text

    entry = {**_entry(compact_bytes), "terms": None}
    source = tmp_path / "no-terms.onnx"
    source.write_bytes(_restamp_inline(compact_bytes, entry))
    assert Classifier(source).predict("a great movie").label == "positive"
    with pytest.raises(ImdbEdgeError, match="the text form needs the terms"):
        rewrap_as_text(source, tmp_path / "text.onnx", TEXTS, "test texts")
    forged = tmp_path / "swapped-terms.onnx"
    forged.write_bytes(_with_terms(compact_bytes, zlib.compress(_not_utf8_terms())))
    with pytest.raises(ImdbEdgeError, match=r"swapped-terms.onnx: the vectorizer terms are not UTF-8"):
        rewrap_as_text(forged, tmp_path / "text.onnx", TEXTS, "test texts")


def test_terms_that_are_not_utf8_are_refused_when_read(compact_bytes: bytes) -> None:
    forged = parse_model_bytes(_with_terms(compact_bytes, zlib.compress(_not_utf8_terms())))
    with pytest.raises(ImdbEdgeError, match="not UTF-8"):
        forged.vectorizer.vocabulary  # noqa: B018


@pytest.mark.parametrize("fingerprints", ["!!!!", "", "QUJD"])
def test_fingerprints_of_the_wrong_shape_are_named_not_counted(compact_bytes: bytes, fingerprints: str) -> None:
    entry = {**_entry(compact_bytes), "fingerprints": fingerprints}
    with pytest.raises(ImdbEdgeError, match=r"not base64|not 8-byte integers|is empty") as refused:
        parse_model_bytes(_restamp_inline(compact_bytes, entry))
    assert "features but the vocabulary gives" not in str(refused.value)


FINGERPRINTS = "imdb_edge.vectorizer.fingerprints"


def _fingerprints_tensor(*extra: bytes, name: bytes = FINGERPRINTS.encode(), data_type: int = 13) -> bytes:
    """The fingerprints initializer of `compact_bytes`, field by field, with `extra` fields after them."""
    raw = term_fingerprints(sentiment_vectorizer(2).vocabulary).astype("<u8").tobytes()
    return field(1, len(raw) // 8) + field(2, data_type) + field(8, name) + field(9, raw) + b"".join(extra)


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        # protobuf keeps the last of a repeated field: onnxruntime would see a float array, or another name
        (_fingerprints_tensor(field(2, 1)), "not a one-dimensional uint8 or uint64 array"),
        (_fingerprints_tensor(field(8, b"embedding")), "more than one name"),
        (field(8, b"embedding") + _fingerprints_tensor(), "more than one name"),
        # fields the runtime would ignore but onnxruntime would not
        (_fingerprints_tensor(field(13, field(1, b"location") + field(2, b"/etc/passwd")), field(14, 1)), "array"),
        (_fingerprints_tensor(field(11, b"\x01" * 8)), "not a one-dimensional uint8 or uint64 array"),
        (_fingerprints_tensor(name=FINGERPRINTS.encode() + b"\xff"), "not UTF-8"),
    ],
    ids=["data-type-twice", "name-then-another", "another-then-name", "external-data", "uint64-data", "not-utf8"],
)
def test_runtime_arrays_hold_each_field_once_and_no_other(compact_bytes: bytes, tensor: bytes, message: str) -> None:
    assert parse_model_bytes(with_raw_initializer(compact_bytes, FINGERPRINTS, _fingerprints_tensor()))
    with pytest.raises(ImdbEdgeError, match=message) as refused:
        parse_model_bytes(with_raw_initializer(compact_bytes, FINGERPRINTS, tensor))
    assert "\n" not in str(refused.value)


def _with_array(data: bytes, name: str, values: np.ndarray, entries: dict | None = None):  # type: ignore[no-untyped-def]
    """`data` with the runtime array `name` set to `values` (added if missing), restamped."""
    import onnx

    graph = onnx.load_from_string(data).graph
    kept = [t for t in graph.initializer if t.name != name]
    del graph.initializer[:]
    graph.initializer.extend([*kept, onnx.numpy_helper.from_array(values, name)])
    return restamp(data, entries or {}, graph=graph)


def test_millions_of_fingerprints_for_a_tiny_graph_are_refused_before_any_table_is_built(compact_bytes: bytes) -> None:
    """The size check compared the vocabulary with the graph including the arrays: 16 MB of fingerprints
    vouched for themselves, and their lookup table was built before the load probe refused the file."""
    many = np.arange(1, 2_000_001, dtype=np.uint64)
    model = {**parse_model_bytes(compact_bytes).model, "input_width": many.size + 1}
    forged = _with_array(compact_bytes, FINGERPRINTS, many, {"imdb_edge.model": json.dumps(model)})
    with pytest.raises(ImdbEdgeError, match="larger than its graph could use"):
        parse_model_bytes(forged)


@pytest.mark.parametrize(
    ("entries", "reference", "message"),
    [
        ({}, {"terms": {"initializer": FINGERPRINTS}}, "refers to initializer imdb_edge.vectorizer.fingerprints twice"),
        ({}, {"fingerprints": {"initializer": FINGERPRINTS, "at": 0}}, "must be base64 or"),
        ({"extra": True}, {}, "holds initializer imdb_edge.extra, which the vectorizer does not use"),
        ({SCHEMA_KEY: "2"}, {}, "only schema 3 and 4 files other than the text form carry"),
    ],
    ids=["terms-read-the-fingerprints", "reference-with-more", "unused-array", "schema-2"],
)
def test_runtime_arrays_are_each_read_once_and_only_in_schema_3(
    compact_bytes: bytes, entries: dict, reference: dict, message: str
) -> None:
    entry = json.loads(parse_model_bytes(compact_bytes).metadata[VECTORIZER_KEY])
    entries = {**entries, VECTORIZER_KEY: json.dumps({**entry, **reference})}
    if entries.pop("extra", False):
        forged = _with_array(compact_bytes, "imdb_edge.extra", np.arange(4, dtype=np.uint8), entries)
    else:
        forged = restamp(compact_bytes, entries)
    with pytest.raises(ImdbEdgeError, match=message):
        parse_model_bytes(forged)


def test_a_text_form_file_with_runtime_arrays_is_refused() -> None:
    """The text form keeps its arrays inline (apps run it in plain onnxruntime): arrays there are forged."""
    text_form = as_schema_3(build_model_bytes(form="text", ngram_max=2, compact=True))
    entry = json.loads(parse_model_bytes(text_form).metadata[VECTORIZER_KEY])
    fingerprints = np.frombuffer(base64.b64decode(entry["fingerprints"]), dtype="<u8")
    vectorizer = json.dumps({**entry, "fingerprints": {"initializer": FINGERPRINTS}})
    forged = _with_array(text_form, FINGERPRINTS, fingerprints.astype(np.uint64), {VECTORIZER_KEY: vectorizer})
    with pytest.raises(ImdbEdgeError, match="the text form keeps its vocabulary inline"):
        parse_model_bytes(forged)
