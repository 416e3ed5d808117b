"""The compiled vectorizer (runtime/_fastvec.c) gives exactly the ids of the Python definition."""

from __future__ import annotations

import os
import re
import shutil
import sysconfig
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime import vectorizer as module
from imdb_edge.runtime.vectorizer import PURE_PYTHON_ENV, Vectorizer, VectorizerConfig, implementation
from tests.helpers import ROOT


def _can_compile() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which(compiler) is not None and headers.is_file()


native = pytest.mark.skipif(module._native is None, reason="native vectorizer not built or forced off")


def test_native_vectorizer_is_loaded_where_it_can_be_built() -> None:
    """CI has a compiler: if the extension did not build or load there, this fails."""
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        assert implementation() == "python"
        pytest.skip(f"{PURE_PYTHON_ENV} is set: pure Python forced")
    if not _can_compile():
        pytest.skip("no C compiler or Python headers here: the pure-Python path is expected")
    assert implementation() == "native", "a compiler is present but imdb_edge.runtime._fastvec did not load"


CORPUS = [
    "A great movie.<br /><br />Great acting! Not good at all, not bad",
    "Awful, awful film; a waste of time. Café crème: naïve but GREAT",
    "The plot was great but the ending was awful ÉCOLE école \x00nul\x00 tab\there",
    "not good at all, the movie, the movie was not good; was it? \ud800lone surrogate\udfff",
    "日本語 のレビュー great great 🎬 movie 🎬 movie",
]

WORDS = [
    "great", "GREAT", "Great", "not", "good", "at", "all", "the", "movie", "awful", "café", "Café", "naïve",
    "école", "ÉCOLE", "\x00nul\x00", "nul", "\ud800lone", "surrogate\udfff", "日本語", "🎬", "br", "BR", "bR",
]  # fmt: skip
SEPARATORS = [" ", "  ", ",", ".", "<br />", "<br /><br />", "\t", "\n", "\r\n", "--", "'", "\x0b", "\x0c", "\u00a0"]

# Arbitrary code points, surrogates and NUL included; the vocabulary's words, in any case; markup and long tokens.
_ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())
_PIECES = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(SEPARATORS),
    st.text(_ANY_CHAR, max_size=6),
    st.text(st.sampled_from("abcXYZé\x00"), min_size=200, max_size=2000),
)
TEXTS = st.lists(st.tuples(_PIECES, st.sampled_from(["", *SEPARATORS])).map("".join), max_size=40).map("".join)


def _vectorizers(ngram_max: int) -> Vectorizer:
    """Every pair and many triples of WORDS are in the vocabulary, so a token out of place changes the ids."""
    pairs = [f"{a} {b}, {b} {a}" for i, a in enumerate(WORDS) for b in WORDS[i:]]
    triples = [" ".join(WORDS[i : i + 3] + WORDS[::-1][i : i + 3]) for i in range(len(WORDS))]
    return Vectorizer.fit(CORPUS + pairs + triples, VectorizerConfig(max_features=5000, ngram_max=ngram_max))


VECTORIZERS = {n: _vectorizers(n) for n in (1, 2, 3, 5)}


@native
@pytest.mark.parametrize("ngram_max", sorted(VECTORIZERS))
@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_native_ids_equal_python_ids_on_any_text(ngram_max: int, text: str) -> None:
    vec = VECTORIZERS[ngram_max]
    assert vec.implementation == "native"
    expected = vec.pure_python().feature_ids(text)
    got = vec.feature_ids(text)
    assert got.dtype == np.int64
    assert got.tolist() == expected.tolist()


@native
@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_native_tokens_equal_python_tokens(text: str) -> None:
    assert VECTORIZERS[1]._native.tokens(text) == module.tokenize_bytes(text)


@native
@pytest.mark.parametrize("ngram_max", [1, 3])
@settings(max_examples=100, deadline=None)
@given(texts=st.lists(TEXTS, max_size=6), min_length=st.integers(0, 4))
def test_native_batch_forms_equal_python_batch_forms(ngram_max: int, texts: list[str], min_length: int) -> None:
    vec = VECTORIZERS[ngram_max]
    pure = vec.pure_python()
    np.testing.assert_array_equal(vec.padded_ids(texts, min_length), pure.padded_ids(texts, min_length))
    for got, expected in zip(vec.feature_ids_batch(texts), pure.feature_ids_batch(texts), strict=True):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(vec.multi_hot(texts), pure.multi_hot(texts))


# Vocabularies a user could write by hand: uppercase, separators, empty parts, surrogates, long n-grams.
_TERM = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    st.text(_ANY_CHAR, max_size=5),
    st.sampled_from(["", " ", "a  b", " great", "great ", "not good", "br", "at all", "a,b", "the\tmovie"]),
)


@native
@settings(max_examples=200, deadline=None)
@given(
    vocabulary=st.lists(_TERM, min_size=1, max_size=30, unique=True),
    ngram_max=st.integers(1, 5),
    texts=st.lists(TEXTS, min_size=1, max_size=4),
)
def test_native_equals_python_for_any_vocabulary(vocabulary: list[str], ngram_max: int, texts: list[str]) -> None:
    config = VectorizerConfig(max_features=len(vocabulary), ngram_max=ngram_max)
    try:
        vec = Vectorizer(config, vocabulary)
    except ImdbEdgeError as exc:  # e.g. "" and " ": both hash like an empty token; native must refuse them too
        assert "same fingerprint" in str(exc)
        with pytest.raises(ValueError, match="same fingerprint"):
            module._native.Fingerprints(_fingerprint_bytes(vocabulary), ngram_max)
        return
    assert vec.implementation == "native"
    pure = vec.pure_python()
    for text in [*texts, " ".join(vocabulary)]:
        assert vec.feature_ids(text).tolist() == pure.feature_ids(text).tolist()


_FEW_WORDS = st.sampled_from(["a", "b", "the", "br", "x"])


@native
@settings(max_examples=300, deadline=None)
@given(
    grams=st.lists(st.lists(_FEW_WORDS, min_size=1, max_size=5), min_size=1, max_size=25),
    ngram_max=st.integers(2, 5),
    text=st.lists(_FEW_WORDS, max_size=60),
)
def test_native_equals_python_when_prefixes_of_terms_are_not_terms(
    grams: list[list[str]], ngram_max: int, text: list[str]
) -> None:
    """Terms whose prefixes are not terms (the string tables once probed long n-grams only after their prefix)."""
    vocabulary = sorted({" ".join(words) for words in grams})
    vec = Vectorizer(VectorizerConfig(max_features=len(vocabulary), ngram_max=ngram_max), vocabulary)
    assert vec.feature_ids(" ".join(text)).tolist() == vec.pure_python().feature_ids(" ".join(text)).tolist()


@native
def test_trigrams_are_found_without_their_bigram_prefix_in_the_vocabulary() -> None:
    vec = Vectorizer(VectorizerConfig(max_features=3, ngram_max=4), ["a b c", "b c d e", "c"])
    assert vec.feature_ids("x a b c d e").tolist() == [0, 1, 2]
    assert vec.feature_ids("a b x c d e").tolist() == [2]


@native
def test_native_equals_python_for_a_large_vocabulary_of_long_ngrams() -> None:
    """5-grams over 6,000 distinct tokens: a table of thousands of slots, most n-grams of the text found."""
    words = [f"w{i}" for i in range(6000)]
    grams = [" ".join(words[i : i + 5]) for i in range(0, 6000, 5)]
    vec = Vectorizer(VectorizerConfig(max_features=len(words) + len(grams), ngram_max=5), words + grams)
    pure = vec.pure_python()
    assert vec.implementation == "native"
    text = " ".join(words[:3000]) + " " + " ".join(reversed(words[3000:]))
    assert vec.feature_ids(text).tolist() == pure.feature_ids(text).tolist()
    assert vec.feature_ids(text).size > 3000


@native
def test_native_refuses_what_python_refuses() -> None:
    vec = VECTORIZERS[1]
    with pytest.raises(TypeError):
        vec.feature_ids(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vec.padded_ids(["ok", 3])  # type: ignore[list-item]


BUCKETS = (1, 7, 1000, 2**21, 2**28)
HASHERS = {
    (b, n): Vectorizer(VectorizerConfig(hash_buckets=b, ngram_max=n), None) for b in BUCKETS for n in range(1, 6)
}


def _block_edge_texts() -> list[str]:
    """Tokens and separator runs that start, end or cross the native tokenizer's 64-byte block edges."""
    texts = []
    for k in range(0, 200):
        texts += ["x" * k + " " + "Yé" * (k % 70), " " * k + "br" + ",Br " + "z" * (130 - k % 131), "ab " * k + "c"]
        texts += ["q" * k, "." * k + "w", "br " * k]
    return texts


@native
def test_native_tokens_at_block_edges() -> None:
    for text in _block_edge_texts():
        assert VECTORIZERS[1]._native.tokens(text) == module.tokenize_bytes(text), text
        hashed = HASHERS[2**21, 2]
        assert hashed.feature_ids(text).tolist() == hashed.pure_python().feature_ids(text).tolist(), text


@native
@pytest.mark.parametrize("ngram_max", range(1, 6))
@pytest.mark.parametrize("buckets", BUCKETS)
@settings(max_examples=60, deadline=None)
@given(text=TEXTS)
def test_native_hashed_ids_equal_python_hashed_ids_on_any_text(buckets: int, ngram_max: int, text: str) -> None:
    vec = HASHERS[buckets, ngram_max]
    assert vec.implementation == "native" and vec.size == buckets
    expected = vec.pure_python().feature_ids(text)
    got = vec.feature_ids(text)
    assert got.dtype == np.int64
    assert got.tolist() == expected.tolist()
    assert all(0 <= i < buckets for i in got.tolist())


@native
@pytest.mark.parametrize("ngram_max", [1, 3, 5])
@pytest.mark.parametrize("buckets", [7, 2**21])
@settings(max_examples=60, deadline=None)
@given(texts=st.lists(TEXTS, max_size=6), min_length=st.integers(0, 4))
def test_native_hashed_batch_forms_equal_python_batch_forms(
    buckets: int, ngram_max: int, texts: list[str], min_length: int
) -> None:
    vec = HASHERS[buckets, ngram_max]
    pure = vec.pure_python()
    padded = vec.padded_ids(texts, min_length)
    np.testing.assert_array_equal(padded, pure.padded_ids(texts, min_length))
    assert (padded[:, -1:] <= buckets).all()  # the padding id is the bucket count
    for got, expected in zip(vec.feature_ids_batch(texts), pure.feature_ids_batch(texts), strict=True):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)


@native
def test_native_hashed_ids_of_known_text() -> None:
    """The buckets of a plain sentence, worked out from zlib.crc32 and splitmix64 by hand (no shared code)."""
    import zlib

    def mix(x: int) -> int:
        mask = 2**64 - 1
        x ^= x >> 30
        x = (x * 0xBF58476D1CE4E5B9) & mask
        x ^= x >> 27
        x = (x * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    keys = [zlib.crc32(t) for t in (b"not", b"good", b"at", b"all")]
    unigrams = [mix(k ^ 0x9E3779B97F4A7C15) for k in keys]
    bigrams = [mix(h ^ k) for h, k in zip(unigrams, keys[1:], strict=False)]
    expected = sorted({((h >> 32) * 1000) >> 32 for h in unigrams + bigrams})
    vec = HASHERS[1000, 2]
    assert vec.feature_ids("NOT good<br />at, all br").tolist() == expected


@native
@pytest.mark.parametrize("kind", ["vocabulary", "hashed"])
def test_native_batch_runs_in_threads_with_identical_results(kind: str) -> None:
    vec = VECTORIZERS[3] if kind == "vocabulary" else HASHERS[2**21, 3]
    # Texts over 4 KiB release the GIL in ids() too; those over 64 KiB size their scratch by counting tokens.
    texts = [CORPUS[i % len(CORPUS)] * (1 + i % 7) + " long" * (i * 70) for i in range(200)]
    pure = vec.pure_python()
    expected = pure.padded_ids(texts)
    results: list[tuple[np.ndarray, list[np.ndarray]]] = []

    def work() -> None:
        results.append((vec.padded_ids(texts), [vec.feature_ids(t) for t in texts[::10]]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for padded, rows in results:
        np.testing.assert_array_equal(padded, expected)
        for row, text in zip(rows, texts[::10], strict=True):
            np.testing.assert_array_equal(row, pure.feature_ids(text))


@native
@pytest.mark.parametrize(
    ("buckets", "ngram_max", "message"),
    [
        (0, 1, "buckets must be between 1 and 268435456, got 0"),
        (2**28 + 1, 1, "buckets must be between 1 and 268435456, got 268435457"),
        (-5, 3, "buckets must be between 1 and 268435456, got -5"),
        (2**80, 3, "buckets must be between 1 and 268435456"),
        (10, 0, "ngram_max must be between 1 and 5, got 0"),
        (10, 6, "ngram_max must be between 1 and 5, got 6"),
    ],
)
def test_native_hasher_refuses_bad_arguments(buckets: int, ngram_max: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        module._native.Hasher(buckets, ngram_max)


@native
def test_native_hasher_refuses_misuse() -> None:
    hasher_type = module._native.Hasher
    assert len(hasher_type(2**28, 5).ids("a b")) == 3 * 8  # two unigrams and a bigram, as int64
    with pytest.raises(TypeError):
        hasher_type("10", 1)
    with pytest.raises(TypeError):
        hasher_type(10.0, 1)
    with pytest.raises(RuntimeError, match="not initialized"):
        hasher_type.__new__(hasher_type).ids("text")
    with pytest.raises(RuntimeError, match="already initialized"):
        hasher_type(10, 1).__init__(20, 2)
    vec = HASHERS[7, 1]
    with pytest.raises(TypeError):
        vec.feature_ids(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vec.padded_ids(["ok", 3])  # type: ignore[list-item]


def _fingerprint_bytes(terms: list[str]) -> bytes:
    return module.term_fingerprints(terms).astype("<u8").tobytes()


def _u64(values: list[int]) -> bytes:
    return np.array(values, dtype="<u8").tobytes()


@native
@pytest.mark.parametrize(
    ("data", "ngram_max", "error", "message"),
    [
        (b"", 1, ValueError, "fingerprint_bytes must hold between 1 and 2147483647 fingerprints, got 0"),
        (b"\0" * 12, 1, ValueError, "fingerprint_bytes must be 8-byte fingerprints, got 12 bytes"),
        (b"\0" * 8, 0, ValueError, "ngram_max must be between 1 and 5, got 0"),
        (b"\0" * 8, 6, ValueError, "ngram_max must be between 1 and 5, got 6"),
        (b"\0" * 8, 2**70, ValueError, "ngram_max must be between 1 and 5"),
        (_u64([7, 3, 7]), 2, ValueError, "the vocabulary has two terms with the same fingerprint"),
        (_u64([0, 0]), 1, ValueError, "the vocabulary has two terms with the same fingerprint"),
        ("text", 1, TypeError, "bytes-like object"),
        (b"\0" * 8, 1.0, TypeError, "int"),
    ],
)
def test_native_fingerprints_refuse_bad_arguments(data: object, ngram_max: object, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        module._native.Fingerprints(data, ngram_max)


@native
def test_native_fingerprints_refuse_misuse() -> None:
    fingerprints_type = module._native.Fingerprints
    with pytest.raises(RuntimeError, match="not initialized"):
        fingerprints_type.__new__(fingerprints_type).ids("text")
    with pytest.raises(RuntimeError, match="already initialized"):
        fingerprints_type(_u64([1]), 1).__init__(_u64([2]), 1)
    with pytest.raises(TypeError):
        VECTORIZERS[3].padded_ids(["ok", 3])  # type: ignore[list-item]


@native
def test_native_fingerprints_probe_past_colliding_slots_and_wrap_around() -> None:
    """Fingerprints made to share home slots (the top bits) fill the table's end and wrap to its start: a real
    term whose home is slot 0 sits behind them, and fingerprints 0 and 2**64 - 1 are ordinary keys."""
    words = [f"w{i}" for i in range(4000)]
    prints = module.term_fingerprints(words)
    # 22 terms: a 64-slot table, home slot = top 6 bits.
    word = next(w for w, f in zip(words, prints.tolist(), strict=True) if f >> 58 == 0)
    near = next(w for w, f in zip(words, prints.tolist(), strict=True) if f >> 58 == 1)
    decoys = [(63 << 58) | i for i in range(18)] + [0, 2**64 - 1]
    table = module._native.Fingerprints(_u64(decoys) + _fingerprint_bytes([word, near]), 1)
    assert np.frombuffer(table.ids(f"{near} x {word} {word}"), dtype=np.int64).tolist() == [20, 21]
    assert np.frombuffer(table.ids("w4001 zzz"), dtype=np.int64).tolist() == []
    assert np.frombuffer(table.padded(["", word], 2)[0], dtype=np.int64).tolist() == [22, 22, 20, 22]


@native
def test_vocabulary_vectorizers_use_the_native_fingerprints() -> None:
    assert all(vec.implementation == "native" for vec in VECTORIZERS.values())
    assert type(VECTORIZERS[3]._native).__name__ == "Fingerprints"
    assert not hasattr(module._native, "Lookup")  # the string tables are gone: one lookup, by fingerprint


def test_pure_python_env_forces_the_definition(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "from imdb_edge.runtime.vectorizer import implementation; print(implementation())"
    env = {**os.environ, PURE_PYTHON_ENV: "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "python"


@native
def test_classify_file_gives_the_same_lines_with_either_vectorizer(tmp_path: Path) -> None:
    """The whole CLI path (workers included) with each implementation, in real processes."""
    import subprocess
    import sys

    from imdb_edge.data.reviews import sample_reviews

    source = tmp_path / "reviews.txt"
    source.write_text("".join(t.replace("\n", " ").replace("\r", " ") + "\n" for t in sample_reviews()[:64]))
    outputs = {}
    for pure in ("0", "1"):
        out = tmp_path / f"out{pure}.jsonl"
        command = [sys.executable, "-m", "imdb_edge", "classify", "--file", str(source), "--workers", "2"]
        done = subprocess.run(
            [*command, "--json", "--output", str(out)],
            env={**os.environ, PURE_PYTHON_ENV: pure},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs[pure] = out.read_text()
    assert outputs["0"] == outputs["1"] and outputs["0"].count("\n") == 64


@pytest.mark.slow
def test_install_without_a_compiler_succeeds_with_a_note(tmp_path: Path) -> None:
    """No working C compiler: the wheel still builds (pure Python), and the build log says why."""
    import subprocess
    import sys
    import zipfile

    root = ROOT
    source = tmp_path / "source"  # a clean copy: no build/ folder or built extension from earlier builds
    for name in ("pyproject.toml", "setup.py", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / name, source / name)
    shutil.copytree(root / "imdb_edge", source / "imdb_edge", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    env = {**os.environ, "CC": "/bin/false"}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "imdb-edge: native vectorizer not built" in done.stdout + done.stderr
    (wheel,) = tmp_path.glob("imdb_edge-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "imdb_edge/runtime/vectorizer.py" in names
    assert not [n for n in names if n.endswith(".so")]


@native
@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(_ANY_CHAR, max_size=12), min_size=1, max_size=20))
def test_native_term_fingerprints_equal_the_definition(terms: list[str]) -> None:
    """Terms of any text (spaces, empty tokens, uppercase, surrogates; newlines take the Python path)."""
    expected = module._python_term_fingerprints(terms)
    assert module.term_fingerprints(terms).tolist() == expected.tolist()


# ---- the dedupe paths: a two-level bitmap (vocabularies up to 2**20 features, texts with more than 32 ids) and
# ---- a radix sort (bigger vocabularies, or few ids next to the bitmap's size); both must give the same ids.

_EDGE_BUCKETS = (1, 7, 4096, 4097, 2**20 - 1, 2**20, 2**20 + 1, 2**22, 2**28)
_EDGE_HASHERS = {b: Vectorizer(VectorizerConfig(hash_buckets=b, ngram_max=3), None) for b in _EDGE_BUCKETS}
_POOL = [f"w{i}" for i in range(3000)] + ["W7", "w7", "Été", "br"]


@native
@pytest.mark.parametrize("buckets", _EDGE_BUCKETS)
@settings(max_examples=40, deadline=None)
@given(words=st.lists(st.sampled_from(_POOL), max_size=700), repeat=st.integers(1, 3))
def test_native_hashed_ids_on_both_sides_of_the_bitmap_threshold(buckets: int, words: list[str], repeat: int) -> None:
    """0 to ~2,000 ids before dedupe, repeats included, for bucket counts on both sides of 2**20 (and 2**28)."""
    vec = _EDGE_HASHERS[buckets]
    text = " ".join(words * repeat)
    got = vec.feature_ids(text)
    assert got.tolist() == vec.pure_python().feature_ids(text).tolist()
    assert all(0 <= i < buckets for i in got.tolist())
    np.testing.assert_array_equal(vec.padded_ids([text], 3)[0, : got.size], got)


_EDGE_WORDS = [f"t{i}" for i in range(9000)]
_EDGE_VOCABULARY = Vectorizer(VectorizerConfig(max_features=len(_EDGE_WORDS)), _EDGE_WORDS)  # id i = word t{i}
# ids at the bitmap's edges: the first and last id, the ends of level-0 words (64 ids) and level-1 words (4096)
_EDGE_IDS = [0, 1, 62, 63, 64, 65, 127, 128, 4095, 4096, 4097, 8191, 8192, 8960, 8999]


@native
@settings(max_examples=150, deadline=None)
@given(
    ids=st.lists(st.one_of(st.sampled_from(_EDGE_IDS), st.integers(0, 8999)), max_size=300),
    repeat=st.integers(1, 4),
    noise=st.lists(st.sampled_from(["x", "y z", "<br />", "T5 t5", "\u00e9t\u00e9"]), max_size=20),
)
def test_native_vocabulary_ids_are_sorted_unique_at_the_bitmap_edges(
    ids: list[int], repeat: int, noise: list[str]
) -> None:
    text = " ".join([_EDGE_WORDS[i] for i in ids] * repeat + noise)
    expected = sorted(set(ids) | ({5} if "T5 t5" in noise else set()))
    assert _EDGE_VOCABULARY.feature_ids(text).tolist() == expected
    assert _EDGE_VOCABULARY.pure_python().feature_ids(text).tolist() == expected


@native
def test_native_scratch_is_clean_between_calls() -> None:
    """Kernel-owned scratch (short texts) and per-call scratch (long texts, batches), alternating on one kernel:
    a text with many ids, then one with few, then the same word 20,000 times, in every entry point."""
    vec, pure = _EDGE_VOCABULARY, _EDGE_VOCABULARY.pure_python()
    many = " ".join(_EDGE_WORDS[::7])  # over 4 KiB: per-call scratch in ids()
    some = " ".join(_EDGE_WORDS[:600:3])  # under 4 KiB: the kernel's scratch, bitmap path
    few = "t3 t1 t2 t3"  # insertion sort
    repeated = "t8999 " * 20_000  # one id, 20,000 times
    texts = [many, some, few, repeated, "", some, many, few]
    for text in texts + texts[::-1]:
        assert vec.feature_ids(text).tolist() == pure.feature_ids(text).tolist()
        for batch in ([text], (text,), [text, few]):
            np.testing.assert_array_equal(vec.padded_ids(batch, 2), pure.padded_ids(batch, 2))
    np.testing.assert_array_equal(vec.feature_ids_batch(texts)[0], pure.feature_ids_batch(texts)[0])
    assert vec.feature_ids(repeated).tolist() == [8999]


@native
@pytest.mark.parametrize("text", ["a great movie", "x" * 5000 + " t1", ""])
@pytest.mark.parametrize("min_length", [-3, 0, 1, 2, 50])
def test_native_padded_of_one_text(text: str, min_length: int) -> None:
    """One text (list or tuple, short or past 4 KiB): the fast path and the batch path give the same row."""
    native = VECTORIZERS[3]._native
    expected = VECTORIZERS[3].pure_python().padded_ids([text], min_length)
    for batch in ([text], (text,)):
        data, width = native.padded(batch, min_length)
        assert width == expected.shape[1]
        assert np.frombuffer(data, dtype=np.int64).tolist() == expected[0].tolist()
    with pytest.raises(TypeError, match="expected str, got bytes"):
        native.padded([b"bytes"], 1)
    for batch in ([text], [text, "x"]):  # a width no memory could hold: refused, not wrapped around
        with pytest.raises(MemoryError):
            native.padded(batch, 2**61)


@native
@pytest.mark.parametrize("offset", range(0, 20))
def test_native_token_keys_of_every_length_near_the_text_start(offset: int) -> None:
    """Tokens of 1 to 40 bytes, preceded by `offset` bytes of text: the CRC reads up to 16 bytes before a token's
    end and masks off what is not the token (ASCII letters of any case, bytes >= 0x80, digits, NUL)."""
    vec = HASHERS[2**21, 2]
    pure = vec.pure_python()
    alphabet = "aZ9\u00c3\u00e9\x00Q\u00dax"
    for length in range(1, 41):
        token = "".join(alphabet[(i * 7 + length) % len(alphabet)] for i in range(length))
        for text in ("," * offset + token, "Yz" * (offset // 2) + "." + token + " " + token.upper()):
            assert vec.feature_ids(text).tolist() == pure.feature_ids(text).tolist(), (offset, length, text)


@native
def test_native_fingerprints_build_releases_the_gil() -> None:
    """The table is built without the GIL, so the caller can create its onnxruntime session meanwhile: while
    another thread builds a 4,000,000-term table, this thread keeps running (no gap near the build's length; the
    table is big enough that the build, about half a second, outlasts a busy machine's scheduling gaps)."""
    import sys
    import time

    data = np.random.default_rng(0).integers(0, 2**63, 4_000_000, dtype=np.uint64).astype("<u8").tobytes()
    built: list[object] = []
    thread = threading.Thread(target=lambda: built.append(module._native.Fingerprints(data, 3)))
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        ticks = [time.perf_counter()]
        thread.start()
        while thread.is_alive():
            ticks.append(time.perf_counter())
        thread.join()
        ticks.append(time.perf_counter())
    finally:
        sys.setswitchinterval(switch)
    assert len(built) == 1
    assert max(np.diff(ticks)) < 0.5 * (ticks[-1] - ticks[0]), "the main thread stalled for the whole build"
    words = [f"w{i}" for i in range(50)]
    table = module._native.Fingerprints(_fingerprint_bytes(words), 1)
    assert np.frombuffer(table.ids("w3 w49 zz w0"), dtype=np.int64).tolist() == [0, 3, 49]
