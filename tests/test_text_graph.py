"""The text-input graph gives exactly the Python runtime's answers, from plain onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge import Classifier
from imdb_edge.runtime.model_file import parse_model_bytes
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


@pytest.fixture(scope="module", params=[1, 2, 3])
def pair(request: pytest.FixtureRequest) -> tuple[Classifier, Classifier, bytes]:
    n = request.param
    tokens = Classifier(parse_model_bytes(build_model_bytes(ngram_max=n)))
    data = build_model_bytes(form="text", ngram_max=n)
    return tokens, Classifier(parse_model_bytes(data)), data


def test_text_graph_matches_python_runtime_on_tricky_reviews(pair: tuple[Classifier, Classifier, bytes]) -> None:
    tokens, text, _ = pair
    assert text.input_form == "text"
    np.testing.assert_allclose(text.scores(TRICKY), tokens.scores(TRICKY), atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=200), min_size=1, max_size=4))
def test_text_graph_matches_python_runtime_on_any_text(texts: list[str]) -> None:
    for n in (1, 2):
        tokens = Classifier(parse_model_bytes(build_model_bytes(ngram_max=n)))
        text = Classifier(parse_model_bytes(build_model_bytes(form="text", ngram_max=n)))
        np.testing.assert_allclose(text.scores(texts), tokens.scores(texts), atol=1e-6)


def test_plain_onnxruntime_gets_score_and_label(pair: tuple[Classifier, Classifier, bytes]) -> None:
    tokens, _, data = pair
    session = ort.InferenceSession(data)  # default options, no imdb-edge code involved
    assert [(i.name, i.type) for i in session.get_inputs()] == [("texts", "tensor(string)")]
    assert [o.name for o in session.get_outputs()] == ["score", "label"]
    score, label = session.run(None, {"texts": np.array(TRICKY, dtype=object)})
    assert score.shape == (len(TRICKY), 1) and label.shape == (len(TRICKY),)
    expected = tokens.scores(TRICKY)  # scores(): the graph takes empty text too, predict_batch() refuses it
    assert list(label) == [tokens.labels[int(s >= tokens.threshold)] for s in expected]
    np.testing.assert_allclose(score.ravel(), expected, atol=1e-6)


def test_text_graph_handles_an_empty_batch(pair: tuple[Classifier, Classifier, bytes]) -> None:
    score, label = ort.InferenceSession(pair[2]).run(None, {"texts": np.array([], dtype=object)})
    assert score.shape == (0, 1) and label.shape == (0,)
