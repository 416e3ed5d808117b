"""Hashed n-gram buckets (VectorizerConfig.hash_buckets): the definition, the model file, the text form."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import HASH_NAME, Vectorizer, VectorizerConfig, tokenize_bytes

MASK = 2**64 - 1


def _mix(x: int) -> int:
    """splitmix64's finalizer written out on Python integers: an independent spelling of the definition."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _buckets_by_hand(text: str, ngram_max: int, buckets: int) -> list[int]:
    keys = [zlib.crc32(token) for token in tokenize_bytes(text)]
    found = set()
    for start in range(len(keys)):
        h = _mix(keys[start] ^ 0x9E3779B97F4A7C15)
        found.add(((h >> 32) * buckets) >> 32)
        for key in keys[start + 1 : start + ngram_max]:
            h = _mix(h ^ key)
            found.add(((h >> 32) * buckets) >> 32)
    return sorted(found)


def hashed(ngram_max: int = 3, buckets: int = 2**21, **changes: object) -> Vectorizer:
    return Vectorizer.fit([], VectorizerConfig(ngram_max=ngram_max, hash_buckets=buckets, **changes))  # type: ignore[arg-type]


TEXTS = [
    "This movie was a waste of time",
    "Two hours I will never get back.<br /><br />NOT GOOD at all",
    "Café crème: naïve but GREAT \x00 \ud800lone",
    "",
    "br br <br />",
    "meh",
]


@pytest.mark.parametrize("ngram_max", [1, 2, 3, 5])
@pytest.mark.parametrize("buckets", [1, 7, 2**21])
def test_ids_follow_the_documented_hash(ngram_max: int, buckets: int) -> None:
    vectorizer = hashed(ngram_max, buckets)
    for text in TEXTS:
        for twin in (vectorizer, vectorizer.pure_python()):
            assert twin.feature_ids(text).tolist() == _buckets_by_hand(text, ngram_max, buckets), text


def test_every_word_counts_and_order_matters() -> None:
    vectorizer = hashed()
    assert vectorizer.size == 2**21 and vectorizer.vocabulary == []
    assert len(vectorizer.feature_ids("zyzzyva")) == 1  # no vocabulary: an unseen word still has a bucket
    assert len(vectorizer.feature_ids("not good")) == 3
    assert set(vectorizer.feature_ids("not good")) != set(vectorizer.feature_ids("good not"))
    assert vectorizer.feature_ids("NOT, good!").tolist() == vectorizer.feature_ids("not good").tolist()


def test_config_round_trip_names_the_hash_and_vocabulary_models_keep_their_json() -> None:
    vectorizer = hashed(weighting="nb")
    data = json.loads(vectorizer.to_json())
    assert data["vocabulary"] is None
    assert data["config"]["hash"] == HASH_NAME and data["config"]["hash_buckets"] == 2**21
    again = Vectorizer.from_json(vectorizer.to_json())
    assert (
        again.config == vectorizer.config
        and again.feature_ids(TEXTS[1]).tolist() == vectorizer.feature_ids(TEXTS[1]).tolist()
    )
    plain = Vectorizer.fit(["a b c"], VectorizerConfig())
    stored = set(json.loads(plain.to_json())["config"])
    assert stored == {"tokenizer", "max_features", "ngram_max", "min_df", "weighting"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["config"].update(hash="md5-v9"), "unsupported n-gram hash"),
        (lambda d: d["config"].update(hash_buckets=-1), "hash_buckets must be between"),
        (lambda d: d["config"].update(hash_buckets=2**40), "hash_buckets must be between"),
        (lambda d: d["config"].update(hash_buckets="4"), "hash_buckets"),
        (lambda d: d.update(vocabulary=["a", "b"]), "has no vocabulary"),
        (lambda d: d.update(feature_weights=[1.0, 2.0]), "feature_weights has shape"),
    ],
)
def test_bad_hashed_settings_are_clear_errors(change: object, message: str) -> None:
    data = json.loads(hashed().to_json())
    change(data)  # type: ignore[operator]
    with pytest.raises(ImdbEdgeError, match=message):
        Vectorizer.from_dict(data)


def test_hashed_needs_the_bag_architecture() -> None:
    from imdb_edge.train.config import config_from_dict

    with pytest.raises(ImdbEdgeError, match="need architecture bag"):
        config_from_dict({"architecture": "dense", "vectorizer": {"hash_buckets": 1024}})


# ---- model files --------------------------------------------------------------------------------------------


def _hashed_model(tmp_path: Path, buckets: int = 4096, **model_changes: object) -> Path:
    pytest.importorskip("onnx")
    from imdb_edge.export.graphs import DenseLayer, token_ids_graph
    from imdb_edge.export.metadata import stamp_model
    from tests.model_factory import model_entry

    vectorizer = hashed(2, buckets)
    table = np.zeros((buckets, 1), np.float32)
    for word, weight in (("great", 3.0), ("awful", -3.0)):
        table[vectorizer.feature_ids(word)[0], 0] = weight
    proto = token_ids_graph([DenseLayer(table, np.zeros(1, np.float32), "sigmoid")])
    data, _ = stamp_model(proto, model_entry(vectorizer, **model_changes), vectorizer.to_json(), {}, {})
    path = tmp_path / "hashed.onnx"
    path.write_bytes(data)
    return path


def test_a_hashed_model_file_loads_classifies_and_says_what_it_is(tmp_path: Path) -> None:
    from imdb_edge.runtime.classifier import Classifier
    from imdb_edge.runtime.modelfile.describe import describe_model, render_description

    classifier = Classifier(_hashed_model(tmp_path))
    assert classifier.predict("a great film").label == "positive"
    assert classifier.predict("an awful film").label == "negative"
    assert classifier.predict("zyzzyva").score == pytest.approx(0.5)
    summary, _ = describe_model(tmp_path / "hashed.onnx")
    assert summary["hash_buckets"] == 4096 and summary["vocabulary_size"] == 4096
    assert "4096 hashed n-gram buckets" in render_description(summary)


def test_a_graph_of_another_width_is_refused(tmp_path: Path) -> None:
    from imdb_edge.runtime.classifier import Classifier

    with pytest.raises(ImdbEdgeError, match="graph expects 9 features but the vocabulary gives 4097"):
        Classifier(_hashed_model(tmp_path, input_width=9))


def test_the_text_form_is_refused_for_hashed_models(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    import onnx

    from imdb_edge.export.errors import ExportError
    from imdb_edge.export.text_graph import text_graph

    proto = onnx.load(str(_hashed_model(tmp_path)))
    with pytest.raises(ExportError, match="has no text form"):
        text_graph(proto, hashed(2, 4096))
