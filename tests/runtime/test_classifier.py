"""The runtime API: loading, predictions, threads, processes, import isolation."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import imdb_edge
from imdb_edge import Classifier, ImdbEdgeError, Prediction
from tests.helpers import ROOT
from tests.imdb_fixture import NEGATIVE, NEUTRAL, POSITIVE

REVIEWS = [
    " ".join(words) for words in zip(POSITIVE * 3, NEUTRAL * 2, NEGATIVE * 3, NEUTRAL[::-1] * 2, strict=False)
] + ["An absolute masterpiece.", "Dreadful.", "ümlaut ÉCOLE 🎬 \u202eRTL text\u202c"]


def test_top_level_api(shipped: Classifier) -> None:
    assert imdb_edge.Classifier is Classifier
    prediction = shipped.predict("An absolute masterpiece, I loved every minute.")
    assert isinstance(prediction, Prediction) and prediction.label == "positive"
    assert prediction.to_dict() == {
        "label": "positive",
        "score": prediction.score,
        "scores": dict(prediction.scores),
        "known_terms": prediction.known_terms,
    }
    assert prediction.known_terms and prediction.known_terms > 3
    assert shipped.predict_batch([]) == []


def test_batch_equals_single_predictions(shipped: Classifier) -> None:
    batch = shipped.predict_batch(REVIEWS)
    single = [shipped.predict(text) for text in REVIEWS]
    assert [p.label for p in batch] == [p.label for p in single]
    np.testing.assert_allclose([p.score for p in batch], [p.score for p in single], atol=1e-6)
    assert all(0.0 <= p.score <= 1.0 for p in batch)


def test_wrong_argument_types_are_clear(shipped: Classifier) -> None:
    with pytest.raises(TypeError, match="takes a str"):
        shipped.predict(["a list"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list of texts"):
        shipped.scores("one text")  # type: ignore[arg-type]
    with pytest.raises(ImdbEdgeError, match="threads"):
        Classifier.load(threads=0)
    with pytest.raises(TypeError, match=r"item 1 is NoneType, not str"):
        shipped.predict_batch(["ok", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="threads must be a whole number"):
        Classifier.load(threads=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="threshold must be a number"):
        Classifier.load(threshold="0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable of str"):
        shipped.predict_batch(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model path or a ModelFile"):
        Classifier(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sha256 must be a str"):  # was AttributeError ('int' has no 'strip')
        Classifier.load(sha256=123)  # type: ignore[arg-type]


def test_any_iterable_and_empty_text_like_the_cli(shipped: Classifier) -> None:
    texts = ["A joy from start to finish.", "Two hours I will never get back."]
    assert shipped.predict_batch(t for t in texts) == shipped.predict_batch(texts)
    assert shipped.predict_batch(iter(())) == []
    for empty, reason in (("", "empty text"), (" \t\n", "text is only whitespace")):
        with pytest.raises(ImdbEdgeError, match=reason):
            shipped.predict(empty)
        with pytest.raises(ImdbEdgeError, match=f"item 1: {reason}"):
            shipped.predict_batch(["fine", empty])


def test_classifier_takes_a_path_and_shows_what_it_holds(tmp_path: Path) -> None:
    from imdb_edge.runtime.classifier import default_model_path

    path = tmp_path / "copy.onnx"
    path.write_bytes(default_model_path().read_bytes())
    for classifier in (Classifier(path), Classifier(str(path))):
        text = repr(classifier)
        assert str(path) in text and "input_form='token_ids'" in text
        assert f"vocabulary_size={classifier.vectorizer.size}" in text and "precision='int8'" in text
        assert classifier.vectorizer.size == len(classifier.vectorizer.vocabulary) > 0
    with pytest.raises(ImdbEdgeError, match="does not exist"):
        Classifier(tmp_path / "missing.onnx")


def test_package_ships_py_typed() -> None:
    from importlib import resources

    assert resources.files("imdb_edge").joinpath("py.typed").is_file()


def test_many_threads_one_classifier_same_results(shipped: Classifier) -> None:
    texts = [REVIEWS[i % len(REVIEWS)] + f" {i}" for i in range(4000)]
    expected = [p.score for p in shipped.predict_batch(texts)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda t: shipped.predict(t).score, texts))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_processes_loading_the_same_file_at_once(tmp_path: Path) -> None:
    script = "from imdb_edge import Classifier; print(Classifier.load().predict('a fine film').score)"
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    outputs = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(outputs) == 1


def test_classify_never_imports_tensorflow() -> None:
    script = (
        "import sys, runpy\n"
        "sys.argv = ['imdb-edge', 'classify', 'a great film']\n"
        "try:\n    runpy.run_module('imdb_edge', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('tensorflow', 'keras', 'tf2onnx', 'onnx') if m in sys.modules], file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("positive\t")
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_shipped_model_on_first_1000_test_reviews(shipped: Classifier, full_data: Path) -> None:
    from imdb_edge.data.dataset import load_dataset

    test = load_dataset(full_data).test
    first = np.flatnonzero(test.ids < 500)  # test/neg/0..499 and test/pos/0..499: both classes
    assert len(first) == 1000
    predictions = shipped.predict_batch([test.texts[i] for i in first])
    accuracy = np.mean(
        [(p.label == "positive") == bool(test.labels[i]) for p, i in zip(predictions, first, strict=True)]
    )
    assert accuracy >= 0.87


def test_readme_embedding_example_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Embedding", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the README's own example, verbatim
    assert namespace["prediction"].label == "negative"
    assert json.dumps(namespace["results"])


def test_batch_scores_match_one_review_at_a_time(shipped: Classifier) -> None:
    """Batches run grouped by length (GROUP rows each); every score stays that review's own,
    to float32 summation noise, in input order, and the same call gives the same bits."""
    from imdb_edge.runtime.classifier import CHUNK, GROUP

    texts = [f"review {i}: {'great' if i % 3 else 'awful'} acting " * (1 + i % 9) for i in range(CHUNK * 2 + 5)]
    for part in (texts[:1], texts[:GROUP], texts[: GROUP + 1], texts):
        scores = shipped.scores(part)
        alone = np.concatenate([shipped.run(shipped.model_inputs([t])) for t in part])
        assert scores.dtype == np.float32 and scores.shape == (len(part),)
        np.testing.assert_allclose(scores, alone, atol=1e-6)
        assert ((scores >= 0.5) == (alone >= 0.5)).all()
        np.testing.assert_array_equal(scores, shipped.scores(part))
    assert shipped.scores([]).dtype == np.float32 and shipped.scores([]).shape == (0,)
    assert shipped.predict(texts[0]).score == float(shipped.scores(texts[:1])[0])
