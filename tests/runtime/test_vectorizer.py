from __future__ import annotations

import json
import string
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig, tokenize

CORPUS = [
    "A great movie.<br /><br />Great acting!",
    "Awful, awful film; a waste of time.",
    "The plot was great but the ending was awful",
    "Café crème: naïve but GREAT",
]


def test_tokenizer_rules() -> None:
    assert tokenize("Hello, WORLD!<br />It's fine") == ["hello", "world", "it", "s", "fine"]
    assert tokenize("tab\there\nnew\r\nline") == ["tab", "here", "new", "line"]
    # Only ASCII letters are lowercased (like the C locale); other letters stay as they are.
    assert tokenize("ÉCOLE École") == ["École", "École"]
    assert tokenize("naïve—café") == ["naïve—café"]
    assert tokenize("") == [] and tokenize("  \n\t ") == [] and tokenize("<br /><br />") == []
    assert tokenize("br bra abr") == ["bra", "abr"]


def test_fit_ranks_by_document_frequency_then_bytes() -> None:
    vec = Vectorizer.fit(CORPUS, VectorizerConfig(max_features=4))
    # 'great' is in 3 documents, 'a' 'awful' 'but' 'the' 'was' in 2 (ties in byte order).
    assert vec.vocabulary == ["great", "a", "awful", "but"]


def test_feature_ids_are_sorted_unique_and_ignore_unknown_words() -> None:
    vec = Vectorizer.fit(CORPUS, VectorizerConfig(max_features=50))
    ids = vec.feature_ids("great GREAT great zzzunknown awful")
    assert ids.dtype == np.int64
    assert ids.tolist() == sorted({vec.vocabulary.index("great"), vec.vocabulary.index("awful")})
    assert vec.feature_ids("zzz qqq").size == 0
    assert vec.feature_ids("").size == 0


def test_multi_hot_padded_and_ragged_forms_agree() -> None:
    vec = Vectorizer.fit(CORPUS, VectorizerConfig(max_features=50))
    texts = [*CORPUS, "", "unknown words only"]
    dense = vec.multi_hot(texts)
    padded = vec.padded_ids(texts)
    ids, offsets = vec.feature_ids_batch(texts)
    assert dense.shape == (len(texts), vec.size) and set(np.unique(dense)) <= {0.0, 1.0}
    for row, text in enumerate(texts):
        expected = vec.feature_ids(text)
        assert np.flatnonzero(dense[row]).tolist() == expected.tolist()
        assert ids[offsets[row] : offsets[row + 1]].tolist() == expected.tolist()
        assert [i for i in padded[row].tolist() if i != vec.size] == expected.tolist()


def test_ngrams_are_joined_by_one_space() -> None:
    vec = Vectorizer.fit(["not good at all", "not good"], VectorizerConfig(max_features=20, ngram_max=2))
    assert "not good" in vec.vocabulary and "good at" in vec.vocabulary
    ids = vec.feature_ids("NOT... good!")
    assert vec.vocabulary.index("not good") in ids.tolist()


def test_json_round_trip_keeps_every_feature() -> None:
    vec = Vectorizer.fit(CORPUS, VectorizerConfig(max_features=30, ngram_max=2))
    again = Vectorizer.from_json(vec.to_json())
    assert again.vocabulary == vec.vocabulary and again.config == vec.config
    assert again.fingerprint() == vec.fingerprint()
    for text in CORPUS:
        np.testing.assert_array_equal(again.feature_ids(text), vec.feature_ids(text))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"format": "other"}', "missing format tag"),
        ('{"format": "imdb-edge-vectorizer", "version": 99}', "version"),
        ('{"format": "imdb-edge-vectorizer", "version": 1, "vocabulary": [1, 2], "config": {}}', "list of strings"),
        ('{"format": "imdb-edge-vectorizer", "version": 1, "vocabulary": [], "config": {}}', "empty"),
        ('{"format": "imdb-edge-vectorizer", "version": 1, "vocabulary": ["a", "a"], "config": {}}', "duplicate"),
        ('{"format": "imdb-edge-vectorizer", "version": 1, "vocabulary": ["a"], "config": {"x": 1}}', "unknown"),
        (
            '{"format": "imdb-edge-vectorizer", "version": 1, "vocabulary": ["a"], "config": {"tokenizer": "bpe"}}',
            "tokenizer",
        ),
    ],
)
def test_bad_vectorizer_json_is_refused(payload: str, message: str) -> None:
    with pytest.raises(ImdbEdgeError, match=message):
        Vectorizer.from_json(payload)


@pytest.mark.parametrize(
    "kwargs", [{"max_features": 0}, {"ngram_max": 0}, {"ngram_max": 9}, {"min_df": 0}, {"weighting": "magic"}]
)
def test_bad_vectorizer_config_is_refused(kwargs: dict) -> None:
    with pytest.raises(ImdbEdgeError):
        VectorizerConfig(**kwargs)


_VEC = Vectorizer.fit(CORPUS, VectorizerConfig(max_features=40, ngram_max=2))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_unicode_text_vectorizes_deterministically(text: str) -> None:
    first = _VEC.feature_ids(text)
    assert np.array_equal(first, _VEC.feature_ids(text))
    assert first.size == 0 or (first.min() >= 0 and first.max() < _VEC.size)
    assert np.all(np.diff(first) > 0)
    tokens = tokenize(text)
    assert all(tok and " " not in tok and tok != "br" for tok in tokens)
    assert json.dumps(tokens)  # tokens are plain strings


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8")), max_size=8))
def test_batch_forms_match_single_text_form(texts: list[str]) -> None:
    ids, offsets = _VEC.feature_ids_batch(texts)
    assert len(offsets) == len(texts) + 1
    for row, text in enumerate(texts):
        assert ids[offsets[row] : offsets[row + 1]].tolist() == _VEC.feature_ids(text).tolist()


def reference_tokenize(text: str) -> list[str]:
    """The tokenizer's definition, written the slow, obvious way."""
    separators = set(string.whitespace + string.punctuation)
    lowered = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
    tokens, current = [], []
    for char in lowered:
        if char in separators:
            tokens.append("".join(current))
            current = []
        else:
            current.append(char)
    tokens.append("".join(current))
    return [t for t in tokens if t and t != "br"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"ab rR<>/.,'\t\n\u00a0é", "br", "BR", " br ", "<br />"])).map("".join))
def test_fast_tokenizer_matches_its_definition_on_tricky_text(text: str) -> None:
    assert tokenize(text) == reference_tokenize(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fast_tokenizer_matches_its_definition_on_any_text(text: str) -> None:
    assert tokenize(text) == reference_tokenize(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["not", "good", "bad", "at", "all", "the", "movie", "br", "x", ",", " ", "<br />"])))
def test_fingerprint_lookup_finds_exactly_the_string_ngrams(words: list[str]) -> None:
    """Terms are matched by their 64-bit fingerprints: the ids are those of the n-gram strings."""
    from imdb_edge.runtime import vectorizer as module

    corpus = ["not good at all", "not bad", "the movie not good", "all the movie x x"]
    text = " ".join(words)
    for n in (1, 2, 3):
        vec = Vectorizer.fit(corpus, VectorizerConfig(max_features=100, ngram_max=n))
        index = {term.encode(): i for i, term in enumerate(vec.vocabulary)}
        strings = set(map(index.get, module._ngrams(module.tokenize_bytes(text), n)))
        strings.discard(None)
        assert vec.pure_python().feature_ids(text).tolist() == sorted(strings)
        assert vec.feature_ids(text).tolist() == sorted(strings)
        stored = Vectorizer.from_json(vec.to_json(compact=True))
        assert stored.vocabulary == vec.vocabulary and stored.feature_ids(text).tolist() == sorted(strings)


def test_fit_keeps_the_more_frequent_of_two_terms_with_one_fingerprint() -> None:
    """'nidmovh' and 'bubanxn' have one CRC-32, so they (and every n-gram they end) share a fingerprint."""
    assert zlib.crc32(b"nidmovh") == zlib.crc32(b"bubanxn")
    texts = ["nidmovh good", "nidmovh good bad", "bubanxn good", "nidmovh fine"]
    vectorizer = Vectorizer.fit(texts, VectorizerConfig(max_features=6, ngram_max=2))
    assert "nidmovh" in vectorizer.vocabulary and "bubanxn" not in vectorizer.vocabulary
    assert "nidmovh good" in vectorizer.vocabulary and "bubanxn good" not in vectorizer.vocabulary
    assert len(vectorizer.vocabulary) == 6  # the places of the dropped terms go to the next candidates
