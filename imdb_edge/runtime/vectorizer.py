"""Text -> model input, the one implementation shared by training and the device.

The tokenizer is deliberately simple so that it can be reproduced exactly, both by
this numpy code and by standard ONNX string operators:

1. encode as UTF-8;
2. ASCII letters are lowercased (other letters are left as they are, like the `C`
   locale does);
3. every ASCII whitespace or punctuation character separates tokens;
4. the token ``br`` (what is left of the ``<br />`` markup in IMDB reviews) is
   dropped.

Tokenizer ``ascii-split-neg-v1`` (``negation``) also marks negated words, so that "not
good" and "good" are told apart beyond the n-grams that hold both: after a negator token
(``NEGATORS``; the ``t`` of ``n't``: the bytes ``n't`` in the text; or a token ending in
``n\u2019t``, with the typographic apostrophe U+2019, which is not a separator), every token up
to the next clause end (one of ``.,:;!?<``; ``<`` opens IMDB's ``<br />``) becomes ``~``
+ token. ``~`` is a separator, so no plain token can look like a marked one.

Features are the word n-grams (n = 1..ngram_max) of that token sequence. Every n-gram
gets a 64-bit hash (``crc32-mix64-v1``):

1. each token's key is its zlib CRC-32 (t);
2. a unigram's hash is mix(t1 XOR 0x9E3779B97F4A7C15), an n-gram's is mix(hash of its
   (n-1)-gram prefix XOR t_n), with mix the splitmix64 finalizer on wrapping 64-bit
   integers (the seed keeps a token whose CRC-32 is 0 from making "x y" hash like "y").

The vocabulary holds the `max_features` n-grams (terms: tokens joined by a single space)
found in the most training documents; an n-gram has the feature of the term with the same
hash (the term's fingerprint), so lookups compare 64-bit integers, never strings, and
model files store 8 bytes a term. With ``hash_buckets`` set there is no vocabulary at all:
the feature is the bucket ((hash >> 32) * hash_buckets) >> 32 (the fastText idea), and
every n-gram of any review counts. A review becomes the set of feature ids it contains
(multi-hot), optionally scaled per feature (`feature_weights`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import os
import re
import string
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from imdb_edge.choices import WEIGHTINGS
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.typecheck import check_type

TOKENIZER_NAME = "ascii-split-v1"
NEGATION_TOKENIZER_NAME = "ascii-split-neg-v1"
NEGATORS = (b"no", b"not", b"never", b"nothing", b"nobody", b"none", b"neither", b"nor", b"cannot", b"without")
CLAUSE_ENDS = b".,:;!?<"
NEGATED_PREFIX = b"~"
TYPOGRAPHIC_NT = "n\u2019t".encode()
SEPARATORS = string.whitespace + string.punctuation
STOP_TOKENS = ("br",)
FORMAT_NAME = "imdb-edge-vectorizer"
FORMAT_VERSION = 1
FINGERPRINTS_VERSION = 2
"""Version of documents that store term fingerprints instead of terms (older readers refuse them clearly)."""

_SEP_BYTES = SEPARATORS.encode("ascii")
_TABLE = bytes.maketrans(
    _SEP_BYTES + string.ascii_uppercase.encode("ascii"),
    b" " * len(_SEP_BYTES) + string.ascii_lowercase.encode("ascii"),
)
_STOP_PADDED = tuple(b" " + t.encode("ascii") + b" " for t in STOP_TOKENS)
_STOP_BYTES = frozenset(t.encode("ascii") for t in STOP_TOKENS)
_NEGATOR_SET = frozenset(NEGATORS)
_LOWER_ONLY = bytes.maketrans(string.ascii_uppercase.encode("ascii"), string.ascii_lowercase.encode("ascii"))
_TOKEN_RUN = re.compile(b"[^" + re.escape(_SEP_BYTES) + b"]+")
HASH_NAME = "crc32-mix64-v1"
MAX_HASH_BUCKETS = 2**28
PURE_PYTHON_ENV = "IMDB_EDGE_PURE_PYTHON"
_INT64 = np.dtype(np.int64)  # the kernel's native int64 ids


def _load_native() -> Any:
    """The compiled hot path (imdb_edge/runtime/_fastvec.c), or None: not built, or forced off."""
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return None
    try:
        from imdb_edge.runtime import _fastvec  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _fastvec


_native = _load_native()


def implementation() -> str:
    """Which vectorizer runs here: "native" (compiled) or "python" (the definition)."""
    return "native" if _native is not None else "python"


def tokenize_bytes(text: str, negation: bool = False) -> list[bytes]:
    """Split `text` into UTF-8 tokens; the hot path, so it stays in C-level calls."""
    if negation:
        return _negation_tokens(text.encode("utf-8", "surrogatepass").translate(_LOWER_ONLY))
    data = b" " + text.encode("utf-8", "surrogatepass").translate(_TABLE) + b" "
    for stop in _STOP_PADDED:
        while stop in data:  # replace() skips overlaps ("br br"), so repeat until none is left
            data = data.replace(stop, b" ")
    return data.split()


def _negation_tokens(lowered: bytes) -> list[bytes]:
    """The tokens of ascii-split-neg-v1 (module docstring) from the ASCII-lowercased UTF-8 text."""
    tokens: list[bytes] = []
    negated = False
    previous_end = 0
    for match in _TOKEN_RUN.finditer(lowered):
        start, end = match.span()
        if negated and any(byte in CLAUSE_ENDS for byte in lowered[previous_end:start]):
            negated = False
        previous_end = end
        token = match.group()
        if token in _STOP_BYTES:
            continue
        tokens.append(NEGATED_PREFIX + token if negated else token)
        if (
            token in _NEGATOR_SET
            or token.endswith(TYPOGRAPHIC_NT)
            or (token == b"t" and start >= 2 and lowered[start - 2 : start] == b"n'")
        ):
            negated = True
    return tokens


def tokenize(text: str, negation: bool = False) -> list[str]:
    """The token sequence of `text` as strings (for people and tests)."""
    return [t.decode("utf-8", "surrogatepass") for t in tokenize_bytes(text, negation)]


def _ngrams(tokens: list[bytes], ngram_max: int) -> Iterable[bytes]:
    if ngram_max == 1:
        return tokens
    return itertools.chain(tokens, *(_joined(tokens, n) for n in range(2, ngram_max + 1)))


def _joined(tokens: list[bytes], n: int) -> Iterable[bytes]:
    return map(b" ".join, zip(*(tokens[i:] for i in range(n)), strict=False))


@dataclass(frozen=True)
class VectorizerConfig:
    """How text becomes features; stored with every model."""

    max_features: int = 10_000
    ngram_max: int = 1
    min_df: int = 1
    weighting: str = "binary"
    hash_buckets: int = 0
    """0: a vocabulary of `max_features` terms; N: every n-gram hashed into N buckets (no vocabulary)."""
    negation: bool = False
    """Mark the words after a negator (tokenizer ascii-split-neg-v1); stored as the tokenizer's name."""

    def __post_init__(self) -> None:
        if self.max_features < 1:
            raise ImdbEdgeError(f"max_features must be >= 1, got {self.max_features}")
        if not 1 <= self.ngram_max <= 5:
            raise ImdbEdgeError(f"ngram_max must be between 1 and 5, got {self.ngram_max}")
        if self.min_df < 1:
            raise ImdbEdgeError(f"min_df must be >= 1, got {self.min_df}")
        if self.weighting not in WEIGHTINGS:
            raise ImdbEdgeError(f"unknown weighting {self.weighting!r}; choose from {', '.join(WEIGHTINGS)}")
        if not 0 <= self.hash_buckets <= MAX_HASH_BUCKETS:
            raise ImdbEdgeError(f"hash_buckets must be between 0 (off) and {MAX_HASH_BUCKETS}, got {self.hash_buckets}")

    @property
    def hashed(self) -> bool:
        return self.hash_buckets > 0

    @property
    def tokenizer(self) -> str:
        return NEGATION_TOKENIZER_NAME if self.negation else TOKENIZER_NAME

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tokenizer": self.tokenizer, **asdict(self)}
        del data["negation"]  # the tokenizer's name says it: files of models without it stay as they were
        if self.hashed:  # no vocabulary: its size and cut-off mean nothing here
            data["hash"] = HASH_NAME
            del data["max_features"], data["min_df"]
        else:  # vocabulary models keep the JSON that runtimes before hashing read
            del data["hash_buckets"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VectorizerConfig:
        data = dict(data)
        named = "tokenizer" in data
        tokenizer = data.pop("tokenizer", TOKENIZER_NAME)
        if tokenizer not in (TOKENIZER_NAME, NEGATION_TOKENIZER_NAME):
            raise ImdbEdgeError(
                f"unsupported tokenizer {tokenizer!r} (this version knows {TOKENIZER_NAME} and "
                f"{NEGATION_TOKENIZER_NAME})"
            )
        by_name = tokenizer == NEGATION_TOKENIZER_NAME
        if named and data.get("negation", by_name) != by_name:  # a file must not say one and run the other
            setting = str(data["negation"]).lower()
            raise ImdbEdgeError(f"the vectorizer names tokenizer {tokenizer} but sets negation = {setting}")
        data.setdefault("negation", by_name)
        hash_name = data.pop("hash", None)
        if hash_name not in (None, HASH_NAME):
            raise ImdbEdgeError(f"unsupported n-gram hash {hash_name!r} (this version knows {HASH_NAME})")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ImdbEdgeError(f"unknown vectorizer setting(s): {', '.join(unknown)}")
        for name, value in data.items():
            check_type(name, value, str(cls.__dataclass_fields__[name].type))
        return cls(**data)


_MIX_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))
_MIX_MULTIPLIERS = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_HIGH = np.uint64(32)
_CHAIN_SEED = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on uint64 arrays (numpy wraps array arithmetic modulo 2**64)."""
    x = x ^ (x >> _MIX_SHIFTS[0])
    x = x * _MIX_MULTIPLIERS[0]
    x = x ^ (x >> _MIX_SHIFTS[1])
    x = x * _MIX_MULTIPLIERS[1]
    return x ^ (x >> _MIX_SHIFTS[2])


def _chain_start(keys: np.ndarray) -> np.ndarray:
    """Hashes of one-token sequences from their tokens' CRC-32 keys (the seed: mix(0) is 0)."""
    return _mix64(keys ^ _CHAIN_SEED)


def _chain_next(hashes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Hashes of sequences one token longer: their prefix's hash, then the next token's key."""
    return _mix64(hashes ^ keys)


def _ngram_hashes(tokens: list[bytes], ngram_max: int) -> np.ndarray:
    """The 64-bit hash of every n-gram (n = 1..ngram_max) of a token sequence, unigrams first."""
    keys = np.fromiter(map(zlib.crc32, tokens), np.uint64, len(tokens))
    hashes = _chain_start(keys)
    levels = [hashes]
    for n in range(2, min(ngram_max, len(tokens)) + 1):
        hashes = _chain_next(hashes[:-1], keys[n - 1 :])
        levels.append(hashes)
    return np.concatenate(levels)


def term_fingerprints(terms: Sequence[str]) -> np.ndarray:
    """Each term's fingerprint: the hash its n-gram gets in a text (terms are tokens joined by single spaces)."""
    native = getattr(_native, "term_fingerprints", None)
    blob = _terms_blob(terms) if native is not None else None
    if blob is None:
        return _python_term_fingerprints(terms)
    return np.frombuffer(native(blob), dtype="<u8").astype(np.uint64)


def _terms_blob(terms: Sequence[str]) -> bytes | None:
    """The terms' UTF-8 joined by newlines, or None when that is ambiguous (no terms, or a term holds a newline:
    never for terms fit() picks)."""
    blob = "\n".join(terms).encode("utf-8", "surrogatepass")
    return blob if terms and blob.count(b"\n") == len(terms) - 1 else None


def _python_term_fingerprints(terms: Sequence[str]) -> np.ndarray:
    out = np.empty(len(terms), dtype=np.uint64)
    by_length: dict[int, list[int]] = {}
    parts = [term.encode("utf-8", "surrogatepass").split(b" ") for term in terms]
    for index, tokens in enumerate(parts):
        by_length.setdefault(len(tokens), []).append(index)
    for length, indexes in by_length.items():
        keys = np.array([list(map(zlib.crc32, parts[i])) for i in indexes], dtype=np.uint64).reshape(-1, length)
        hashes = _chain_start(keys[:, 0])
        for column in range(1, length):
            hashes = _chain_next(hashes, keys[:, column])
        out[indexes] = hashes
    return out


class _PythonFingerprints:
    """The pure-Python vocabulary lookup: the definition of which ids a token sequence has.

    An n-gram of the text has the feature whose term has the same fingerprint (a 64-bit
    hash of its tokens): no strings are compared, so a model file stores 8 bytes per term
    and loads without building string tables.
    """

    def __init__(self, fingerprints: np.ndarray, ngram_max: int) -> None:
        self.ngram_max = ngram_max
        self.order = np.argsort(fingerprints, kind="stable")
        self.sorted = fingerprints[self.order]

    def ids(self, tokens: list[bytes]) -> np.ndarray:
        hashes = _ngram_hashes(tokens, self.ngram_max)
        hashes.sort()  # numpy's binary search is much faster on sorted needles; repeats become neighbours
        if hashes.size:
            hashes = hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]
        position = np.minimum(np.searchsorted(self.sorted, hashes), self.sorted.size - 1)
        ids = self.order[position[self.sorted[position] == hashes]].astype(np.int64)
        ids.sort()  # distinct hashes are distinct terms: sorted is unique
        return ids


class _PythonHasher:
    """The pure-Python hashed n-grams: the definition of which buckets a token sequence has."""

    def __init__(self, buckets: int, ngram_max: int) -> None:
        self.buckets = np.uint64(buckets)
        self.ngram_max = ngram_max

    def ids(self, tokens: list[bytes]) -> np.ndarray:
        buckets = ((_ngram_hashes(tokens, self.ngram_max) >> _HIGH) * self.buckets) >> _HIGH
        return np.unique(buckets).astype(np.int64)


def _has_repeats(values: np.ndarray) -> bool:
    ordered = np.sort(values)
    return bool((ordered[1:] == ordered[:-1]).any())


def _native_kernel(kind: str, first: Any, ngram_max: int, negation: bool) -> Any:
    """A compiled kernel (`Fingerprints` or `Hasher`), or None where the native vectorizer (or that kind, or
    negation marks) is not available: the definition serves those."""
    kernel = getattr(_native, kind, None)
    if kernel is None:
        return None
    try:  # the keyword only where it is set: a kernel built before negation marks knows the rest
        return kernel(first, ngram_max, **({"negation": True} if negation else {}))
    except TypeError:
        if not negation:
            raise
        return None


def _native_lookup(fingerprints: np.ndarray, ngram_max: int, negation: bool) -> Any:
    """The compiled lookup of these fingerprints, or None where the native vectorizer is not available."""
    try:  # no copy of the fingerprints when already little-endian and contiguous
        return _native_kernel("Fingerprints", np.ascontiguousarray(fingerprints, dtype="<u8"), ngram_max, negation)
    except ValueError as exc:  # repeated fingerprints, or more terms than the table holds
        raise ImdbEdgeError(str(exc)) from None


FINGERPRINT_SLACK = 1024
"""Extra candidates fit() ranks, for the terms it drops: token keys are 32-bit CRCs, so among a million
distinct tokens a few pairs share one (two such tokens give every n-gram holding them one fingerprint), and the
runtime could not tell such terms apart; of each pair, the less frequent term goes."""

MAX_UNPACKED_TERMS = 256 * 2**20
"""Bytes the packed terms may unpack to: a forged file cannot make a small entry fill the memory."""


def _raw_bytes(value: Any, what: str) -> bytes | memoryview:
    """A vectorizer array's bytes: raw (a model file's initializer, not copied) or base64 text (JSON)."""
    if isinstance(value, (bytes, memoryview)):
        return value
    try:
        if isinstance(value, str):
            return base64.b64decode(value, validate=True)
    except binascii.Error:
        pass
    raise ImdbEdgeError(f"the vectorizer {what} are not base64")


def _decode_fingerprints(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    raw = _raw_bytes(value, "fingerprints")
    if len(raw) % 8:
        raise ImdbEdgeError("the vectorizer fingerprints are not 8-byte integers")
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64, copy=False)


def _pack_terms(terms: Sequence[str]) -> bytes | None:
    """zlib of the terms joined by newlines (None where _terms_blob has none)."""
    blob = _terms_blob(terms)
    return None if blob is None else zlib.compress(blob, 9)


PackedTerms = str | bytes | memoryview
"""zlib of the terms joined by newlines: raw (a model file's initializer), or base64 text (JSON)."""


def _unpack_terms(packed: PackedTerms, fingerprints: np.ndarray) -> list[str]:
    """The packed terms, checked against the fingerprints they must have."""
    unpacker = zlib.decompressobj()
    try:
        raw = unpacker.decompress(_raw_bytes(packed, "terms"), MAX_UNPACKED_TERMS)
    except zlib.error as exc:
        raise ImdbEdgeError(f"the vectorizer terms do not unpack: {exc}") from None
    if unpacker.unconsumed_tail or not unpacker.eof:
        raise ImdbEdgeError("the vectorizer terms are truncated or unpack to more than 256 MB")
    if raw.count(b"\n") + 1 != fingerprints.size:  # before splitting: 256 MB of "a\n" would be 128 M strings
        raise ImdbEdgeError("the vectorizer terms do not match their fingerprints")
    try:
        terms = raw.decode("utf-8", "surrogatepass").split("\n")
    except UnicodeDecodeError:
        raise ImdbEdgeError("the vectorizer terms are not UTF-8") from None
    if not np.array_equal(term_fingerprints(terms), fingerprints):
        raise ImdbEdgeError("the vectorizer terms do not match their fingerprints")
    return terms


def padded_rows(flat: np.ndarray, lengths: np.ndarray, pad: int, min_length: int = 1) -> np.ndarray:
    """Rows of lengths[i] ids each (concatenated in `flat`), padded with `pad` to the longest (or min_length)."""
    width = max(int(lengths.max(initial=0)), min_length)
    out = np.full((len(lengths), width), pad, dtype=np.int64)
    out[np.arange(width) < lengths[:, None]] = flat
    return out


class Vectorizer:
    """Maps reviews to feature ids of a fixed vocabulary (or of hashed n-gram buckets)."""

    def __init__(
        self,
        config: VectorizerConfig,
        vocabulary: Sequence[str] | None,
        feature_weights: np.ndarray | None = None,
        fingerprints: np.ndarray | None = None,
        packed_terms: PackedTerms | None = None,
    ) -> None:
        """A vocabulary is given as its terms, or (as model files store it) as their fingerprints, with the
        terms packed (zlib) and unpacked only when asked for."""
        if config.hashed:
            if vocabulary or (fingerprints is not None and fingerprints.size):
                raise ImdbEdgeError("a hashed vectorizer has no vocabulary")
            vocabulary, fingerprints = [], np.zeros(0, dtype=np.uint64)
            native = _native_kernel("Hasher", config.hash_buckets, config.ngram_max, config.negation)
        else:
            if vocabulary is not None:
                vocabulary = list(vocabulary)
                if not set(map(type, vocabulary)) <= {str}:
                    raise ImdbEdgeError("the vocabulary must be a list of strings")
                if len(set(vocabulary)) != len(vocabulary):  # distinct as strings (surrogatepass keeps them so)
                    raise ImdbEdgeError("the vocabulary has duplicate terms")
                if fingerprints is None:
                    fingerprints = term_fingerprints(vocabulary)
            if fingerprints is None or not fingerprints.size:
                raise ImdbEdgeError("the vocabulary is empty")
            fingerprints = np.asarray(fingerprints, dtype=np.uint64)
            if vocabulary is not None and len(vocabulary) != fingerprints.size:
                raise ImdbEdgeError("the vocabulary and its fingerprints differ in length")
            # the kernel refuses repeated fingerprints itself
            native = _native_lookup(fingerprints, config.ngram_max, config.negation)
            if native is None and _has_repeats(fingerprints):
                raise ImdbEdgeError("the vocabulary has two terms with the same fingerprint")
        size = config.hash_buckets or fingerprints.size
        if feature_weights is not None:
            feature_weights = np.asarray(feature_weights, dtype=np.float32)
            if feature_weights.shape != (size,):
                raise ImdbEdgeError(f"feature_weights has shape {feature_weights.shape}, expected ({size},)")
        self.config = config
        self._vocabulary = vocabulary
        self._packed_terms = packed_terms if vocabulary is None else None
        self.fingerprints = fingerprints
        self.feature_weights = feature_weights
        self._native = native
        self._python: _PythonFingerprints | _PythonHasher | None = None

    @property
    def vocabulary(self) -> list[str] | None:
        """The terms, by feature id ([] when hashed; None when a file stored only their fingerprints)."""
        if self._vocabulary is None and self._packed_terms is not None:
            self._vocabulary = _unpack_terms(self._packed_terms, self.fingerprints)
        return self._vocabulary

    @property
    def implementation(self) -> str:
        """Which implementation serves this vectorizer: "native" or "python"."""
        return "python" if self._native is None else "native"

    def _pure(self) -> _PythonFingerprints | _PythonHasher:
        """The definition's lookup, built on first use (not at all when native runs)."""
        if self._python is None:
            if self.config.hashed:
                self._python = _PythonHasher(self.config.hash_buckets, self.config.ngram_max)
            else:
                self._python = _PythonFingerprints(self.fingerprints, self.config.ngram_max)
        return self._python

    @property
    def size(self) -> int:
        """Feature count: the vocabulary's terms, or the hash buckets."""
        return self.config.hash_buckets or int(self.fingerprints.size)

    def with_weights(self, feature_weights: np.ndarray | None) -> Vectorizer:
        """The same vocabulary with other per-feature weights (None: plain multi-hot)."""
        return Vectorizer(self.config, self._vocabulary, feature_weights, self.fingerprints, self._packed_terms)

    @property
    def kernel(self) -> Any:
        """The native kernel for this vocabulary (its `padded`, `ragged` and `ids` calls), or None when the
        vectorizer runs as pure Python. The classifier's one-text path calls it directly (issue 29)."""
        return self._native

    def pure_python(self) -> Vectorizer:
        """This vectorizer computed by the pure-Python definition (to compare or benchmark it)."""
        twin = Vectorizer.__new__(Vectorizer)
        twin.__dict__.update(self.__dict__, _native=None, _python=None)
        return twin

    # ---- building -------------------------------------------------------------
    @classmethod
    def fit(cls, texts: Iterable[str], config: VectorizerConfig | None = None) -> Vectorizer:
        """Pick the n-grams present in the most documents (ties: byte order); hashed: nothing to pick."""
        config = config or VectorizerConfig()
        if config.hashed:
            return cls(config, None)
        doc_freq: Counter[bytes] = Counter()
        for text in texts:
            doc_freq.update(set(_ngrams(tokenize_bytes(text, config.negation), config.ngram_max)))
        ranked = sorted(
            (item for item in doc_freq.items() if item[1] >= config.min_df),
            key=lambda item: (-item[1], item[0]),
        )[: config.max_features + FINGERPRINT_SLACK]
        if not ranked:
            raise ImdbEdgeError("no terms found in the training texts")
        terms = [term.decode("utf-8", "surrogatepass") for term, _ in ranked]
        fingerprints = term_fingerprints(terms)
        _, first = np.unique(fingerprints, return_index=True)
        keep = np.sort(first)[: config.max_features]  # of two terms with one fingerprint, the more frequent
        return cls(config, [terms[i] for i in keep], fingerprints=fingerprints[keep])

    # ---- encoding -------------------------------------------------------------
    def feature_ids(self, text: str) -> np.ndarray:
        """Sorted unique ids of the vocabulary features present in `text` (int64): the hot path."""
        if self._native is not None:
            ids = self._native.ids(text)
            return np.ndarray((len(ids) // 8,), _INT64, ids)
        return self._pure().ids(tokenize_bytes(text, self.config.negation))

    def text_terms(self, text: str) -> dict[int, str]:
        """Each feature id `text` has, with the n-gram of the text that gives it (the first one, where several
        share a hashed bucket): what explanations show, the text's own words, for vocabulary and hashed models
        alike (the definition's path: explanations are not the hot path)."""
        tokens = tokenize_bytes(text, self.config.negation)
        grams = list(_ngrams(tokens, self.config.ngram_max))
        hashes = _ngram_hashes(tokens, self.config.ngram_max)
        if self.config.hashed:
            ids = ((hashes >> _HIGH) * np.uint64(self.config.hash_buckets)) >> _HIGH
        else:
            lookup = self._pure()
            assert isinstance(lookup, _PythonFingerprints)
            position = np.minimum(np.searchsorted(lookup.sorted, hashes), lookup.sorted.size - 1)
            found = lookup.sorted[position] == hashes
            ids = np.where(found, lookup.order[position], -1)
        terms: dict[int, str] = {}
        for feature, gram in zip(ids.tolist(), grams, strict=True):
            if feature >= 0 and feature not in terms:
                terms[int(feature)] = gram.decode("utf-8", "surrogatepass")
        return terms

    def _rows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = [self.feature_ids(text) for text in texts]
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        return flat, lengths

    def feature_ids_batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ragged ids of many texts: (ids, offsets), text i owns ids[offsets[i]:offsets[i+1]]."""
        if self._native is not None:
            flat_bytes, offset_bytes = self._native.ragged(texts)
            return np.frombuffer(flat_bytes, dtype=np.int64), np.frombuffer(offset_bytes, dtype=np.int64)
        flat, lengths = self._rows(texts)
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return flat, offsets

    def padded_ids(self, texts: Sequence[str], min_length: int = 1) -> np.ndarray:
        """Ids padded to one length with the id `size` (a zero row in sparse graphs)."""
        if self._native is not None:
            data, width = self._native.padded(texts, min_length)
            return np.ndarray((len(texts), width), _INT64, data)  # a view of the kernel's bytes: one call, no copy
        if len(texts) == 1:  # one review: skip the ragged bookkeeping, it costs more than the lookups
            row = self.feature_ids(texts[0])
            if row.size < min_length:
                row = np.append(row, [self.size] * (min_length - row.size))
            return row.reshape(1, -1)
        flat, lengths = self._rows(texts)
        return padded_rows(flat, lengths, self.size, min_length)

    def padded_ids_and_lengths(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """padded_ids(texts), and each row's id count before padding (how many of its terms the vocabulary
        knows): one kernel call, where counting the padding again in numpy took longer than a short text's
        whole vectorizing."""
        if self._native is not None:
            data, width, lengths = self._native.padded(texts, 1, True)
            return np.ndarray((len(texts), width), _INT64, data), np.frombuffer(lengths, _INT64)
        flat, lengths = self._rows(texts)
        return padded_rows(flat, lengths, self.size), lengths

    def multi_hot(self, texts: Sequence[str]) -> np.ndarray:
        """Dense (n, size) float32 matrix: the reference model's input."""
        flat, offsets = self.feature_ids_batch(texts)
        lengths = np.diff(offsets)
        out = np.zeros((len(texts), self.size), dtype=np.float32)
        rows = np.repeat(np.arange(len(texts)), lengths)
        out[rows, flat] = 1.0 if self.feature_weights is None else self.feature_weights[flat]
        return out

    # ---- serialization --------------------------------------------------------
    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """The JSON document. compact: each term's 8-byte fingerprint, and the terms zlib-packed (what model
        files carry: 1.6x smaller, and loaded without parsing or hashing 100,000s of strings)."""
        data: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "vocabulary": None if self.config.hashed else self._vocabulary,
            "feature_weights": None if self.feature_weights is None else self.feature_weights.tolist(),
        }
        if not self.config.hashed and (compact or self._vocabulary is None):
            data.update(version=FINGERPRINTS_VERSION, vocabulary=None)
            data["fingerprints"] = base64.b64encode(self.fingerprints.astype("<u8").tobytes()).decode("ascii")
            packed = self._packed_terms if self._vocabulary is None else _pack_terms(self._vocabulary)
            data["terms"] = packed if packed is None or isinstance(packed, str) else base64.b64encode(packed).decode()
        return data

    def to_json(self, compact: bool = False) -> str:
        return json.dumps(self.to_dict(compact), ensure_ascii=False, separators=(",", ":"))

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: names this exact vectorizer."""
        return hashlib.sha256(self.to_json().encode("utf-8", "surrogatepass")).hexdigest()

    @classmethod
    def from_dict(cls, data: Any) -> Vectorizer:
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise ImdbEdgeError("not an imdb-edge vectorizer (missing format tag)")
        if data.get("version") not in (FORMAT_VERSION, FINGERPRINTS_VERSION):
            raise ImdbEdgeError(
                f"vectorizer format version {data.get('version')!r} is not supported "
                f"(this version reads {FORMAT_VERSION} and {FINGERPRINTS_VERSION})"
            )
        vocabulary = data.get("vocabulary")
        if vocabulary is not None and not isinstance(vocabulary, list):  # its items are checked by __init__
            raise ImdbEdgeError("the vectorizer vocabulary must be a list of strings")
        if vocabulary is not None and (data.get("fingerprints") is not None or data.get("terms") is not None):
            # Never written so: the lookup would follow the fingerprints while `vocabulary` showed other terms.
            raise ImdbEdgeError("the vectorizer holds both a term list and fingerprints or packed terms")
        fingerprints = _decode_fingerprints(data.get("fingerprints"))
        packed_terms = data.get("terms")
        if packed_terms is not None and not isinstance(packed_terms, (str, bytes, memoryview)):
            raise ImdbEdgeError("the vectorizer terms are not base64")
        config = data.get("config")
        if not isinstance(config, dict):
            raise ImdbEdgeError("the vectorizer config is missing")
        weights = data.get("feature_weights")
        try:
            weights_array = None if weights is None else np.asarray(weights, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ImdbEdgeError(f"the vectorizer feature_weights are not numbers: {exc}") from None
        try:
            return cls(VectorizerConfig.from_dict(config), vocabulary, weights_array, fingerprints, packed_terms)
        except TypeError as exc:
            raise ImdbEdgeError(f"bad vectorizer config: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Vectorizer:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImdbEdgeError(f"the vectorizer is not valid JSON: {exc}") from None
        return cls.from_dict(data)
