"""Text -> model input, the one implementation shared by training and the device.

The tokenizer is deliberately simple so that it can be reproduced exactly, both by
this numpy code and by standard ONNX string operators:

1. encode as UTF-8;
2. ASCII letters are lowercased (other letters are left as they are, like the `C`
   locale does);
3. every ASCII whitespace or punctuation character separates tokens;
4. the token ``br`` (what is left of the ``<br />`` markup in IMDB reviews) is
   dropped.

Features are the word n-grams (n = 1..ngram_max) of that token sequence, joined by
a single space. The vocabulary holds the `max_features` n-grams found in the most
training documents. A review becomes the set of feature ids it contains (multi-hot),
optionally scaled per feature (`feature_weights`).

With ``hash_buckets`` set there is no vocabulary: every n-gram is hashed into one of
that many buckets (``crc32-mix64-v1``, the fastText idea), so nothing is stored,
parsed or looked up, and every n-gram of any review counts:

1. each token's key is its zlib CRC-32 (t);
2. a unigram's hash is mix(t1), an n-gram's is mix(hash of its (n-1)-gram prefix XOR
   t_n), with mix the splitmix64 finalizer on wrapping 64-bit integers;
3. the bucket is ((hash >> 32) * hash_buckets) >> 32.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import string
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.typecheck import check_type

TOKENIZER_NAME = "ascii-split-v1"
SEPARATORS = string.whitespace + string.punctuation
STOP_TOKENS = ("br",)
FORMAT_NAME = "imdb-edge-vectorizer"
FORMAT_VERSION = 1

_SEP_BYTES = SEPARATORS.encode("ascii")
_TABLE = bytes.maketrans(
    _SEP_BYTES + string.ascii_uppercase.encode("ascii"),
    b" " * len(_SEP_BYTES) + string.ascii_lowercase.encode("ascii"),
)
_STOP_PADDED = tuple(b" " + t.encode("ascii") + b" " for t in STOP_TOKENS)
WEIGHTINGS = ("binary", "nb")
HASH_NAME = "crc32-mix64-v1"
MAX_HASH_BUCKETS = 2**28
PURE_PYTHON_ENV = "IMDB_EDGE_PURE_PYTHON"


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


def tokenize_bytes(text: str) -> list[bytes]:
    """Split `text` into UTF-8 tokens; the hot path, so it stays in C-level calls."""
    data = b" " + text.encode("utf-8", "surrogatepass").translate(_TABLE) + b" "
    for stop in _STOP_PADDED:
        while stop in data:  # replace() skips overlaps ("br br"), so repeat until none is left
            data = data.replace(stop, b" ")
    return data.split()


def tokenize(text: str) -> list[str]:
    """The token sequence of `text` as strings (for people and tests)."""
    return [t.decode("utf-8", "surrogatepass") for t in tokenize_bytes(text)]


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

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tokenizer": TOKENIZER_NAME, **asdict(self)}
        if self.hashed:
            data["hash"] = HASH_NAME
        else:  # vocabulary models keep the JSON that runtimes before hashing read
            del data["hash_buckets"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VectorizerConfig:
        data = dict(data)
        tokenizer = data.pop("tokenizer", TOKENIZER_NAME)
        if tokenizer != TOKENIZER_NAME:
            raise ImdbEdgeError(f"unsupported tokenizer {tokenizer!r} (this version knows {TOKENIZER_NAME})")
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


class _NgramLookup:
    """Exact n-gram lookup with integer codes instead of new strings.

    Each token costs one dict lookup (its token id t); an n-gram of token ids is the
    base-W number with digits t+1 (W = number of tokens + 1; no digit is 0, so codes
    of different lengths never collide). All codes of a review are found with one
    searchsorted in one sorted table. Exact, like the string path.
    """

    def __init__(self, keys: list[bytes], ngram_max: int) -> None:
        self.ngram_max = ngram_max
        self.tokens: dict[bytes, int] = {}
        parts_of = [key.split(b" ") for key in keys]
        for parts in parts_of:
            for part in parts:
                self.tokens.setdefault(part, len(self.tokens))
        self.base = len(self.tokens) + 1
        codes = np.array([self._code([self.tokens[p] for p in parts]) for parts in parts_of], dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        self.codes, self.features = codes[order], order.astype(np.int64)

    def _code(self, token_ids: list[int]) -> int:
        code = 0
        for token_id in token_ids:
            code = code * self.base + token_id + 1
        return code

    @staticmethod
    def fits(keys: list[bytes], ngram_max: int) -> bool:
        """Codes must stay below 2**62: true for any realistic vocabulary up to trigrams."""
        distinct = len({part for key in keys for part in key.split(b" ")})
        return (distinct + 1) ** ngram_max < 2**62

    def ids(self, tokens: list[bytes]) -> np.ndarray:
        digits = np.fromiter(map(self.tokens.get, tokens, itertools.repeat(-1)), np.int64, len(tokens)) + 1
        known = digits > 0
        found = [digits[known]]
        code, valid = digits, known
        for n in range(2, self.ngram_max + 1):
            if len(tokens) < n:
                break
            code = code[:-1] * self.base + digits[n - 1 :]
            valid = valid[:-1] & known[n - 1 :]
            found.append(code[valid])
        wanted = np.concatenate(found)
        wanted.sort()  # repeats become neighbours, and numpy's binary search is much faster on sorted needles
        if wanted.size:
            wanted = wanted[np.concatenate(([True], wanted[1:] != wanted[:-1]))]
        position = np.minimum(np.searchsorted(self.codes, wanted), self.codes.size - 1)
        ids = self.features[position[self.codes[position] == wanted]]
        ids.sort()
        return ids


def _native_lookup(vocabulary: list[str], ngram_max: int) -> Any:
    """The compiled lookup tables of `vocabulary`, or None where the native vectorizer is not available."""
    if _native is None:
        return None
    try:
        return _native.Lookup(vocabulary, ngram_max)
    except ValueError as exc:  # duplicate terms, or more distinct tokens than the native tables hold
        if "duplicate" in str(exc):
            raise ImdbEdgeError("the vocabulary has duplicate terms") from None
        return None


class _PythonLookup:
    """The pure-Python lookup: the definition of which ids a token sequence has."""

    def __init__(self, keys: list[bytes], ngram_max: int) -> None:
        self.ngram_max = ngram_max
        self.index = {key: i for i, key in enumerate(keys)}
        self.grams = _NgramLookup(keys, ngram_max) if ngram_max > 1 and _NgramLookup.fits(keys, ngram_max) else None

    def ids(self, tokens: list[bytes]) -> np.ndarray:
        if self.grams is not None:
            return self.grams.ids(tokens)
        found = set(map(self.index.get, _ngrams(tokens, self.ngram_max)))
        found.discard(None)
        return np.array(sorted(found), dtype=np.int64)  # type: ignore[type-var]


_MIX_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))
_MIX_MULTIPLIERS = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_HIGH = np.uint64(32)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on uint64 arrays (numpy wraps array arithmetic modulo 2**64)."""
    x = x ^ (x >> _MIX_SHIFTS[0])
    x = x * _MIX_MULTIPLIERS[0]
    x = x ^ (x >> _MIX_SHIFTS[1])
    x = x * _MIX_MULTIPLIERS[1]
    return x ^ (x >> _MIX_SHIFTS[2])


class _PythonHasher:
    """The pure-Python hashed n-grams: the definition of which buckets a token sequence has."""

    def __init__(self, buckets: int, ngram_max: int) -> None:
        self.buckets = np.uint64(buckets)
        self.ngram_max = ngram_max

    def ids(self, tokens: list[bytes]) -> np.ndarray:
        keys = np.fromiter(map(zlib.crc32, tokens), np.uint64, len(tokens))
        hashes = _mix64(keys)
        levels = [hashes]
        for n in range(2, min(self.ngram_max, len(tokens)) + 1):
            hashes = _mix64(hashes[:-1] ^ keys[n - 1 :])
            levels.append(hashes)
        buckets = ((np.concatenate(levels) >> _HIGH) * self.buckets) >> _HIGH
        return np.unique(buckets).astype(np.int64)


def _native_hasher(buckets: int, ngram_max: int) -> Any:
    """The compiled hashed n-grams, or None where the native vectorizer (or its hashing) is not available."""
    hasher = getattr(_native, "Hasher", None)
    return None if hasher is None else hasher(buckets, ngram_max)


class Vectorizer:
    """Maps reviews to feature ids of a fixed vocabulary (or of hashed n-gram buckets)."""

    def __init__(
        self,
        config: VectorizerConfig,
        vocabulary: Sequence[str] | None,
        feature_weights: np.ndarray | None = None,
    ) -> None:
        if config.hashed:
            if vocabulary:
                raise ImdbEdgeError("a hashed vectorizer has no vocabulary")
            vocabulary = []
            native = _native_hasher(config.hash_buckets, config.ngram_max)
        else:
            if not vocabulary:
                raise ImdbEdgeError("the vocabulary is empty")
            vocabulary = list(vocabulary)
            native = _native_lookup(vocabulary, config.ngram_max)
            # Duplicates: the native build finds them among the terms it stores, the rest are compared here (as
            # strings: UTF-8 with surrogatepass keeps distinct strings distinct).
            unchecked = vocabulary if native is None else [vocabulary[i] for i in native.skipped]
            if len(set(unchecked)) != len(unchecked):
                raise ImdbEdgeError("the vocabulary has duplicate terms")
        size = config.hash_buckets or len(vocabulary)
        if feature_weights is not None:
            feature_weights = np.asarray(feature_weights, dtype=np.float32)
            if feature_weights.shape != (size,):
                raise ImdbEdgeError(f"feature_weights has shape {feature_weights.shape}, expected ({size},)")
        self.config = config
        self.vocabulary = vocabulary
        self.feature_weights = feature_weights
        self._native = native
        self._python: _PythonLookup | _PythonHasher | None = None

    @property
    def implementation(self) -> str:
        """Which implementation serves this vectorizer: "native" or "python"."""
        return "python" if self._native is None else "native"

    def _pure(self) -> _PythonLookup | _PythonHasher:
        """The definition's lookup tables, built on first use (not at all when native runs)."""
        if self._python is None:
            if self.config.hashed:
                self._python = _PythonHasher(self.config.hash_buckets, self.config.ngram_max)
            else:
                keys = [term.encode("utf-8", "surrogatepass") for term in self.vocabulary]
                self._python = _PythonLookup(keys, self.config.ngram_max)
        return self._python

    @property
    def size(self) -> int:
        """Feature count: the vocabulary's terms, or the hash buckets."""
        return self.config.hash_buckets or len(self.vocabulary)

    def with_weights(self, feature_weights: np.ndarray | None) -> Vectorizer:
        """The same vocabulary with other per-feature weights (None: plain multi-hot)."""
        return Vectorizer(self.config, self.vocabulary, feature_weights)

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
            doc_freq.update(set(_ngrams(tokenize_bytes(text), config.ngram_max)))
        ranked = sorted(
            (item for item in doc_freq.items() if item[1] >= config.min_df),
            key=lambda item: (-item[1], item[0]),
        )[: config.max_features]
        if not ranked:
            raise ImdbEdgeError("no terms found in the training texts")
        return cls(config, [term.decode("utf-8", "surrogatepass") for term, _ in ranked])

    # ---- encoding -------------------------------------------------------------
    def feature_ids(self, text: str) -> np.ndarray:
        """Sorted unique ids of the vocabulary features present in `text` (int64): the hot path."""
        if self._native is not None:
            return np.frombuffer(self._native.ids(text), dtype=np.int64)
        return self._pure().ids(tokenize_bytes(text))

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
            return np.frombuffer(data, dtype=np.int64).reshape(len(texts), width)
        if len(texts) == 1:  # one review: skip the ragged bookkeeping, it costs more than the lookups
            row = self.feature_ids(texts[0])
            if row.size < min_length:
                row = np.append(row, [self.size] * (min_length - row.size))
            return row.reshape(1, -1)
        flat, lengths = self._rows(texts)
        width = max(int(lengths.max(initial=0)), min_length)
        out = np.full((len(texts), width), self.size, dtype=np.int64)
        out[np.arange(width) < lengths[:, None]] = flat
        return out

    def multi_hot(self, texts: Sequence[str]) -> np.ndarray:
        """Dense (n, size) float32 matrix: the reference model's input."""
        flat, offsets = self.feature_ids_batch(texts)
        lengths = np.diff(offsets)
        out = np.zeros((len(texts), self.size), dtype=np.float32)
        rows = np.repeat(np.arange(len(texts)), lengths)
        out[rows, flat] = 1.0 if self.feature_weights is None else self.feature_weights[flat]
        return out

    # ---- serialization --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "vocabulary": None if self.config.hashed else self.vocabulary,
            "feature_weights": None if self.feature_weights is None else self.feature_weights.tolist(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: names this exact vectorizer."""
        return hashlib.sha256(self.to_json().encode("utf-8", "surrogatepass")).hexdigest()

    @classmethod
    def from_dict(cls, data: Any) -> Vectorizer:
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise ImdbEdgeError("not an imdb-edge vectorizer (missing format tag)")
        if data.get("version") != FORMAT_VERSION:
            raise ImdbEdgeError(
                f"vectorizer format version {data.get('version')!r} is not supported "
                f"(this version reads {FORMAT_VERSION})"
            )
        vocabulary = data.get("vocabulary")
        if vocabulary is not None and (not isinstance(vocabulary, list) or not set(map(type, vocabulary)) <= {str}):
            raise ImdbEdgeError("the vectorizer vocabulary must be a list of strings")
        config = data.get("config")
        if not isinstance(config, dict):
            raise ImdbEdgeError("the vectorizer config is missing")
        weights = data.get("feature_weights")
        try:
            weights_array = None if weights is None else np.asarray(weights, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ImdbEdgeError(f"the vectorizer feature_weights are not numbers: {exc}") from None
        try:
            return cls(VectorizerConfig.from_dict(config), vocabulary, weights_array)
        except TypeError as exc:
            raise ImdbEdgeError(f"bad vectorizer config: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Vectorizer:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImdbEdgeError(f"the vectorizer is not valid JSON: {exc}") from None
        return cls.from_dict(data)
