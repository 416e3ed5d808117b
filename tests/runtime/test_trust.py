"""Answers a user can trust: why a text got its label, when the model knows none of its terms, results per
item in the API."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from imdb_edge import Classifier, ImdbEdgeError
from imdb_edge.data.reviews import sample_reviews
from imdb_edge.runtime.vectorizer import tokenize
from tests.helpers import run_cli
from tests.model_factory import build_model_bytes


def test_the_shipped_models_explanations_add_up_to_its_logit(shipped: Classifier) -> None:
    """Exact: the bias plus every term's push is the logit, and its sigmoid the score, on 256 real reviews."""
    for review in sample_reviews():
        explanation = shipped.explain(review, k=100_000)  # every term that pushes at all
        assert explanation.method == "exact"
        towards = sum(p.contribution for p in explanation.terms if p.label == "positive")
        away = sum(p.contribution for p in explanation.terms if p.label == "negative")
        assert explanation.bias + towards - away == pytest.approx(explanation.logit, abs=1e-4)
        assert 1 / (1 + math.exp(-explanation.logit)) == pytest.approx(explanation.prediction.score, abs=1e-5)
        words = set(tokenize(review))
        assert all(set(push.term.split()) <= words for push in explanation.terms)  # the review's own words


def test_explanations_name_the_terms_that_decide(shipped: Classifier) -> None:
    explanation = shipped.explain("This movie was a waste of time", k=3)
    towards_negative = [p.term for p in explanation.terms if p.label == "negative"]
    assert towards_negative == ["waste", "waste of", "waste of time"]
    document = explanation.to_dict()
    assert document["method"] == "exact" and len(document["terms"]) == 6


def test_a_model_with_hidden_layers_is_explained_by_leaving_each_term_out(tiny_model: Path) -> None:
    classifier = Classifier.load(tiny_model)  # token ids, a hidden relu layer: not linear
    explanation = classifier.explain("a wonderful film but boring", k=2)
    assert explanation.method == "leave-one-out" and explanation.bias is None
    first = {label: next(p.term for p in explanation.terms if p.label == label) for label in ("positive", "negative")}
    assert first == {"positive": "wonderful", "negative": "boring"}


def test_a_text_input_file_cannot_be_explained(tmp_path: Path) -> None:
    path = tmp_path / "text.onnx"
    path.write_bytes(build_model_bytes(form="text"))
    with pytest.raises(ImdbEdgeError, match="explain with the token-id file"):
        Classifier.load(path).explain("a wonderful film")


def test_known_terms_and_unknown_lines(shipped: Classifier) -> None:
    """Before: "asdf qwer", "12345", "!!!" all got positive 0.515268, the bias's label, and nothing said so."""
    assert shipped.predict("asdf qwer").known_terms == 0
    assert shipped.predict("This movie was a waste of time").known_terms == 22
    batch = shipped.predict_batch(["asdf qwer", "a waste of time", *sample_reviews()[:100]])
    assert [p.known_terms for p in batch[:2]] == [0, 10]
    plain = run_cli("classify", "asdf qwer", "12345", "!!!", "This movie was a waste of time")
    assert plain.exit_code == 1
    assert plain.stdout.splitlines()[:3] == ["unknown\tthe model knows none of its terms"] * 3
    assert plain.stdout.splitlines()[3].startswith("negative\t")
    assert "3 of 4 input(s) could not be classified (3 with too few terms the model knows)" in plain.stderr
    rows = [json.loads(line) for line in run_cli("classify", "--json", "asdf qwer", "a waste").stdout.splitlines()]
    assert rows[0] == {"id": 1, "unknown": "the model knows none of its terms", "known_terms": 0}
    assert rows[1]["known_terms"] == 3 and rows[1]["label"] == "negative"
    demanding = run_cli("classify", "--min-known", "4", "a waste")
    assert demanding.exit_code == 1 and demanding.stdout == "unknown\tthe model knows 3 of its terms, fewer than 4\n"
    lenient = run_cli("classify", "--min-known", "0", "asdf qwer")
    bias = shipped.scores([""])[0]  # no term at all: the score is the model's bias alone
    assert lenient.exit_code == 0 and lenient.stdout == f"{shipped.label_of(bias)}\t{bias:.6f}\n"


def test_explain_on_the_command_line(shipped: Classifier) -> None:
    plain = run_cli("classify", "--explain", "--terms", "2", "This movie was a waste of time")
    label, _score, why = plain.stdout.rstrip("\n").split("\t")
    assert label == "negative" and "waste (negative 0.64)" in why
    row = json.loads(run_cli("classify", "--explain", "--json", "This movie was a waste of time").stdout)
    assert row["explanation"][0]["label"] in ("positive", "negative") and "term" in row["explanation"][0]
    refused = run_cli("classify", "--terms", "3", "x")
    assert refused.exit_code == 2 and "give --explain too" in refused.stderr


def test_per_item_results_in_the_api(shipped: Classifier) -> None:
    """Before: predict_batch(["ok", "  ", "fine"]) raised on item 1 and returned nothing."""
    with pytest.raises(ImdbEdgeError, match="item 1: text is only whitespace"):
        shipped.predict_batch(["ok", "  ", "fine"])
    results = shipped.predict_batch(["ok", "  ", "fine", None], errors="return")  # type: ignore[list-item]
    assert [r.error for r in results] == [None, "text is only whitespace", None, "not a text (NoneType)"]
    assert results[1].label is None and np.isnan(results[1].score)
    assert results[0].label in ("positive", "negative") and results[2].to_dict()["known_terms"] == 1
    assert results[1].to_dict() == {"error": "text is only whitespace"}
    with pytest.raises(ValueError, match="errors must be"):
        shipped.predict_batch(["ok"], errors="ignore")
