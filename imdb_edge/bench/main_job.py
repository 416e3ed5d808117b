"""The closing summary of the main job (scripts/pipeline.sh): what it trained, each model's test accuracy,
where every file went, the bench's headline figure, and the next command to try.

Everything is read back from what the job wrote (run folders, exported files, the bench report), never typed
into the script, so the summary cannot claim what the files do not hold. Given the data the job trained on,
it also refuses (exit 1) a bench report that timed other reviews: a headline from the shipped sample while the
real test reviews were at hand is the mistake this check exists for.

    python -m imdb_edge.bench.main_job runs/pipeline --data aclImdb_v1.tar.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from imdb_edge.bench.report import headline
from imdb_edge.errors import ImdbEdgeError

BENCH_REPORT = "bench.json"
SUMMARY = "summary.txt"
NEXT_REVIEW = "An absolute masterpiece, I loved every minute."


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:,.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MB"


def describe_training(config: dict[str, Any]) -> str:
    """'NB-scaled logistic regression on 200,000 word 1-4-grams' from a run's config."""
    vectorizer = config.get("vectorizer", {})
    n = vectorizer.get("ngram_max", 1)
    words = "words" if n == 1 else f"word 1-{n}-grams"
    if vectorizer.get("hash_buckets"):
        features = f"{vectorizer['hash_buckets']:,} hashed buckets of {words}"
    else:
        features = f"{vectorizer.get('max_features', 0):,} {words}"
    hidden = config.get("hidden") or []
    if hidden:
        model = f"{config.get('architecture', 'dense')} network, hidden layer(s) of {', '.join(map(str, hidden))}"
    else:
        model = "logistic regression"
    if vectorizer.get("weighting") == "nb":
        model = f"NB-scaled {model}"
    return f"{model} on {features}"


def run_lines(folder: Path) -> list[str]:
    """One line per run folder (a sub-folder with metrics.json): its model and Keras test accuracy."""
    lines = []
    for metrics_path in sorted(folder.glob("*/metrics.json")):
        document = json.loads(metrics_path.read_text(encoding="utf-8"))
        metrics, config = document["metrics"], document["config"]
        rows = f"{metrics['train_rows']:,} training reviews"
        if metrics.get("validation_rows"):
            rows += f" (+{metrics['validation_rows']:,} for validation)"
        lines.append(
            f"  {metrics_path.parent}/  {describe_training(config)}, {metrics['used_epoch']} epoch(s) on {rows}: "
            f"test accuracy {100 * metrics['test_accuracy']:.2f}% on {metrics['test_rows']:,} test reviews (Keras)"
        )
    return lines


def model_lines(folder: Path) -> list[str]:
    """One line per exported .onnx file: its size, precision and test accuracy through this runtime."""
    from imdb_edge.runtime.modelfile.describe import describe_model

    lines = []
    for path in sorted(folder.glob("*.onnx")):
        summary, _ = describe_model(path)
        accuracy = summary.get("test_accuracy")
        rows = (summary.get("parity_fp32") or {}).get("rows")
        measured = f"test accuracy {100 * accuracy:.2f}%" if accuracy is not None else "no test accuracy recorded"
        if rows:
            measured += f" on {rows:,} test reviews"
        lines.append(f"  {path}  {_size(path)}, {summary['precision']} {summary['input_form']}: {measured}")
    return lines


def check_bench(document: dict[str, Any], data: str | None) -> None:
    """Refuse a report that did not time the test reviews of `data` (when the job had data)."""
    source = document["settings"].get("review_source")
    if data is not None and source != str(data):
        raise ImdbEdgeError(f"the bench timed reviews of {source!r}, not the test reviews of {data}")


def summary_text(folder: Path, data: str | None = None) -> str:
    """The summary of the job whose outputs are in `folder`."""
    report_path = folder / BENCH_REPORT
    if not report_path.is_file():
        raise ImdbEdgeError(f"no bench report at {report_path}: the job's bench step did not finish")
    document = json.loads(report_path.read_text(encoding="utf-8"))
    check_bench(document, data)
    runs, models = run_lines(folder), model_lines(folder)
    if not runs or not models:
        raise ImdbEdgeError(f"{folder} holds no run folder or no exported .onnx file: the job did not finish")
    first = Path(document["settings"]["models"][0])
    lines = [
        f"Main job done: everything is in {folder}/",
        "trained (run folders: model.keras, vectorizer.json, metrics.json, learning curves):",
        *runs,
        "exported (each checked against its run on the test reviews before it was written):",
        *models,
        f"bench report (machine, settings, every raw sample): {report_path} ({_size(report_path)})",
        f"  headline: {headline(document, first.name)}",
        f"this summary: {folder / SUMMARY}",
        "next: classify your own reviews with the exported file (one per line; label, score):",
        f'  .venv/bin/imdb-edge classify -m {first} "{NEXT_REVIEW}"',
        f"  .venv/bin/imdb-edge classify -m {first} --file my-reviews.txt",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The closing summary of scripts/pipeline.sh.")
    parser.add_argument("folder", type=Path, help="the job's output folder (runs/pipeline)")
    parser.add_argument("--data", help="the data the job trained on: the bench must have timed its test reviews")
    args = parser.parse_args(argv)
    try:
        text = summary_text(args.folder, args.data)
    except (ImdbEdgeError, OSError, ValueError) as error:
        print(f"error: the main job's summary: {error}", file=sys.stderr)
        return 1
    except KeyError as error:
        print(f"error: the main job's summary: a file it reads has no {error} entry", file=sys.stderr)
        return 1
    (args.folder / SUMMARY).write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
