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
from imdb_edge.runtime.model_file import VECTORIZER_KEY, parse_model_bytes
from imdb_edge.runtime.vectorizer import FINGERPRINTS_VERSION, Vectorizer, term_fingerprints
from tests.model_factory import build_model_bytes, restamp, sentiment_vectorizer

TEXTS = ["A great, wonderful movie", "awful and boring: a waste of time", "not good, not bad", "", "zyzzyva"]


@pytest.fixture(scope="module")
def compact_bytes() -> bytes:
    return build_model_bytes(ngram_max=2, compact=True)


def _entry(data: bytes) -> dict:
    return json.loads(parse_model_bytes(data).metadata[VECTORIZER_KEY])


def test_the_file_stores_fingerprints_and_packed_terms_not_a_term_list(compact_bytes: bytes) -> None:
    entry = _entry(compact_bytes)
    original = sentiment_vectorizer(2)
    assert entry["version"] == FINGERPRINTS_VERSION and entry["vocabulary"] is None
    stored = np.frombuffer(base64.b64decode(entry["fingerprints"]), dtype="<u8")
    assert stored.tolist() == term_fingerprints(original.vocabulary).tolist()
    unpacked = zlib.decompress(base64.b64decode(entry["terms"])).decode().split("\n")
    assert unpacked == original.vocabulary


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
    return restamp(data, {VECTORIZER_KEY: json.dumps(entry)})


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
    source.write_bytes(restamp(compact_bytes, {VECTORIZER_KEY: json.dumps(entry)}))
    assert Classifier(source).predict("a great movie").label == "positive"
    with pytest.raises(ImdbEdgeError, match="the text form needs the terms"):
        rewrap_as_text(source, tmp_path / "text.onnx", TEXTS, "test texts")
    forged = tmp_path / "swapped-terms.onnx"
    forged.write_bytes(_with_terms(compact_bytes, zlib.compress(b"\xff")))
    with pytest.raises(ImdbEdgeError, match=r"swapped-terms.onnx: the vectorizer terms are not UTF-8"):
        rewrap_as_text(forged, tmp_path / "text.onnx", TEXTS, "test texts")


def test_terms_that_are_not_utf8_are_refused_when_read(compact_bytes: bytes) -> None:
    forged = parse_model_bytes(_with_terms(compact_bytes, zlib.compress(b"\xff\xfe" + b"\n" * 30)))
    with pytest.raises(ImdbEdgeError, match="not UTF-8"):
        forged.vectorizer.vocabulary  # noqa: B018


@pytest.mark.parametrize("fingerprints", ["!!!!", "", "QUJD"])
def test_fingerprints_of_the_wrong_shape_are_named_not_counted(compact_bytes: bytes, fingerprints: str) -> None:
    entry = {**_entry(compact_bytes), "fingerprints": fingerprints}
    with pytest.raises(ImdbEdgeError, match=r"not base64|not 8-byte integers|is empty") as refused:
        parse_model_bytes(restamp(compact_bytes, {VECTORIZER_KEY: json.dumps(entry)}))
    assert "features but the vocabulary gives" not in str(refused.value)
