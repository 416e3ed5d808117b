"""The text_fast graph: raw review strings in, score and label out, in one pass over the batch.

The portable text form (text_graph.py) runs about 150 string operators per review
inside a Loop and looks terms up in a 200,000-string LabelEncoder: 27 times the
Python runtime, and a 7 MB file. This form does the same arithmetic on the batch
at once, with integers after the tokenizer:

1. StringNormalizer(LOWER, locale "C") on each text, " Z" appended (a token no
   lowercased review holds: it ends each review's tokens), then one
   com.microsoft.Tokenizer (an RE2 pattern: runs of anything but ASCII whitespace and
   punctuation) gives the ascii-split-v1 tokens of every review, padded to the longest;
2. "br" and the padding (also "br") are dropped; no n-gram holding an end token is a
   term, so none runs into the next review, and a CumSum of the end tokens numbers each
   n-gram's review;
3. each token gets a 64-bit key from two com.microsoft.MurmurHash3 (two seeds), and an
   n-gram the key of its prefix * P + its last token's key (uint64, wrapping): every
   n-gram of every length by one MatMul over a matrix of the token keys moved 0-3 places,
   no strings built;
4. the keys are looked up in a perfect hash (perfect_hash.py): two Gathers and a
   compare, and no lookup structure for onnxruntime to build when a session starts;
5. repeated (row, term) pairs are dropped by a table that keeps each bucket's largest pair,
   only the few that lose their bucket being sorted (TopK), the term rows gathered and
   summed per review (ScatterElements, reduction "add"), and the token-id graph's
   layers after its sum do the rest (a linear model's on a vector).

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
from imdb_edge.runtime.modelfile.schema import INPUT_NAMES, LABEL_OUTPUT, LABELS, TEXT_FAST, THRESHOLD
from imdb_edge.runtime.vectorizer import STOP_TOKENS, Vectorizer

TEXT_FAST_OPSET = 20
CONTRIB_DOMAIN = "com.microsoft"
TEXT_INPUT = INPUT_NAMES[TEXT_FAST]
TOKEN_PATTERN = FAST_TOKEN_PATTERN  # the graph check accepts this pattern only
MURMUR_SEEDS = (0x1D8E4E27, 0x6C8E9CF5)
KEY_MULTIPLIER = 0x9E3779B97F4A7C15  # odd, (P - 1) / 2 odd: "a b" and "b a" differ unless a - b = 0 mod 2**63
DEDUP_BUCKETS = 2048
"""The dedup table: about 7 times a review's distinct terms, so that few of them lose their bucket."""
NEGATION_HAS_NO_FAST_FORM = (
    "the negation tokenizer (ascii-split-neg-v1) has no text_fast form: its marks need clause ends and the "
    "n't rule, which the fast graph's one tokenizer drops; use --input text (standard operators, slower)"
)


def _hash_tokens(build_: Builder, tokens: str) -> str:
    """Tokens (any shape) -> [1, K] uint64 keys: two MurmurHash3 (x86, 32 bits) joined, high * 2**32 + low, by
    one MatMul."""
    from onnx import TensorProto

    halves = [
        build_.add("MurmurHash3", [tokens], f"murmur_{index}", domain=CONTRIB_DOMAIN, seed=seed, positive=1)
        for index, seed in enumerate(MURMUR_SEEDS)
    ]
    halves = build_.add(
        "Cast", [build_.add("Concat", halves, "murmur_halves", axis=0)], "halves_u64", to=TensorProto.UINT64
    )
    halves = build_.add("Reshape", [halves, "shape_halves"], "halves")  # [2, K]: every high half, every low
    return build_.add("MatMul", ["join_halves", halves], "token_keys")


def token_keys(tokens: list[str]) -> np.ndarray:
    """The graph's token keys, computed by onnxruntime with the graph's own operators."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    build_ = Builder()
    build_.add("Reshape", [_hash_tokens(build_, "tokens"), "shape_flat"], "keys")
    graph = helper.make_graph(
        build_.nodes,
        "token_keys",
        [helper.make_tensor_value_info("tokens", TensorProto.STRING, ["n"])],
        [helper.make_tensor_value_info("keys", TensorProto.UINT64, ["n"])],
        initializer=[constant(name, value) for name, value in _HASH_CONSTANTS.items()]
        + [constant("shape_flat", np.array([-1], np.int64))],
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


_HASH_CONSTANTS = {
    "shape_halves": np.array([2, -1], np.int64),
    "join_halves": np.array([[2**32, 1]], np.uint64),
}


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
    gets one empty text more, taken off again right after (kept, it would be a row of the Tokenizer's output,
    padded to the longest review). Tokens are hashed where the Tokenizer put them,
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
    keys = _hash_tokens(build_, pieces)
    keep = build_.add("Not", [build_.add("Equal", [keys, "pad_key"], "is_dropped")], "keep")
    return build_.add("Compress", [keys, keep], "kept_keys")  # flattened


def _ngram_keys(build_: Builder, keys: str, ngram_max: int) -> tuple[str, str]:
    """[K] token keys -> (the keys of every n-gram [ngram_max, K + ngram_max - 1], their review rows * pair_base).

    Row m, column c holds the key of the (m + 1)-gram that ends at token c: its tokens are the matrix
    W[r, c] = keys[c - r] (r = 0..m), with the padding key where c - r falls outside the tokens, and
    key = sum of P**r * W[r, c], one MatMul with the constant [[P**r if r <= m else 0]] (uint64, wrapping).
    W is `ngram_max` copies of the keys with `ngram_max` padding keys between them, one Concat read as rows
    of K + ngram_max - 1: each copy starts one column further right. An n-gram is a term only within one
    review (any other holds an end or padding key), so the count of end tokens before its last token (W's first
    row) is its review's row: a CumSum along that row of pair_base at each end token gives row * pair_base, the
    row's part of the (row, slot) pairs, for every n-gram of the column."""
    if ngram_max == 1:
        tokens = last = keys
    else:
        pieces = [keys, "pad_keys"] * (ngram_max - 1) + [keys]
        tiled = build_.add("Concat", pieces, "token_copies", axis=0)
        tokens = build_.add("Reshape", [tiled, "shape_windows"], "windows")
        last = build_.add("Slice", [tokens, "start_0", "end_1"], "last_tokens")  # [1, K + ngram_max - 1]
    ends = build_.add("Where", [build_.add("Equal", [last, "end_key"], "is_end"), "pair_base", "zero"], "end_step")
    rows = build_.add("CumSum", [ends, "axis_last"], "gram_row_bases", exclusive=1)
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


def _lookup(build_: Builder, keys: str, row_bases: str) -> tuple[str, str]:
    """(row, slot) of every n-gram that is a term, each pair once.

    The perfect hash (perfect_hash.py) gives each key a slot, and the key stored there says whether it is that
    slot's term. A hit becomes the pair row * pair_base + slot (pair_base a power of two above the slot count).
    Repeats are dropped mostly without a sort: each pair goes to a bucket (its low bits) of a table of
    DEDUP_BUCKETS, which keeps the largest pair of each bucket (ScatterElements, reduction "max"); the table's
    filled buckets are distinct pairs, every copy of them is dropped, and only the pairs that lost their bucket
    to a larger one (a few per review) are sorted (TopK) to drop their own repeats."""
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
    pairs = build_.add("Compress", [build_.add("Add", [row_bases, slot], "all_pairs"), hit], "pairs")  # flattened
    bucket = build_.add("BitwiseAnd", [pairs, "dedup_mask"], "pair_bucket")
    largest = build_.add("ScatterElements", ["dedup_empty", bucket, pairs], "bucket_largest", axis=0, reduction="max")
    kept = build_.add("Greater", [largest, "dedup_empty_value"], "bucket_filled")
    kept = build_.add("Compress", [largest, kept], "bucket_pairs", axis=0)
    beaten = build_.add("Greater", [build_.add("Gather", [largest, bucket], "pair_largest", axis=0), pairs], "beaten")
    beaten = build_.add("Compress", [pairs, beaten], "beaten_pairs", axis=0)
    count = build_.add("Shape", [beaten], "beaten_count")
    ordered = build_.add("TopK", [beaten, count], "sorted_beaten", extra_outputs=1, largest=1, sorted=1)
    previous = build_.add("Concat", ["pair_above_all", ordered], "beaten_and_above", axis=0)
    previous = build_.add("Slice", [previous, "start_0", "end_minus_1"], "beaten_previous")
    first = build_.add("Greater", [previous, ordered], "beaten_first")  # descending: a repeat equals the one before
    unique = build_.add("Compress", [ordered, first], "beaten_unique", axis=0)
    unique = build_.add("Concat", [kept, unique], "unique_pairs", axis=0)
    row = build_.add("Div", [unique, "pair_base"], "pair_row")
    return row, build_.add("BitwiseAnd", [unique, "slot_mask"], IDS_INPUT)


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


def _permuted_table(table: Any, perfect: PerfectHash, flat: bool) -> Any:
    """The first layer's rows in slot order, then the pad row (the token-id table's last); one value per row
    when `flat` (a one-column table gathered as a vector)."""
    from onnx import numpy_helper

    rows = numpy_helper.to_array(table)
    rows = np.concatenate([rows[perfect.order], rows[-1:]])
    return numpy_helper.from_array(rows.reshape(-1) if flat else rows, table.name)


def _linear_bias(proto: Any, width: int, summed: Any, after: list[Any]) -> str | None:
    """The bias of a linear model (one column, then Add of a one-value bias and Sigmoid, as the shipped model):
    its score is sigmoid(bias + the sum), which the graph computes on a vector, the sum starting at the bias.
    None for any other model."""
    sizes = {init.name: int(np.prod(init.dims)) for init in proto.graph.initializer}
    if width != 1 or [node.op_type for node in after] != ["Add", "Sigmoid"]:
        return None
    add, sigmoid = after
    others = [name for name in add.input if name != summed.output[0]]
    if len(others) != 1 or len(add.input) != 2 or sizes.get(others[0]) != 1:
        return None
    if list(sigmoid.input) != [add.output[0]] or list(sigmoid.output) != [OUTPUT]:
        return None
    return others[0]


def _initializer(proto: Any, name: str) -> np.ndarray:
    from onnx import numpy_helper

    return numpy_helper.to_array(next(init for init in proto.graph.initializer if init.name == name))


def _linear_tail(build_: Builder, weights: str, row: str, bias: str) -> None:
    """Score and label of a linear model from each unique term's weight [U] and review row [U]: the sums
    start at the bias (a vector of one per text), then sigmoid, the threshold and the two labels (Where)."""
    every = build_.add("Equal", [TEXT_INPUT, TEXT_INPUT], "text_same")
    start = build_.add("Where", [every, "bias_vector", "bias_vector"], "sums_start")
    logits = build_.add("ScatterElements", [start, row, weights], "logits", axis=0, reduction="add")
    scores = build_.add("Sigmoid", [logits], "scores_vector")
    build_.add("Unsqueeze", [scores, "axes_1"], OUTPUT)
    above = build_.add("GreaterOrEqual", [scores, "threshold"], "is_positive")
    build_.add("Where", [above, "label_above", "label_below"], LABEL_OUTPUT)


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
    pair_base = 1 << perfect.slots.bit_length()  # above the pad slot (= slots): a row's pairs never reach the next
    build_ = Builder()
    build_.nodes.extend(once)
    keys, rows = _ngram_keys(build_, _token_keys(build_), ngram_max)
    row, slot = _lookup(build_, keys, rows)
    gathered = build_.add("Gather", [table.name, slot], "gathered_rows", axis=0)
    if dequantize is not None:
        gathered = build_.add("DequantizeLinear", [gathered, *dequantize.input[1:]], "gathered_rows_float")
    bias = _linear_bias(token_ids_proto, width, summed, after)
    if bias is not None:
        _linear_tail(build_, gathered, row, bias)
    else:
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
        _permuted_table(table, perfect, bias is not None) if init.name == table.name else init
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
        "zero": np.array(0, np.int64),
        "dedup_mask": np.array(DEDUP_BUCKETS - 1, np.int64),
        "dedup_empty": np.full(DEDUP_BUCKETS, -1, np.int64),
        "dedup_empty_value": np.array(-1, np.int64),
        **_HASH_CONSTANTS,
        "bucket_mask": np.array(perfect.buckets - 1, np.uint64),
        "bucket_bits": np.array(perfect.buckets.bit_length() - 1, np.uint64),
        "slots": np.array(perfect.slots, np.uint64),
        "displacements": perfect.displacements,
        "slot_keys": slot_keys,
        "pair_base": np.array(pair_base, np.int64),
        "slot_mask": np.array(pair_base - 1, np.int64),
        "zero_row": np.zeros((1, width), np.float32),
        "zero_row_ids": np.zeros((1, width), np.int64),
        "pad_key": token_keys([PAD_TOKEN])[0],
        "bias_vector": _initializer(token_ids_proto, bias).reshape(1) if bias is not None else None,
        "label_above": np.array(LABELS[1], dtype=object),
        "label_below": np.array(LABELS[0], dtype=object),
        "end_minus_1": np.array([-1], np.int64),
        "end_1": np.array([1], np.int64),
    }
    initializers = [*weights, *(constant(name, value) for name, value in values.items() if name in used)]
    return text_model(build_, "imdb_edge_text_fast", initializers, threshold, _opsets())
