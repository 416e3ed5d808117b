#!/usr/bin/env python3
"""Short-review benchmark: accuracy on pieces of the test reviews, next to the full reviews.

Users type a line, not 230 words. From each test review this makes its first
sentence, its first 20 words and its last 30 words (labelled like the review;
imdb_edge/data/short_texts.py, pure Python),
scores them and the full reviews with each exported .onnx file through the runtime
`Classifier` (numpy + onnxruntime only), and prints accuracy per variant and per
length bucket (words), so a model choice cannot trade short-text accuracy away
silently.

    python benchmarks/short_reviews.py --model a.int8.onnx --model b.int8.onnx --data PATH [--json out.json]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imdb_edge.atomic import write_json
from imdb_edge.data.short_texts import PIECES, plain_words
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.classifier import Classifier

BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 30), (31, None))
VARIANTS: dict[str, Callable[[str], str]] = {"full": lambda text: text, **PIECES}


def bucket_name(low: int, high: int | None) -> str:
    return f"{low}+ words" if high is None else f"{low}-{high} words"


@dataclass(frozen=True)
class ShortSet:
    """Every variant of every review: texts, labels, variant names and word counts."""

    texts: list[str]
    labels: np.ndarray
    variants: np.ndarray
    words: np.ndarray


def build_short_set(texts: Sequence[str], labels: np.ndarray) -> ShortSet:
    out_texts: list[str] = []
    out_labels: list[int] = []
    out_variants: list[str] = []
    for name, make in VARIANTS.items():
        for text, label in zip(texts, labels, strict=True):
            out_texts.append(make(text))
            out_labels.append(int(label))
            out_variants.append(name)
    words = np.array([len(plain_words(t)) for t in out_texts])
    return ShortSet(out_texts, np.array(out_labels), np.array(out_variants), words)


def accuracy_table(scores: np.ndarray, short: ShortSet, threshold: float = 0.5) -> dict[str, tuple[float, int]]:
    """Accuracy and count per variant, then per length bucket of the short variants."""
    correct = (scores >= threshold) == short.labels.astype(bool)
    table = {}
    for name in VARIANTS:
        mask = short.variants == name
        table[name] = (float(correct[mask].mean()), int(mask.sum()))
    shorts = short.variants != "full"
    for low, high in BUCKETS:
        mask = shorts & (short.words >= low) & (short.words <= (high if high is not None else sys.maxsize))
        if mask.any():
            table[f"short, {bucket_name(low, high)}"] = (float(correct[mask].mean()), int(mask.sum()))
    return table


def to_markdown(results: dict[str, dict[str, tuple[float, int]]]) -> str:
    columns = list(dict.fromkeys(col for table in results.values() for col in table))
    header = "| model | " + " | ".join(columns) + " |\n|---|" + "---:|" * len(columns) + "\n"
    counts = (
        "| (texts) | " + " | ".join(str(next(iter(results.values())).get(col, (0, 0))[1]) for col in columns) + " |\n"
    )
    rows = []
    for model, table in results.items():
        cells = [f"{100 * table[col][0]:.2f}" if col in table else "-" for col in columns]
        rows.append(f"| {model} | " + " | ".join(cells) + " |")
    return header + counts + "\n".join(rows) + "\n"


def take_every(texts: list[str], labels: np.ndarray, limit: int | None) -> tuple[list[str], np.ndarray]:
    """An evenly spaced subset (both classes, since the split is ordered by label)."""
    if limit is None or limit >= len(texts):
        return texts, labels
    index = np.linspace(0, len(texts) - 1, limit).round().astype(int)
    return [texts[i] for i in index], labels[index]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", "-m", action="append", required=True, help="an exported .onnx file (repeat)")
    parser.add_argument("--data", required=True, help="the aclImdb folder or archive (its test split is used)")
    parser.add_argument("--limit", type=int, default=None, help="use this many evenly spaced test reviews")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    try:
        from imdb_edge.data.dataset import load_dataset

        if args.limit is not None and args.limit < 2:
            raise ImdbEdgeError(f"--limit must be at least 2, got {args.limit}")
        classifiers = {path: Classifier.load(path) for path in args.model}
        dataset = load_dataset(args.data)
        texts, labels = take_every(dataset.test.texts, dataset.test.labels, args.limit)
        short = build_short_set(texts, labels)
        results = {
            path: accuracy_table(classifier.scores(short.texts), short, classifier.threshold)
            for path, classifier in classifiers.items()
        }
    except ImdbEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(to_markdown(results), end="")
    if args.json is not None:
        figures = {model: {k: {"accuracy": a, "count": n} for k, (a, n) in t.items()} for model, t in results.items()}
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
