"""Tokenizer ascii-split-neg-v1: negated words are marked, the same way by the definition and the kernel."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge.data.reviews import sample_reviews
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime import vectorizer as module
from imdb_edge.runtime.vectorizer import (
    NEGATION_TOKENIZER_NAME,
    TOKENIZER_NAME,
    Vectorizer,
    VectorizerConfig,
    tokenize,
)
from imdb_edge.train.config import config_from_dict, load_profile

native = pytest.mark.skipif(module._native is None, reason="native vectorizer not built or forced off")


def test_words_after_a_negator_are_marked_up_to_the_clause_end() -> None:
    text = "I did NOT like this movie, but the end wasn't bad. Never again!<br /><br />No. It's not br great"
    assert tokenize(text, negation=True) == [
        "i", "did", "not", "~like", "~this", "~movie",  # the comma ends the scope
        "but", "the", "end", "wasn", "t", "~bad",  # the t of n't is a negator
        "never", "~again",  # "<" (of <br />) ends it; br is dropped as ever
        "no",  # the full stop right after "no" leaves nothing to mark
        "it", "s", "not", "~great",  # the t of "it's" is no negator; a dropped br changes nothing
    ]  # fmt: skip
    assert tokenize(text) == [t.lstrip("~") for t in tokenize(text, negation=True)]


def test_scope_rules_at_the_edges() -> None:
    marked = lambda text: tokenize(text, negation=True)  # noqa: E731
    assert marked("not never good; good") == ["not", "~never", "~good", "good"]  # a second negator is marked too
    assert marked("t good, don t good") == ["t", "good", "don", "t", "good"]  # "t" alone, or n + space + t: no
    assert marked("DON'T GO? go") == ["don", "t", "~go", "go"]
    assert marked("not - good ~ ( fine ) : done") == ["not", "~good", "~fine", "done"]  # only . , : ; ! ? < end it
    assert marked("notable nothingness nor") == ["notable", "nothingness", "nor"]  # whole tokens only
    assert marked("without café naïve") == ["without", "~café", "~naïve"]
    assert marked("I didn’t like it. DON’T go") == ["i", "didn’t", "~like", "~it", "don’t", "~go"]  # U+2019
    assert marked("n’ta good ’t good") == ["n’ta", "good", "’t", "good"]


def test_plain_text_never_looks_marked() -> None:
    """'~' separates tokens, so '~good' typed in a review is the word good, never the marked one."""
    assert tokenize("~good", negation=True) == ["good"]
    vectorizer = Vectorizer(VectorizerConfig(negation=True), ["~good", "good"])
    assert vectorizer.feature_ids("~good").tolist() == [1]
    assert vectorizer.feature_ids("not good").tolist() == [0]


def test_config_names_the_tokenizer_and_old_files_stay_the_same() -> None:
    plain, negated = VectorizerConfig(), VectorizerConfig(negation=True)
    assert plain.to_dict()["tokenizer"] == TOKENIZER_NAME and "negation" not in plain.to_dict()
    assert negated.to_dict()["tokenizer"] == NEGATION_TOKENIZER_NAME and "negation" not in negated.to_dict()
    assert VectorizerConfig.from_dict(negated.to_dict()) == negated
    assert VectorizerConfig.from_dict(plain.to_dict()) == plain
    with pytest.raises(ImdbEdgeError, match="unsupported tokenizer 'ascii-split-v9'"):
        VectorizerConfig.from_dict({"tokenizer": "ascii-split-v9"})


def test_saved_vectorizer_keeps_negation() -> None:
    fitted = Vectorizer.fit(["not good, good", "never bad. bad"], VectorizerConfig(ngram_max=2, negation=True))
    loaded = Vectorizer.from_json(fitted.to_json(compact=True))
    assert loaded.config.negation and json.loads(fitted.to_json())["config"]["tokenizer"] == NEGATION_TOKENIZER_NAME
    assert "not ~good" in fitted.vocabulary and "~bad" in fitted.vocabulary
    assert loaded.feature_ids("it was not good").tolist() == fitted.feature_ids("it was not good").tolist()


def test_training_settings_reach_the_vectorizer() -> None:
    config = config_from_dict({"vectorizer": {"negation": True}}, base=config_from_dict(load_profile("fourgrams")))
    assert config.vectorizer.negation and config.vectorizer.ngram_max == 4
    assert not config_from_dict({"vectorizer": {"negation": False}}, base=config).vectorizer.negation


WORDS = ["not", "NOT", "No", "never", "nor", "t", "don", "wasn", "good", "bad", "br", "café", "~", "ñ", "x" * 70]
WORDS += ["didn’t", "N’T", "n’", "’t", "isn’tt"]
SEPARATORS = [" ", "'", "n'", "N'", ",", ".", "!", "?", ";", ":", "<", "<br />", "-", "\t", "\u00a0", "’"]
TEXTS = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)).map("".join), max_size=60).map("".join)


def _negation_vectorizer(ngram_max: int) -> Vectorizer:
    corpus = [f"{a}{s}{b}{s}{c}" for a in WORDS for b in WORDS[:9] for s in SEPARATORS[:6] for c in ("good", "bad")]
    return Vectorizer.fit(corpus, VectorizerConfig(max_features=20_000, ngram_max=ngram_max, negation=True))


VECTORIZERS = {n: _negation_vectorizer(n) for n in (1, 3)}
HASHER = Vectorizer(VectorizerConfig(hash_buckets=2**20, ngram_max=3, negation=True), None)


@native
@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_kernel_marks_what_the_definition_marks(text: str) -> None:
    assert VECTORIZERS[1]._native.tokens(text) == module.tokenize_bytes(text, negation=True)
    for vectorizer in (*VECTORIZERS.values(), HASHER):
        assert vectorizer.implementation == "native"
        expected = vectorizer.pure_python().feature_ids(text)
        np.testing.assert_array_equal(vectorizer.feature_ids(text), expected)


@native
def test_kernel_and_definition_agree_on_the_sample_reviews() -> None:
    texts = sample_reviews()
    vectorizer = Vectorizer.fit(texts, VectorizerConfig(max_features=50_000, ngram_max=4, negation=True))
    assert sum(term.count("~") for term in vectorizer.vocabulary) > 1000  # real reviews are full of negations
    np.testing.assert_array_equal(vectorizer.padded_ids(texts), vectorizer.pure_python().padded_ids(texts))


def test_a_file_cannot_name_one_tokenizer_and_run_the_other() -> None:
    with pytest.raises(ImdbEdgeError, match="names tokenizer ascii-split-neg-v1 but sets negation = false"):
        VectorizerConfig.from_dict({"tokenizer": NEGATION_TOKENIZER_NAME, "negation": False})
    with pytest.raises(ImdbEdgeError, match="names tokenizer ascii-split-v1 but sets negation = true"):
        VectorizerConfig.from_dict({"tokenizer": TOKENIZER_NAME, "negation": True})
    assert VectorizerConfig.from_dict({"negation": True}).negation  # a setting alone (TOML) is fine
