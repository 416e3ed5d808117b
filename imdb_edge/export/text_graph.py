"""The text-input graph: raw review strings in, score and label out, in standard ONNX.

Any onnxruntime app (Node.js, C#, Java, C++, mobile) gets the whole classifier,
tokenizer included, from the one file. The tokenizer is rebuilt from standard
operators so that it gives exactly the token sequence of `runtime/vectorizer.py`:

1. StringNormalizer(LOWER, locale "C"): ASCII letters only, like the Python side
   (the default en_US.UTF-8 locale is missing on minimal devices, and would also
   lowercase non-ASCII letters);
2. StringSplit on runs of spaces, then one StringSplit per other separator
   (ASCII whitespace and punctuation), dropping the empty pieces after each;
3. drop the token "br"; with negation marks (tokenizer ascii-split-neg-v1), the text is
   first split at clause ends and every token keeps its clause's number, a CumSum of
   negators per clause finds the tokens to mark, and StringConcat prefixes them with
   "~" (the t of n't: a piece after "'" whose previous piece ends in n, RegexFullMatch);
4. build word n-grams with StringConcat;
5. LabelEncoder maps terms to vocabulary ids (unknown -> the pad id), Unique
   removes repeats, and the token-id graph (Gather + ReduceSum + MLP) does the rest.

Reviews are processed one at a time inside a Loop, because StringSplit pads a batch
to its longest row. Nodes that read only weights (an int8 table's
DequantizeLinear) run once, outside the Loop.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from imdb_edge.export.errors import ExportError
from imdb_edge.export.graphs import IDS_INPUT, OUTPUT
from imdb_edge.runtime.modelfile.schema import INPUT_NAMES, LABEL_OUTPUT, LABELS, TEXT, THRESHOLD
from imdb_edge.runtime.vectorizer import (
    CLAUSE_ENDS,
    NEGATED_PREFIX,
    NEGATORS,
    STOP_TOKENS,
    Vectorizer,
)

TEXT_INPUT = INPUT_NAMES[TEXT]
HASHED_HAS_NO_TEXT_FORM = (
    "a hashed n-gram model has no text form: the text form looks terms up with ONNX string operators, which "
    "cannot compute the hash; use the token_ids form (the default)"
)
TEXT_OPSET = 20
ML_OPSET = 3
_OTHER_SEPARATORS = [c for c in string.whitespace + string.punctuation if c != " "]
_APOSTROPHE = "'"


class Builder:
    def __init__(self) -> None:
        self.nodes: list[Any] = []

    def add(self, op: str, inputs: list[str], output: str, extra_outputs: int = 0, **attributes: Any) -> str:
        """Add a node; returns its (first) output. StringSplit also gets its counts output; `extra_outputs`
        more are named `{output}_1`, `{output}_2`, ..."""
        from onnx import helper

        outputs = [output, f"{output}_counts"] if op == "StringSplit" else [output]
        outputs += [f"{output}_{index}" for index in range(1, extra_outputs + 1)]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=output, **attributes))
        return output


def constant(name: str, value: np.ndarray) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(value, name)


def _drop(build: Builder, tokens: str, value: str, tag: str) -> str:
    """tokens without the elements equal to the constant `value`."""
    equal = build.add("Equal", [tokens, value], f"{tag}_is")
    keep = build.add("Not", [equal], f"{tag}_keep")
    return build.add("Compress", [tokens, keep], f"{tag}_kept", axis=0)


def _plain_tokens(build: Builder, text: str) -> str:
    """[1] lowered review -> [T] tokens (ascii-split-v1)."""
    pieces = build.add("StringSplit", [text], "split_space")
    tokens = build.add("Reshape", [pieces, "shape_flat"], "tokens_space")
    for index, separator in enumerate(_OTHER_SEPARATORS):
        pieces = build.add("StringSplit", [tokens], f"split_{index}", delimiter=separator)
        pieces = build.add("Reshape", [pieces, "shape_flat"], f"pieces_{index}")
        tokens = _drop(build, pieces, "empty_string", f"nonempty_{index}")
    for index, _ in enumerate(STOP_TOKENS):
        tokens = _drop(build, tokens, f"stop_{index}", f"nostop_{index}")
    return tokens


def _keep(build: Builder, arrays: tuple[str, str, str], keep: str, tag: str) -> tuple[str, str, str]:
    """Each of the parallel [N] arrays (tokens, clause numbers, after-n' flags) without the elements where
    `keep` is false."""
    tokens, clause, after_n = (build.add("Compress", [a, keep], f"{tag}_{i}", axis=0) for i, a in enumerate(arrays))
    return tokens, clause, after_n


def _split_in_clauses(
    build: Builder, tokens: str, clause: str, after_n: str, separator: str | None, tag: str
) -> tuple[str, str, str]:
    """Split the [N] tokens at `separator` (None: whitespace runs); each nonempty piece keeps its token's clause
    number, and after_n says whether the piece starts right after "n'" (set at the apostrophe's split)."""
    pieces = build.add("StringSplit", [tokens], f"{tag}_split", **({"delimiter": separator} if separator else {}))
    column = build.add("CumSum", [_ones_like(build, pieces, tag), "axis_1"], f"{tag}_column", exclusive=1)
    first = build.add("Equal", [column, "zero"], f"{tag}_is_first")
    no_column = build.add("Sub", [column, column], f"{tag}_zeros")  # broadcasting does what Expand would
    wide_clause = build.add("Unsqueeze", [clause, "axes_1"], f"{tag}_clause_column")
    wide_clause = build.add("Add", [wide_clause, no_column], f"{tag}_clause")
    if separator == _APOSTROPHE:
        ends_n = build.add("RegexFullMatch", [pieces], f"{tag}_ends_n", pattern="(?s).*n")
        previous = build.add("Slice", [ends_n, "start_0", "minus_1", "axes_1"], f"{tag}_previous_ends_n")
        nothing = build.add("Slice", [first, "start_0", "one", "axes_1"], f"{tag}_first_column")
        nothing = build.add("Not", [nothing], f"{tag}_false_column")
        follows = build.add("Concat", [nothing, previous], f"{tag}_follows_n", axis=1)
    else:
        wide_after = build.add("Unsqueeze", [after_n, "axes_1"], f"{tag}_after_column")
        follows = build.add("And", [wide_after, first], f"{tag}_after")  # a piece's first part keeps it
    tokens, clause, after_n = (
        build.add("Reshape", [array, "shape_flat"], f"{tag}_flat_{i}")
        for i, array in enumerate([pieces, wide_clause, follows])
    )
    nonempty = build.add("Not", [build.add("Equal", [tokens, "empty_string"], f"{tag}_empty")], f"{tag}_nonempty")
    return _keep(build, (tokens, clause, after_n), nonempty, f"{tag}_kept")


def _negation_tokens(build: Builder, text: str) -> str:
    """[1] lowered review -> [T] tokens with negated ones marked (ascii-split-neg-v1)."""
    from onnx import TensorProto

    clauses = text
    for index, end in enumerate(CLAUSE_ENDS.decode("ascii")):
        pieces = build.add("StringSplit", [clauses], f"clause_split_{index}", delimiter=end)
        clauses = build.add("Reshape", [pieces, "shape_flat"], f"clauses_{index}")
    clause = build.add("CumSum", [_ones_like(build, clauses, "clause"), "axis_0"], "clause_number", exclusive=1)
    after_n = build.add("Equal", [clause, "minus_1"], "after_n_none")  # all false
    tokens, clause, after_n = _split_in_clauses(build, clauses, clause, after_n, None, "neg_space")
    for index, separator in enumerate(_OTHER_SEPARATORS):
        tokens, clause, after_n = _split_in_clauses(build, tokens, clause, after_n, separator, f"neg_{index}")
    for index, _ in enumerate(STOP_TOKENS):
        stop = build.add("Equal", [tokens, f"stop_{index}"], f"neg_stop_{index}")
        tokens, clause, after_n = _keep(
            build, (tokens, clause, after_n), build.add("Not", [stop], f"neg_go_{index}"), f"neg_nostop_{index}"
        )
    negator = build.add(
        "LabelEncoder",
        [tokens],
        "negator_word",
        domain="ai.onnx.ml",
        keys_strings=[word.decode("ascii") for word in NEGATORS],
        values_int64s=[1] * len(NEGATORS),
        default_int64=0,
    )
    nt = build.add("And", [build.add("Equal", [tokens, "t_token"], "is_t"), after_n], "is_nt")
    typographic = build.add("RegexFullMatch", [tokens], "ends_n_typographic_t", pattern="(?s).*n\u2019t")
    nt = build.add("Or", [nt, typographic], "is_any_nt")
    negator = build.add("Add", [negator, build.add("Cast", [nt], "nt_count", to=TensorProto.INT64)], "negator")
    before = build.add("CumSum", [negator, "axis_0"], "negators_before", exclusive=1)
    build.add("Unique", [clause], "clauses_seen", extra_outputs=2, sorted=1)  # _1: first places, _2: inverse
    start = build.add("Gather", ["clauses_seen_1", "clauses_seen_2"], "clause_start", axis=0)
    at_start = build.add("Gather", [before, start], "negators_before_clause", axis=0)
    in_scope = build.add("Greater", [build.add("Sub", [before, at_start], "negators_in_clause"), "zero"], "in_scope")
    marked = build.add("StringConcat", ["negated_prefix", tokens], "marked_tokens")
    return build.add("Where", [in_scope, marked, tokens], "tokens_negation")


def _ones_like(build: Builder, strings: str, tag: str) -> str:
    """An int64 1 for each element of `strings` (no ConstantOfShape: a graph check refuses shapes from data)."""
    from onnx import TensorProto

    same = build.add("Equal", [strings, strings], f"{tag}_same")
    return build.add("Cast", [same], f"{tag}_ones", to=TensorProto.INT64)


def _review_ids(build: Builder, vectorizer: Vectorizer) -> str:
    """The body's front end: one review string -> [1, T] sorted unique ids (pad id included)."""
    text = build.add("Gather", [TEXT_INPUT, "iteration"], "review", axis=0)
    text = build.add("Reshape", [text, "shape_1"], "review_1")
    text = build.add("StringNormalizer", [text], "lowered", case_change_action="LOWER", locale="C")
    tokens = _negation_tokens(build, text) if vectorizer.config.negation else _plain_tokens(build, text)
    terms = [tokens]
    for n in range(2, vectorizer.config.ngram_max + 1):
        gram = build.add("Slice", [tokens, "start_0", f"end_{n}"], f"gram{n}_0")
        for offset in range(1, n):
            spaced = build.add("StringConcat", [gram, "space"], f"gram{n}_{offset}_space")
            nxt = build.add("Slice", [tokens, f"start_{offset}", f"end_{n - offset}"], f"gram{n}_{offset}_next")
            gram = build.add("StringConcat", [spaced, nxt], f"gram{n}_{offset}")
        terms.append(gram)
    allterms = build.add("Concat", terms, "terms", axis=0) if len(terms) > 1 else tokens
    ids = build.add(
        "LabelEncoder",
        [allterms],
        "term_ids",
        domain="ai.onnx.ml",
        keys_strings=vectorizer.vocabulary,
        values_int64s=list(range(vectorizer.size)),
        default_int64=vectorizer.size,
    )
    ids = build.add("Concat", ["pad_id", ids], "ids_and_pad", axis=0)
    ids = build.add("Unique", [ids], "unique_ids", sorted=1)
    return build.add("Reshape", [ids, "shape_row"], IDS_INPUT)


def _constants(vectorizer: Vectorizer, labels: tuple[str, ...] = LABELS) -> list[Any]:
    n_max = vectorizer.config.ngram_max
    width = 1 if len(labels) == 2 else len(labels)  # scores a review: one (two labels) or one a label
    values = {
        "shape_1": np.array([1], np.int64),
        "shape_width": np.array([width], np.int64),
        "shape_flat": np.array([-1], np.int64),
        "shape_row": np.array([1, -1], np.int64),
        "shape_scores": np.array([-1, width], np.int64),
        "empty_string": np.array([""], dtype=object),
        "pad_id": np.array([vectorizer.size], np.int64),
        "labels_table": np.array(labels, dtype=object),
        "zero_axis": np.array([0], np.int64),
    }
    for index, stop in enumerate(STOP_TOKENS):
        values[f"stop_{index}"] = np.array([stop], dtype=object)
    if vectorizer.config.negation:
        values.update(
            {
                "axis_0": np.array(0, np.int64),
                "axis_1": np.array(1, np.int64),
                "axes_1": np.array([1], np.int64),
                "zero": np.array(0, np.int64),
                "one": np.array([1], np.int64),
                "minus_1": np.array([-1], np.int64),
                "start_0": np.array([0], np.int64),
                "t_token": np.array(["t"], dtype=object),
                "negated_prefix": np.array([NEGATED_PREFIX.decode("ascii")], dtype=object),
            }
        )
    if n_max > 1:
        values["space"] = np.array([" "], dtype=object)
        for offset in range(n_max):
            values[f"start_{offset}"] = np.array([offset], np.int64)
    for n in range(2, n_max + 1):
        # slice ends counted from the end: tokens[offset : len - (n - 1 - offset)]
        for remaining in range(1, n + 1):
            values.setdefault(f"end_{remaining}", np.array([-(remaining - 1) or np.iinfo(np.int64).max], np.int64))
    return [constant(name, value) for name, value in values.items()]


def text_graph(
    token_ids_proto: Any, vectorizer: Vectorizer, threshold: float | None = THRESHOLD, labels: tuple[str, ...] = LABELS
) -> Any:
    """Wrap a token-id graph (fp32 or int8) with the string front end. Two labels: `label` by the threshold on
    the one score; more: the likeliest of `labels` (ArgMax)."""
    from onnx import TensorProto, helper

    if vectorizer.config.hashed:
        raise ExportError(HASHED_HAS_NO_TEXT_FORM)

    weights = {init.name for init in token_ids_proto.graph.initializer}
    once = [n for n in token_ids_proto.graph.node if all(i in weights for i in n.input if i)]
    per_review = [n for n in token_ids_proto.graph.node if n not in once]

    body = Builder()
    _review_ids(body, vectorizer)
    body.nodes.extend(per_review)
    body.add("Reshape", [OUTPUT, "shape_width"], "review_score")
    body.add("Identity", ["condition"], "condition_out")
    loop_body = helper.make_graph(
        body.nodes,
        "per_review",
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("condition", TensorProto.BOOL, []),
        ],
        [
            helper.make_tensor_value_info("condition_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("review_score", TensorProto.FLOAT, [1 if len(labels) == 2 else len(labels)]),
        ],
    )
    main = Builder()
    main.nodes.extend(once)
    count = main.add("Shape", [TEXT_INPUT], "review_count_1")
    count = main.add("Squeeze", [count, "zero_axis"], "review_count")
    main.nodes.append(helper.make_node("Loop", [count, ""], ["scores_flat"], name="reviews", body=loop_body))
    main.add("Reshape", ["scores_flat", "shape_scores"], OUTPUT)
    add_label(main, "scores_flat", labels)
    opsets = [helper.make_opsetid("", TEXT_OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)]
    initializers = [*token_ids_proto.graph.initializer, *_constants(vectorizer, labels)]
    return text_model(main, "imdb_edge_text", initializers, threshold, opsets, labels)


def add_label(build: Builder, scores: str, labels: tuple[str, ...] = LABELS) -> None:
    """The `label` output: two labels, by the threshold on each one score; more, the likeliest (ArgMax)."""
    from onnx import TensorProto

    if len(labels) == 2:
        vector = build.add("Reshape", [scores, "shape_flat"], "scores_vector")
        above = build.add("GreaterOrEqual", [vector, "threshold"], "is_positive")
        index = build.add("Cast", [above], "label_index", to=TensorProto.INT64)
    else:
        index = build.add("ArgMax", [OUTPUT], "label_index", axis=1, keepdims=0)
    build.add("Gather", ["labels_table", index], LABEL_OUTPUT, axis=0)


def text_model(
    build: Builder,
    name: str,
    initializers: list[Any],
    threshold: float | None,
    opsets: list[Any],
    labels: tuple[str, ...] = LABELS,
) -> Any:
    """The model of a text-input form: `texts` [batch] in, `score` [batch, 1] (two labels; [batch, K] for K)
    and `label` [batch] out (the label table, the threshold of two labels and the flat shape are added to
    `initializers` unless there or unused)."""
    from onnx import TensorProto, helper

    constants: dict[str, np.ndarray] = {
        "labels_table": np.array(labels, dtype=object),
        "shape_flat": np.array([-1], np.int64),
    }
    if len(labels) == 2:
        constants["threshold"] = np.array(threshold, np.float32)
    names = {init.name for init in initializers}
    used = {name for node in build.nodes for name in node.input}
    graph = helper.make_graph(
        build.nodes,
        name,
        [helper.make_tensor_value_info(TEXT_INPUT, TensorProto.STRING, ["batch"])],
        [
            helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", 1 if len(labels) == 2 else len(labels)]),
            helper.make_tensor_value_info(LABEL_OUTPUT, TensorProto.STRING, ["batch"]),
        ],
        initializer=[*initializers, *(constant(k, v) for k, v in constants.items() if k not in names and k in used)],
    )
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="imdb-edge")
    proto.ir_version = 9
    return proto
