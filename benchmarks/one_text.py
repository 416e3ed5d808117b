#!/usr/bin/env python3
"""One text at a time, by length (issue 29): `Classifier.predict` against onnxruntime's floor and fastText.

For first sentences, first 20 words and full reviews of the same pool of test reviews
(imdb_edge/bench/reviews.py: 500 drawn with seed 0), each case is a pass over the pool's
texts in turn, timed by the process's CPU time; the cases take turns in every round (the
order rotates) and each figure is the median over the rounds, each ratio the median of
the per-round ratios: what holds on a shared, noisy machine.

- floor: the C kernel (`Classifier.model_inputs([text])`) plus onnxruntime's cheapest run
  call on its output (the session's own `_sess.run`, a reused RunOptions): no answer built,
  no checks, no time limit; what any Python caller of this model pays at least;
- predict: `Classifier.predict(text)`, the answer with its label, both scores and the count
  of known terms;
- fastText predict: `model.predict(line)` of fastText trained on the same reviews, on text
  already normalized into its tokens (its tokenizing is not timed);
- scores, batch 64: `Classifier.scores` of 64 texts (the batch path, for regressions).

Targets (issue 29): predict on first sentences at most 1.3x the floor; faster than fastText
on first sentences, first 20 words and full reviews.

    python benchmarks/one_text.py --data "$IMDB_EDGE_DATA"            # trains fastText (about 2 minutes)
    python benchmarks/one_text.py --data "$IMDB_EDGE_DATA" --no-fasttext --json   # for A/B runs of two versions

benchmarks/peers.py runs the same section with its own fastText model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from imdb_edge.bench.reviews import POOL_SIZE, batches, draw_pool
from imdb_edge.data.short_texts import first_sentence, first_words
from imdb_edge.runtime.classifier import Classifier, default_model_path
from imdb_edge.runtime.vectorizer import tokenize

KINDS: dict[str, Callable[[str], str]] = {
    "first sentences": lambda text: first_sentence(text) or text,
    "first 20 words": lambda text: first_words(text, 20) or text,
    "full reviews": lambda text: text,
}
FLOOR, PREDICT, FASTTEXT, BATCH = "floor", "predict", "fastText predict", "scores, batch 64"
LIMIT_VS_FLOOR = 1.3


def cpu_us_per_call(call: Callable[[Any], Any], inputs: Sequence[Any], calls: int) -> float:
    """The process's CPU time per call over `calls` calls cycling through `inputs` in order."""
    count = len(inputs)
    start = time.process_time_ns()
    for index in range(calls):
        call(inputs[index % count])
    return (time.process_time_ns() - start) / calls / 1000


def interleaved(
    cases: dict[str, tuple[Callable[[Any], Any], Sequence[Any], int]], rounds: int
) -> dict[str, list[float]]:
    """Each case's CPU µs per call in every round; the cases take turns, in an order that rotates each round."""
    names = list(cases)
    for call, inputs, _ in cases.values():  # warm up: sessions, caches, the first-run path
        for item in inputs[:50]:
            call(item)
    figures: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        turn = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in turn:
            call, inputs, calls = cases[name]
            figures[name].append(cpu_us_per_call(call, inputs, calls))
    return figures


def one_text_section(
    classifier: Classifier,
    pool: list[str],
    fasttext: Any | None = None,
    rounds: int = 7,
    calls: int = 3000,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """The issue-29 figures of `classifier` on `pool`, by text length: per case the median CPU µs per call over
    `rounds`, per round ratios, and the targets."""
    session = classifier.session._sess  # the floor is what onnxruntime's own call costs
    import onnxruntime as ort

    options = ort.RunOptions()
    outputs, name = [classifier.session.get_outputs()[0].name], classifier.session.get_inputs()[0].name
    section: dict[str, Any] = {"rounds": rounds, "calls_per_round": calls, "kinds": {}}
    for kind, make in KINDS.items():
        texts = [make(text) for text in pool]
        cases: dict[str, tuple[Callable[[Any], Any], Sequence[Any], int]] = {
            FLOOR: (lambda t: session.run(outputs, {name: classifier.model_inputs([t])}, options), texts, calls),
            PREDICT: (classifier.predict, texts, calls),
        }
        if fasttext is not None:
            lines = [" ".join(tokenize(text)) for text in texts]
            cases[FASTTEXT] = (fasttext.predict, lines, calls)
        if kind == "full reviews":
            cases[BATCH] = (classifier.scores, batches(texts, 64), max(10, calls // 64))
        figures = interleaved(cases, rounds)
        row: dict[str, Any] = {
            "mean_chars": statistics.fmean(len(text) for text in texts),
            "cpu_us": {case: statistics.median(values) for case, values in figures.items()},
            "cpu_us_rounds": figures,
            "predict_vs_floor": statistics.median(p / f for p, f in zip(figures[PREDICT], figures[FLOOR], strict=True)),
        }
        if FASTTEXT in figures:
            row["fasttext_vs_predict"] = statistics.median(
                f / p for f, p in zip(figures[FASTTEXT], figures[PREDICT], strict=True)
            )
        section["kinds"][kind] = row
        progress(f"measured {kind}: " + ", ".join(f"{c} {v:.2f} µs" for c, v in row["cpu_us"].items()))
    section["targets"] = one_text_targets(section)
    return section


def one_text_targets(section: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 29's targets, each with its measured ratio and whether it holds."""
    kinds = section["kinds"]
    rows = [
        ("predict on first sentences vs the floor", kinds["first sentences"]["predict_vs_floor"], "<=", LIMIT_VS_FLOOR)
    ]
    for kind, row in kinds.items():
        if "fasttext_vs_predict" in row:
            rows.append((f"fastText predict / predict, {kind}", row["fasttext_vs_predict"], ">=", 1.0))
    return [
        {"target": n, "measured": v, "limit": f"{op} {limit:g}", "met": v <= limit if op == "<=" else v >= limit}
        for n, v, op, limit in rows
    ]


def one_text_markdown(section: dict[str, Any]) -> str:
    """The section as tables: CPU µs per call by text length, then the targets."""
    cases = list(dict.fromkeys(case for row in section["kinds"].values() for case in row["cpu_us"]))
    out = [
        f"One text at a time (CPU µs per call, median of {section['rounds']} interleaved rounds of "
        f"{section['calls_per_round']:,} calls):",
        "",
        "| text | characters | " + " | ".join(cases) + " | predict / floor | fastText / predict |",
        "|---|---:|" + "---:|" * len(cases) + "---:|---:|",
    ]
    for kind, row in section["kinds"].items():
        cells = [f"{row['cpu_us'][case]:.2f}" if case in row["cpu_us"] else "" for case in cases]
        fast = f"{row['fasttext_vs_predict']:.2f}x" if "fasttext_vs_predict" in row else "-"
        out.append(
            f"| {kind} | {row['mean_chars']:,.0f} | "
            + " | ".join(cells)
            + f" | {row['predict_vs_floor']:.2f}x | {fast} |"
        )
    out += ["", "| target | measured | limit | verdict |", "|---|---:|---|---|"]
    for target in section["targets"]:
        verdict = "met" if target["met"] else "**missed**"
        out.append(f"| {target['target']} | {target['measured']:.2f} | {target['limit']} | {verdict} |")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("IMDB_EDGE_DATA"), help="the IMDB dataset")
    parser.add_argument("--model", type=Path, default=default_model_path(), help="the model file (default: shipped)")
    parser.add_argument("--reviews", type=int, default=POOL_SIZE, help="test reviews in the pool (as bench)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=3000, help="calls per case and round")
    parser.add_argument("--no-fasttext", action="store_true", help="skip fastText (no training; for A/B runs)")
    parser.add_argument("--json", action="store_true", help="print the section as JSON")
    args = parser.parse_args()

    from imdb_edge.data.dataset import load_dataset, resolve_data_path

    data_path = resolve_data_path(args.data)
    dataset = load_dataset(data_path)
    pool = draw_pool(dataset.test.texts, str(data_path), args.reviews).texts
    fasttext = None
    if not args.no_fasttext:
        sys.path.insert(0, str(Path(__file__).parent))
        from fasttext_peer import fasttext_model

        try:
            with tempfile.TemporaryDirectory(prefix="imdb-edge-one-text-") as work:
                train, test = dataset.train, dataset.test
                fasttext, info = fasttext_model(train.texts, train.labels, test.texts, test.labels, Path(work))
        except ImportError:
            print("fastText skipped: the fasttext module (fasttext-numpy2) is not installed", file=sys.stderr)
    if fasttext is not None:
        print(
            f"fastText: test accuracy {info['test_accuracy']:.2%}, {info['file_bytes'] / 1024:,.0f} KB", file=sys.stderr
        )
    classifier = Classifier.load(args.model, threads=1)
    section = one_text_section(
        classifier, pool, fasttext, args.rounds, args.calls, lambda line: print(line, file=sys.stderr, flush=True)
    )
    section["model"] = str(args.model)
    print(json.dumps(section, indent=1) if args.json else one_text_markdown(section))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
