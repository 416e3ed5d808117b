"""The text-input graph gives exactly the Python runtime's answers, from plain onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge import Classifier
from imdb_edge.runtime.modelfile.reader import parse_model_bytes
from tests.model_factory import build_model_bytes

TRICKY = [
    "A WONDERFUL, excellent film!<br /><br />Not bad... not good?",
    "awful\tboring\nwaste\r\nworst\x0bdull\x0cstupid",
    "ÉCOLE Straße MASTERPIECE superb—brilliant naïve",
    "br BR br br wonderful br",
    "",
    "   \t\n ",
    "....,,,;;;!!!",
    "the movie was not good not bad",
    "x" * 5000,
    "🎬 loved it 🍿 \u202eRTL\u202c \u00a0great\u2003movie",
]


NEGATED = [
    "I did NOT like this movie, but the end wasn't bad. Never again!<br /><br />No. It's not br great",
    "don''t waste n't dull N'T great isN'T awful",
    "not good. not-bad'n't great; don't-go wasn't superb",
    "not",
    "never, ever: without doubt the worst? No! nothing dull",
    "I didn’t like it. DON’T waste ’t dull n’t great",
]
TRICKY += NEGATED


@pytest.fixture(scope="module", params=[(1, False), (2, False), (3, False), (1, True), (3, True)])
def pair(request: pytest.FixtureRequest) -> tuple[Classifier, Classifier, bytes]:
    n, negation = request.param
    tokens = Classifier(parse_model_bytes(build_model_bytes(ngram_max=n, negation=negation)))
    data = build_model_bytes(form="text", ngram_max=n, negation=negation)
    return tokens, Classifier(parse_model_bytes(data)), data


def test_text_graph_matches_python_runtime_on_tricky_reviews(pair: tuple[Classifier, Classifier, bytes]) -> None:
    tokens, text, _ = pair
    assert text.input_form == "text"
    np.testing.assert_allclose(text.scores(TRICKY), tokens.scores(TRICKY), atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=200), min_size=1, max_size=4))
def test_text_graph_matches_python_runtime_on_any_text(texts: list[str]) -> None:
    for n, negation in ((1, False), (2, False), (2, True)):
        tokens = Classifier(parse_model_bytes(build_model_bytes(ngram_max=n, negation=negation)))
        text = Classifier(parse_model_bytes(build_model_bytes(form="text", ngram_max=n, negation=negation)))
        np.testing.assert_allclose(text.scores(texts), tokens.scores(texts), atol=1e-6)


# Texts made of the words and separators that decide negation marks.
_NEGATION_TEXTS = st.lists(
    st.tuples(
        st.sampled_from(["not", "No", "never", "t", "don", "wasn", "great", "awful", "waste", "br", "n", "", "n’t"]),
        st.sampled_from([" ", "'", "n'", ",", ".", "!", "<br />", "-", ";", "''", "\t", "’"]),
    ).map("".join),
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(_NEGATION_TEXTS, min_size=1, max_size=4))
def test_text_graph_marks_negations_like_python(texts: list[str]) -> None:
    tokens = Classifier(parse_model_bytes(build_model_bytes(ngram_max=2, negation=True)))
    text = Classifier(parse_model_bytes(build_model_bytes(form="text", ngram_max=2, negation=True)))
    np.testing.assert_allclose(text.scores(texts), tokens.scores(texts), atol=1e-6)


def assert_plain_onnxruntime_answers_like(tokens: Classifier, data: bytes, tolerance: float = 1e-6) -> None:
    """The text-input file `data` in onnxruntime with default options, no imdb-edge code involved: inputs,
    outputs, and the labels and scores of the token-id model `tokens` on the tricky reviews."""
    session = ort.InferenceSession(data)
    assert [(i.name, i.type) for i in session.get_inputs()] == [("texts", "tensor(string)")]
    assert [o.name for o in session.get_outputs()] == ["score", "label"]
    score, label = session.run(None, {"texts": np.array(TRICKY, dtype=object)})
    assert score.shape == (len(TRICKY), 1) and label.shape == (len(TRICKY),)
    expected = tokens.scores(TRICKY)  # scores(): the graph takes empty text too, predict_batch() refuses it
    assert list(label) == [tokens.labels[int(s >= tokens.threshold)] for s in expected]
    np.testing.assert_allclose(score.ravel(), expected, atol=tolerance)


def test_plain_onnxruntime_gets_score_and_label(pair: tuple[Classifier, Classifier, bytes]) -> None:
    assert_plain_onnxruntime_answers_like(pair[0], pair[2])


def test_text_graph_handles_an_empty_batch(pair: tuple[Classifier, Classifier, bytes]) -> None:
    score, label = ort.InferenceSession(pair[2]).run(None, {"texts": np.array([], dtype=object)})
    assert score.shape == (0, 1) and label.shape == (0,)
