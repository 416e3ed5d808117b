"""The text_fast graph: raw review strings in, score and label out, in one pass over the batch.

The portable text form (text_graph.py) runs about 150 string operators per review
inside a Loop and looks terms up in a 200,000-string LabelEncoder: 27 times the
Python runtime, and a 7 MB file. This form does the same arithmetic on the batch
at once, with integers after the tokenizer:

1. StringNormalizer(LOWER, locale "C") on each text, " Z" appended (a token no
   lowercased review holds: it ends each review's tokens), then one
   com.microsoft.Tokenizer (an RE2 pattern: runs of anything but ASCII whitespace and
   punctuation) gives the ascii-split-v1 tokens of every review, padded to the longest;
2. "br" and the padding (also "br") are dropped; a CumSum of the end tokens numbers
   each token's review, and no n-gram holding an end token is a term, so none runs
   into the next review;
3. each token gets a 64-bit key from two com.microsoft.MurmurHash3 (two seeds), and an
   n-gram the key of its prefix * P + its last token's key (uint64, wrapping): every
   n-gram of every length in a few vectorized operators, no strings built;
4. the keys are looked up in a perfect hash (perfect_hash.py): two Gathers and a
   compare, and no lookup structure for onnxruntime to build when a session starts;
5. (row, term) pairs are sorted (TopK) to drop repeats, the term rows gathered and
   summed per review (ScatterElements, reduction "add"), and the token-id graph's
   layers after its sum do the rest.

Like the Python runtime's 64-bit fingerprints, the keys tell terms apart up to hash
collisions (export refuses a vocabulary where two terms, or a term and the end or
padding token, share a key); a key that is no term's finds nothing. The scores equal the token-id graph's up
to the float rounding of the sum, whose order differs (about 1e-7). Needs onnxruntime
with its contrib operators (the standard builds for Python, Node.js, C#, Java, C/C++,
and onnxruntime-web's wasm bundle, not minimal builds). Like the portable text form,
it lowercases with StringNormalizer, which in onnxruntime-web also lowercases
non-ASCII capitals ("É"); the Python runtime and native onnxruntime do not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imdb_edge.export.errors import ExportError
from imdb_edge.export.graphs import IDS_INPUT, OUTPUT
from imdb_edge.export.perfect_hash import PerfectHash, build
from imdb_edge.export.text_graph import HASHED_HAS_NO_TEXT_FORM, Builder, add_label, constant, text_model
from imdb_edge.runtime.modelfile.graph_check import FAST_TOKEN_PATTERN
from imdb_edge.runtime.modelfile.schema import INPUT_NAMES, TEXT_FAST, THRESHOLD
from imdb_edge.runtime.vectorizer import STOP_TOKENS, Vectorizer

TEXT_FAST_OPSET = 20
CONTRIB_DOMAIN = "com.microsoft"
TEXT_INPUT = INPUT_NAMES[TEXT_FAST]
TOKEN_PATTERN = FAST_TOKEN_PATTERN  # the graph check accepts this pattern only
MURMUR_SEEDS = (0x1D8E4E27, 0x6C8E9CF5)
KEY_MULTIPLIER = 0x9E3779B97F4A7C15  # odd, (P - 1) / 2 odd: "a b" and "b a" differ unless a - b = 0 mod 2**63
NEGATION_HAS_NO_FAST_FORM = (
    "the negation tokenizer (ascii-split-neg-v1) has no text_fast form: its marks need clause ends and the "
    "n't rule, which the fast graph's one tokenizer drops; use --input text (standard operators, slower)"
)


def _hash_tokens(build_: Builder, tokens: str) -> str:
    """[K] lowered tokens -> [K] uint64 keys: two MurmurHash3 (x86, 32 bits) joined."""
    from onnx import TensorProto

    halves = []
    for index, seed in enumerate(MURMUR_SEEDS):
        half = build_.add("MurmurHash3", [tokens], f"murmur_{index}", domain=CONTRIB_DOMAIN, seed=seed, positive=1)
        halves.append(build_.add("Cast", [half], f"murmur_{index}_u64", to=TensorProto.UINT64))
    high = build_.add("Mul", [halves[0], "two_32"], "murmur_high")
    return build_.add("Add", [high, halves[1]], "token_keys")


def token_keys(tokens: list[str]) -> np.ndarray:
    """The graph's token keys, computed by onnxruntime with the graph's own operators."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    build_ = Builder()
    _hash_tokens(build_, "tokens")
    graph = helper.make_graph(
        build_.nodes,
        "token_keys",
        [helper.make_tensor_value_info("tokens", TensorProto.STRING, ["n"])],
        [helper.make_tensor_value_info("token_keys", TensorProto.UINT64, ["n"])],
        initializer=[constant("two_32", np.array(2**32, np.uint64))],
    )
    model = helper.make_model(graph, opset_imports=_opsets(), producer_name="imdb-edge")
    model.ir_version = 9
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"tokens": np.array(tokens, dtype=object)})[0], dtype=np.uint64)


def term_keys(terms: list[str]) -> np.ndarray:
    """Each term's key: its first token's key, then key * P + the next token's (uint64, wrapping)."""
    words = [term.split(" ") for term in terms]
    alphabet = sorted({w for split in words for w in split})
    index = {w: i for i, w in enumerate(alphabet)}
    keys_of = token_keys(alphabet)
    width = max(map(len, words))
    table = np.zeros((len(terms), width), dtype=np.uint64)
    lengths = np.array([len(split) for split in words])
    for row, split in enumerate(words):
        table[row, : len(split)] = keys_of[[index[w] for w in split]]
    keys = table[:, 0].copy()
    multiplier = np.uint64(KEY_MULTIPLIER)
    with np.errstate(over="ignore"):
        for column in range(1, width):
            longer = lengths > column
            keys[longer] = keys[longer] * multiplier + table[longer, column]
    return keys


def _opsets() -> list[Any]:
    from onnx import helper

    return [
        helper.make_opsetid("", TEXT_FAST_OPSET),
        helper.make_opsetid("ai.onnx.ml", 3),
        helper.make_opsetid(CONTRIB_DOMAIN, 1),
    ]


(PAD_TOKEN,) = STOP_TOKENS
"""The Tokenizer pads short reviews with "br", the one token the tokenizer drops: one compare drops both."""
REVIEW_END = "Z"
"""Appended, after a space, to each lowercased review: a token no review can hold (StringNormalizer lowercases every
ASCII letter of the text), so it marks where each review's tokens end."""


def _token_keys(build_: Builder) -> str:
    """[N] texts -> the keys of their tokens [K], each review's tokens ended by REVIEW_END.

    Any n-gram holding the end token gets a key that is no term's, so none runs into the next review, and a
    token's review is the count of end tokens before it. StringNormalizer refuses an empty batch, so it
    gets one empty text more, taken off again right after. Tokens are hashed where the Tokenizer put them,
    padding included: dropping "br" (and the padding, which is "br" too) then compares integers, and no string
    is copied again."""
    texts = build_.add("Concat", [TEXT_INPUT, "empty_text"], "texts_and_one", axis=0)
    lowered = build_.add("StringNormalizer", [texts], "lowered_and_one", case_change_action="LOWER", locale="C")
    lowered = build_.add("Slice", [lowered, "start_0", "end_minus_1"], "lowered")
    ended = build_.add("StringConcat", [lowered, "review_end"], "lowered_and_end")
    pieces = build_.add(
        "Tokenizer",
        [ended],
        "pieces",
        domain=CONTRIB_DOMAIN,
        tokenexp=TOKEN_PATTERN,
        mark=0,
        mincharnum=1,
        pad_value=PAD_TOKEN,
    )
    flat = build_.add("Reshape", [_hash_tokens(build_, pieces), "shape_flat"], "flat_keys")
    keep = build_.add("Not", [build_.add("Equal", [flat, "pad_key"], "is_dropped")], "keep")
    return build_.add("Compress", [flat, keep], "kept_keys", axis=0)


def _ngram_keys(build_: Builder, keys: str, ngram_max: int) -> tuple[str, str]:
    """[K] token keys -> (the keys of every n-gram [ngram_max, K + ngram_max - 1], their review rows, same shape).

    Row m, column c holds the key of the (m + 1)-gram that ends at token c: its tokens are the matrix
    W[r, c] = keys[c - r] (r = 0..m), with the padding key where c - r falls outside the tokens, and
    key = sum of P**r * W[r, c], one MatMul with the constant [[P**r if r <= m else 0]] (uint64, wrapping).
    W is `ngram_max` copies of the keys with `ngram_max` padding keys between them, one Concat read as rows
    of K + ngram_max - 1: each copy starts one column further right. An n-gram is a term only within one
    review (any other holds an end or padding key), so the count of end tokens before its first token,
    a CumSum along each row of W, is its review's row."""
    from onnx import TensorProto

    if ngram_max == 1:
        tokens = keys
    else:
        pieces = [keys, "pad_keys"] * (ngram_max - 1) + [keys]
        tiled = build_.add("Concat", pieces, "token_copies", axis=0)
        tokens = build_.add("Reshape", [tiled, "shape_windows"], "windows")
    ends = build_.add("Cast", [build_.add("Equal", [tokens, "end_key"], "is_end")], "end_count", to=TensorProto.INT64)
    rows = build_.add("CumSum", [ends, "axis_last"], "gram_rows", exclusive=1)
    if ngram_max == 1:
        return keys, rows
    return build_.add("MatMul", ["key_powers", tokens], "all_keys"), rows


def _key_powers(ngram_max: int) -> np.ndarray:
    """[ngram_max, ngram_max] uint64: row m is P**0 .. P**m (wrapping), then zeros."""
    powers = np.zeros((ngram_max, ngram_max), np.uint64)
    power = 1
    for r in range(ngram_max):
        powers[r:, r] = power
        power = power * KEY_MULTIPLIER % 2**64
    return powers


def _lookup(build_: Builder, keys: str, rows: str) -> tuple[str, str]:
    """(row, slot) of every n-gram that is a term, each pair once, in descending order."""
    from onnx import TensorProto

    bucket = build_.add(
        "Cast", [build_.add("BitwiseAnd", [keys, "bucket_mask"], "bucket_u64")], "bucket", to=TensorProto.INT64
    )
    shift = build_.add("Gather", ["displacements", bucket], "shift_i32", axis=0)
    shift = build_.add("Cast", [shift], "shift", to=TensorProto.UINT64)
    base = build_.add(
        "Add", [build_.add("BitShift", [keys, "bucket_bits"], "bucket_base", direction="RIGHT"), shift], "slot_base"
    )
    slot = build_.add("Cast", [build_.add("Mod", [base, "slots"], "slot_u64")], "slot", to=TensorProto.INT64)
    hit = build_.add("Equal", [build_.add("Gather", ["slot_keys", slot], "slot_key", axis=0), keys], "is_term")
    pairs = build_.add("Add", [build_.add("Mul", [rows, "pair_base"], "row_base"), slot], "all_pairs")
    pairs = build_.add("Compress", [pairs, hit], "pairs")  # flattened
    count = build_.add("Shape", [pairs], "pair_count")
    ordered = build_.add("TopK", [pairs, count], "sorted_pairs", extra_outputs=1, largest=1, sorted=1)
    previous = build_.add("Concat", ["pair_above_all", ordered], "pairs_and_above", axis=0)
    previous = build_.add("Slice", [previous, "start_0", "end_minus_1"], "pairs_previous")
    first = build_.add("Greater", [previous, ordered], "pair_first")  # descending: a repeat equals the one before
    unique = build_.add("Compress", [ordered, first], "unique_pairs", axis=0)
    row = build_.add("Div", [unique, "pair_base"], "pair_row")
    slot = build_.add("Mod", [unique, "pair_base"], IDS_INPUT)
    return row, slot


def _table(proto: Any) -> tuple[Any, Any | None, list[Any], Any, list[Any]]:
    """(the first layer's weight initializer, its DequantizeLinear node or None, the other nodes that read only
    weights, the first layer's ReduceSum, the nodes after it)."""
    weights = {init.name: init for init in proto.graph.initializer}
    nodes = list(proto.graph.node)
    gather = next(n for n in nodes if n.op_type == "Gather" and n.input[1] == IDS_INPUT)
    summed = next(n for n in nodes if n.op_type == "ReduceSum" and n.input[0] == gather.output[0])
    dequantize = next((n for n in nodes if n.output[0] == gather.input[0] and n.op_type == "DequantizeLinear"), None)
    table = weights[dequantize.input[0] if dequantize is not None else gather.input[0]]
    once = [n for n in nodes if n is not dequantize and all(i in weights for i in n.input if i)]
    after = [n for n in nodes if n not in (gather, summed, dequantize) and n not in once]
    return table, dequantize, once, summed, after


def _permuted_table(table: Any, perfect: PerfectHash) -> Any:
    """The first layer's rows in slot order, then the pad row (the token-id table's last)."""
    from onnx import numpy_helper

    rows = numpy_helper.to_array(table)
    return numpy_helper.from_array(np.concatenate([rows[perfect.order], rows[-1:]]), table.name)


def check_fast_form(vectorizer: Vectorizer) -> None:
    """ExportError, before any work, when this vectorizer cannot have a text_fast form."""
    if vectorizer.config.hashed:
        raise ExportError(HASHED_HAS_NO_TEXT_FORM)
    if vectorizer.config.negation:
        raise ExportError(NEGATION_HAS_NO_FAST_FORM)
    terms = vectorizer.vocabulary
    if terms is None:
        raise ExportError("the text_fast form needs the terms, and this vectorizer stores only their fingerprints")


_TABLES: dict[bytes, tuple[PerfectHash, np.ndarray]] = {}


def fast_terms(vectorizer: Vectorizer) -> tuple[PerfectHash, np.ndarray]:
    """The perfect hash of the vocabulary's term keys, and the keys in slot order (built once per vocabulary:
    an export makes an fp32 and an int8 graph)."""
    check_fast_form(vectorizer)
    cache_key = vectorizer.fingerprints.tobytes()
    if cache_key in _TABLES:
        return _TABLES[cache_key]
    terms = vectorizer.vocabulary
    assert terms is not None  # check_fast_form
    keys = term_keys(terms)
    others = token_keys([REVIEW_END, PAD_TOKEN])  # review ends, padding and "br": no term's, nor a term token's
    alphabet = token_keys(sorted({word for term in terms for word in term.split(" ")}))
    if np.unique(keys).size != keys.size or np.isin(others, keys).any() or np.isin(others, alphabet).any():
        raise ExportError("two terms get the same 64-bit key in the text_fast form; use --input text")
    perfect = build(keys)
    _TABLES.clear()
    _TABLES[cache_key] = perfect, keys[perfect.order]
    return _TABLES[cache_key]


def fast_vectorizer(vectorizer: Vectorizer) -> Vectorizer:
    """The vectorizer with its terms in the text_fast graph's order (term i is the graph's row i), as that
    form's file stores it: fingerprints only."""
    perfect, _ = fast_terms(vectorizer)
    return Vectorizer(vectorizer.config, None, None, vectorizer.fingerprints[perfect.order])


def text_fast_graph(token_ids_proto: Any, vectorizer: Vectorizer, threshold: float = THRESHOLD) -> Any:
    """Wrap a token-id graph (fp32 or int8) with the integer front end; its first layer's rows are put in the
    perfect hash's slot order (fast_vectorizer() gives the terms in that order)."""

    perfect, slot_keys = fast_terms(vectorizer)
    ngram_max = vectorizer.config.ngram_max
    table, dequantize, once, summed, after = _table(token_ids_proto)
    width = int(table.dims[1])
    build_ = Builder()
    build_.nodes.extend(once)
    keys, rows = _ngram_keys(build_, _token_keys(build_), ngram_max)
    row, slot = _lookup(build_, keys, rows)
    gathered = build_.add("Gather", [table.name, slot], "gathered_rows", axis=0)
    if dequantize is not None:
        gathered = build_.add("DequantizeLinear", [gathered, *dequantize.input[1:]], "gathered_rows_float")
    column = build_.add("Unsqueeze", [TEXT_INPUT, "axes_1"], "text_column")
    every = build_.add("Equal", [column, column], "text_same")
    zeros = build_.add("Where", [every, "zero_row", "zero_row"], "row_sums_zero")  # [N, width]
    index = build_.add("Unsqueeze", [row, "axes_1"], "row_column")
    if width > 1:
        index = build_.add("Add", [index, "zero_row_ids"], "row_index")
    build_.add("ScatterElements", [zeros, index, gathered], summed.output[0], axis=0, reduction="add")
    build_.nodes.extend(after)
    add_label(build_, OUTPUT)
    used = {name for node in build_.nodes for name in node.input}
    weights = [
        _permuted_table(table, perfect) if init.name == table.name else init
        for init in token_ids_proto.graph.initializer
        if init.name in used  # the sum's axes go with the ReduceSum
    ]
    values = {
        "empty_text": np.array([""], dtype=object),
        "review_end": np.array(" " + REVIEW_END, dtype=object),
        "end_key": token_keys([REVIEW_END])[0],
        "pad_keys": np.repeat(token_keys([PAD_TOKEN]), ngram_max),
        "shape_windows": np.array([ngram_max, -1], np.int64),
        "key_powers": _key_powers(ngram_max),
        "axis_last": np.array(-1, np.int64),
        "axes_1": np.array([1], np.int64),
        "start_0": np.array([0], np.int64),
        "pair_above_all": np.array([np.iinfo(np.int64).max], np.int64),
        "two_32": np.array(2**32, np.uint64),
        "key_multiplier": np.array(KEY_MULTIPLIER, np.uint64),
        "bucket_mask": np.array(perfect.buckets - 1, np.uint64),
        "bucket_bits": np.array(perfect.buckets.bit_length() - 1, np.uint64),
        "slots": np.array(perfect.slots, np.uint64),
        "displacements": perfect.displacements,
        "slot_keys": slot_keys,
        "pair_base": np.array(perfect.slots + 1, np.int64),
        "zero_row": np.zeros((1, width), np.float32),
        "zero_row_ids": np.zeros((1, width), np.int64),
        "pad_key": token_keys([PAD_TOKEN])[0],
        "end_minus_1": np.array([-1], np.int64),
    }
    initializers = [*weights, *(constant(name, value) for name, value in values.items())]
    return text_model(build_, "imdb_edge_text_fast", initializers, threshold, _opsets())
