#!/usr/bin/env python3
"""Where one short call goes (issue 29): the shipped model, one text, each step timed alone by CPU time.

Each line is the best of 5 passes of 20,000 calls (the best pass is the one least disturbed
by the machine's other work). Run it on two versions of the code to see what changed:

    python benchmarks/one_text_breakdown.py
    python benchmarks/one_text_breakdown.py "This movie was a waste of time" --json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import onnxruntime as ort

from imdb_edge.runtime.classifier import Classifier


def best_cpu_us(call: Callable[[], Any], calls: int = 20_000, passes: int = 5) -> float:
    for _ in range(500):
        call()
    best = float("inf")
    for _ in range(passes):
        start = time.process_time_ns()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time_ns() - start) / calls / 1000)
    return best


def breakdown(text: str) -> dict[str, float]:
    classifier = Classifier.load(threads=1)
    classifier.predict(text)  # the first run takes the general path; what follows is what users repeat
    session = classifier.session
    outputs, name = [session.get_outputs()[0].name], session.get_inputs()[0].name
    inputs = classifier.model_inputs([text])
    options = ort.RunOptions()
    steps: dict[str, Callable[[], Any]] = {
        "Classifier.model_inputs([text]) (the C kernel)": lambda: classifier.model_inputs([text]),
        "session.run(outputs, feed, options)": lambda: session.run(outputs, {name: inputs}, options),
        "session._sess.run (onnxruntime's own call)": lambda: session._sess.run(outputs, {name: inputs}, options),
        "floor: model_inputs + _sess.run": lambda: session._sess.run(
            outputs, {name: classifier.model_inputs([text])}, options
        ),
        "Classifier.scores([text])": lambda: classifier.scores([text]),
        "Classifier.scores_and_known([text])": lambda: classifier.scores_and_known([text]),
        "Classifier.predict(text)": lambda: classifier.predict(text),
        "Classifier.predict_batch([text] * 8)": lambda: classifier.predict_batch([text] * 8),
    }
    return {step: best_cpu_us(call) for step, call in steps.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", default="a great film, simply wonderful")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = breakdown(args.text)
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(f"one text: {args.text!r}, CPU µs per call (best of 5 passes of 20,000)\n")
        print("| step | µs |\n|---|---:|")
        for step, value in figures.items():
            print(f"| {step} | {value:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
