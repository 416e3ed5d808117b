"""Issue 29: predict() of one text takes a shorter path (the kernel's padded row, onnxruntime's own run call,
the answer built at once) once a two-label token-id model has run. Its answers must be the general path's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge import Classifier
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.classifier import Prediction

WORDS = ["great", "film", "waste", "of", "time", "not", "good", "bad", "zyzzyva", "<br />", "!", "Wonderful"]


@pytest.fixture
def counted(shipped: Classifier, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts that went through the one-text path (so a test knows it was taken, not just that it passed)."""
    taken: list[str] = []
    original = Classifier._predict_one

    def spy(self: Classifier, kernel: Any, text: str) -> Prediction:
        taken.append(text)
        return original(self, kernel, text)

    shipped.predict("warm-up: the first run takes the general path")
    monkeypatch.setattr(Classifier, "_predict_one", spy)
    return taken


def _general(classifier: Classifier, text: str) -> Prediction:
    """The general path's answer: predict_batch of one text (scores_and_known, run, _prediction)."""
    return classifier.predict_batch([text])[0]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=40).map(" ".join) | st.text(min_size=1, max_size=200))
def test_the_one_text_path_answers_as_the_general_path(shipped: Classifier, text: str) -> None:
    if not text.strip():
        return
    fast, general = shipped.predict(text), _general(shipped, text)
    assert fast == general  # label and score, bit for bit
    assert fast.scores == general.scores and fast.known_terms == general.known_terms and fast.error is None
    assert type(fast.score) is float and type(fast.known_terms) is int


def test_it_is_taken_and_counts_known_terms_at_every_width(shipped: Classifier, counted: list[str]) -> None:
    texts = ["zyzzyva qwxz", "zyzzyva great", "great", "This movie was a waste of time"]
    answers = [shipped.predict(text) for text in texts]
    assert counted == texts
    assert [a.known_terms for a in answers] == [0, 1, 1, 22]  # width 1 holds one pad, or one known term
    assert answers == [_general(shipped, text) for text in texts]
    assert answers[3].label == "negative" and answers[3].scores["negative"] == 1.0 - answers[3].score


def test_bad_input_is_refused_as_before(shipped: Classifier, counted: list[str]) -> None:
    with pytest.raises(TypeError, match="predict\\(\\) takes a str, got bytes"):
        shipped.predict(b"great")  # type: ignore[arg-type]
    for empty in ("", "  \n\t"):
        with pytest.raises(ImdbEdgeError, match="cannot classify"):
            shipped.predict(empty)
    assert counted == []


def test_a_stray_terminate_flag_is_cleared_and_the_text_still_answered(shipped: Classifier, counted: list[str]) -> None:
    """An expiry can land just after its run ended; the flag it leaves must not fail this thread's next call."""
    expected = _general(shipped, "a great film")
    shipped._local.options.terminate = True
    assert shipped.predict("a great film") == expected
    assert counted == ["a great film"] and not shipped._local.options.terminate


def test_cancelled_runs_stay_cancelled_on_the_one_text_path(tiny_model: Path) -> None:
    """cancel_runs() (a stop signal's handler) cancels every Classifier of the process: in a process of its own."""
    script = (
        "import sys\n"
        "from imdb_edge import Classifier\n"
        "from imdb_edge.runtime.classifier import RunCancelled, cancel_runs\n"
        "c = Classifier.load(sys.argv[1])\n"
        "c.predict('a great film')\n"
        "c.predict('a great film')\n"
        "cancel_runs()\n"
        "try:\n"
        "    c.predict('a great film')\n"
        "except RunCancelled as exc:\n"
        "    print('cancelled:', exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tiny_model)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cancelled: ") and "the run was cancelled" in done.stdout


def test_a_graph_that_returns_the_wrong_shape_is_one_line(shipped: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    classifier = Classifier.load()
    classifier.predict("warm-up")
    monkeypatch.setattr(classifier, "_session_run", lambda *a: [np.zeros((1, 2), np.float32)])
    with pytest.raises(ImdbEdgeError, match="returns 2 scores for 1 review"):
        classifier.predict("a great film")


def test_the_pure_python_vectorizer_takes_the_general_path_with_the_same_answers(shipped: Classifier) -> None:
    pure = Classifier.load()
    pure.vectorizer = pure.vectorizer.pure_python()
    assert pure.vectorizer.kernel is None
    for text in ["zyzzyva", "great", "not good, not bad at all <br /> a WASTE of time!"]:
        assert pure.predict(text) == shipped.predict(text)
        assert pure.predict(text).known_terms == shipped.predict(text).known_terms


def _with_output_cast(model_bytes: bytes, element_type: int) -> bytes:
    """The tiny model with its score cast to another element type: a file that loads the probe and padding
    checks could not tell apart."""
    import onnx
    from onnx import helper

    from tests.model_factory import restamp

    graph = onnx.load_model_from_string(model_bytes).graph
    for node in graph.node:
        node.output[:] = ["score_f32" if name == "score" else name for name in node.output]
    graph.node.append(helper.make_node("Cast", ["score_f32"], ["score"], to=element_type))
    graph.output[0].type.tensor_type.elem_type = element_type
    return restamp(model_bytes, {}, graph=graph)


@pytest.mark.parametrize("element_type", [11, 7, 10, 9], ids=["float64", "int64", "float16", "bool"])
def test_a_graph_whose_scores_are_not_float32_is_refused_at_load(
    model_bytes: bytes, tmp_path: Path, element_type: int
) -> None:
    """Before: float64 scores made predict()'s one-text path and the general path differ in the last bits (a
    label flipped at 0.5), int64 scores came back as Python ints, bool scores crashed the load with a
    TypeError traceback."""
    path = tmp_path / "cast.onnx"
    path.write_bytes(_with_output_cast(model_bytes, element_type))
    with pytest.raises(ImdbEdgeError, match="have no float32 output") as caught:
        Classifier.load(path)
    assert "\n" not in str(caught.value)
    done = subprocess.run(
        [sys.executable, "-m", "imdb_edge", "classify", "-m", str(path), "a great film"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and "float32" in done.stderr


def test_a_subclass_that_replaces_a_step_keeps_the_general_path(shipped: Classifier) -> None:
    """The one-text path leaves out run() and the steps around it; a subclass (or an instance) that replaces one
    of them must keep seeing every call, as before the path existed."""

    class Constant(Classifier):
        def run(self, inputs: np.ndarray) -> np.ndarray:
            return (super().run(inputs) * 0 + 0.99).astype(np.float32)

    constant = Constant.load()
    assert [constant.predict("This movie was a waste of time").score for _ in range(3)] == pytest.approx([0.99] * 3)
    patched = Classifier.load()
    patched.run = lambda inputs: np.full(len(inputs), 0.25, np.float32)  # type: ignore[method-assign]
    assert [patched.predict("a great film").score for _ in range(3)] == [0.25] * 3
    assert shipped.predict("a great film").score != 0.25


def test_a_wrong_number_of_scores_reads_alike_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    classifier = Classifier.load()
    classifier.predict("warm-up")
    monkeypatch.setattr(classifier, "_session_run", lambda *a: [np.zeros((2, 1), np.float32)])
    for call in (lambda: classifier.predict("a great film"), lambda: classifier.predict_batch(["a great film"])):
        with pytest.raises(ImdbEdgeError, match=r"returns 2 scores for 1 review$"):
            call()
