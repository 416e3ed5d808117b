"""The text_fast graph gives the Python runtime's answers from plain onnxruntime, one review or a batch."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge import Classifier
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.export.errors import ExportError
from imdb_edge.export.fast_text_graph import check_fast_form, term_keys, token_keys
from imdb_edge.export.perfect_hash import build, slot_of
from imdb_edge.runtime.modelfile.reader import parse_model_bytes
from imdb_edge.runtime.modelfile.schema import TEXT_FAST
from tests.export.test_text_graph import TRICKY, assert_plain_onnxruntime_answers_like
from tests.model_factory import BAD, GOOD, NEUTRAL, build_model_bytes, restamp, sentiment_vectorizer

TOLERANCE = 1e-6  # the sum runs in another order than the token-id graph's ReduceSum


@pytest.fixture(scope="module", params=[(1, False), (2, False), (3, False), (1, True), (3, True)])
def pair(request: pytest.FixtureRequest) -> tuple[Classifier, Classifier, bytes]:
    """(token-id model, its text_fast form, that form's bytes): a hidden layer, or linear like the shipped model
    (whose graph sums onto the bias and labels by one Where)."""
    ngram_max, linear = request.param
    tokens = Classifier(parse_model_bytes(build_model_bytes(ngram_max=ngram_max, linear=linear)))
    data = build_model_bytes(form=TEXT_FAST, ngram_max=ngram_max, linear=linear)
    return tokens, Classifier(parse_model_bytes(data)), data


def test_text_fast_matches_the_python_runtime_on_tricky_reviews(pair: tuple[Classifier, Classifier, bytes]) -> None:
    tokens, fast, _ = pair
    assert fast.input_form == TEXT_FAST
    np.testing.assert_allclose(fast.scores(TRICKY), tokens.scores(TRICKY), atol=TOLERANCE)


def test_a_batch_scores_each_review_as_alone(pair: tuple[Classifier, Classifier, bytes]) -> None:
    """Reviews in one batch: no n-gram runs from one review into the next, no term is counted for another."""
    _, fast, _ = pair
    batch = ["a waste", "of time great", "great great great", "", "wonderful movie", "the film was boring"]
    alone = np.array([fast.scores([text])[0] for text in batch])
    np.testing.assert_allclose(fast.scores(batch), alone, atol=TOLERANCE)
    np.testing.assert_allclose(fast.scores(batch[::-1]), alone[::-1], atol=TOLERANCE)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=200), min_size=1, max_size=4))
def test_text_fast_matches_the_python_runtime_on_any_text(texts: list[str]) -> None:
    for n, linear in ((1, False), (2, False), (2, True)):
        tokens = Classifier(parse_model_bytes(build_model_bytes(ngram_max=n, linear=linear)))
        fast = Classifier(parse_model_bytes(build_model_bytes(form=TEXT_FAST, ngram_max=n, linear=linear)))
        np.testing.assert_allclose(fast.scores(texts), tokens.scores(texts), atol=TOLERANCE)


def test_a_large_batch_with_repeats_scores_like_the_python_runtime(pair: tuple[Classifier, Classifier, bytes]) -> None:
    """Repeated terms, in a batch large enough that pairs of different reviews share buckets of the graph's
    dedup table (a pair's bucket is its low bits: row * pair_base + slot), so that some pairs lose their bucket
    and are deduplicated by the sort."""
    tokens, fast, _ = pair
    words = [*GOOD, *BAD, *NEUTRAL, "br", "unknown"]
    rng = np.random.default_rng(7)
    batch = [" ".join(rng.choice(words, size=int(rng.integers(0, 16)))) for _ in range(70)]
    np.testing.assert_allclose(fast.scores(batch), tokens.scores(batch), atol=TOLERANCE)
    assert [fast.label_of(float(s)) for s in fast.scores(batch)] == [
        tokens.label_of(float(s)) for s in tokens.scores(batch)
    ]


def test_plain_onnxruntime_gets_score_and_label(pair: tuple[Classifier, Classifier, bytes]) -> None:
    assert_plain_onnxruntime_answers_like(pair[0], pair[2], TOLERANCE)


def test_text_fast_handles_an_empty_batch(pair: tuple[Classifier, Classifier, bytes]) -> None:
    score, label = ort.InferenceSession(pair[2]).run(None, {"texts": np.array([], dtype=object)})
    assert score.shape == (0, 1) and label.shape == (0,)


def test_the_graph_has_no_loop_and_uses_standard_and_two_contrib_operators(pair: tuple) -> None:
    graph = onnx.load_from_string(pair[2]).graph
    assert {node.op_type for node in graph.node if node.domain == "com.microsoft"} == {"Tokenizer", "MurmurHash3"}
    assert "Loop" not in {node.op_type for node in graph.node}
    assert parse_model_bytes(pair[2]).model["input_form"] == "text_fast"  # and the runtime's reader takes it


def test_the_negation_tokenizer_is_refused_in_one_line() -> None:
    with pytest.raises(ExportError, match=r"no text_fast form.*use --input text"):
        check_fast_form(sentiment_vectorizer(2, negation=True))


def test_a_tokenizer_with_another_pattern_is_refused(pair: tuple) -> None:
    proto = onnx.load_from_string(pair[2])
    tokenizer = next(node for node in proto.graph.node if node.op_type == "Tokenizer")
    pattern = next(a for a in tokenizer.attribute if a.name == "tokenexp")
    pattern.s = b"(a*)*"
    with pytest.raises(ImdbEdgeError, match=r"com\.microsoft\.Tokenizer node has settings exported models never use"):
        parse_model_bytes(restamp(pair[2], {}, graph=proto.graph))


def test_term_keys_chain_the_token_keys() -> None:
    a, b, c = token_keys(["a", "b", "c"])
    with np.errstate(over="ignore"):
        p = np.uint64(0x9E3779B97F4A7C15)
        assert list(term_keys(["a", "a b", "a b c"])) == [a, a * p + b, (a * p + b) * p + c]


def test_the_perfect_hash_puts_every_key_in_its_own_slot() -> None:
    keys = np.random.default_rng(0).integers(0, 2**63, 5000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    table = build(keys)
    slots = slot_of(keys, table.buckets, table.displacements, table.slots)
    assert sorted(slots) == list(range(keys.size))
    assert (table.order[slots] == np.arange(keys.size)).all()
    with pytest.raises(ExportError, match="not distinct"):
        build(np.array([3, 3], np.uint64))
