"""`imdb-edge train`: data -> features -> model -> one complete run folder."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from imdb_edge.atomic import staged_dir, write_json, write_text
from imdb_edge.console import info, warn
from imdb_edge.data.dataset import Dataset, movies_fingerprint
from imdb_edge.data.labelled import describe_counts
from imdb_edge.data.sources import IMBALANCE_WARNING, DataSpec, load_training_data
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.train.config import TrainConfig
from imdb_edge.train.semi import prepare_features
from imdb_edge.train.training import EpochReporter, fit_and_evaluate, print_epoch
from imdb_edge.versions import package_versions

RUN_SCHEMA = "imdb-edge-run/1"
MODEL_FILE = "model.keras"
VECTORIZER_FILE = "vectorizer.json"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.json"
CURVES_FILE = "learning_curves.png"


def load_data(data: DataSpec | str | Path | None, unlabelled: bool = False) -> Dataset:
    """Resolve and read the dataset (the IMDB archive or a user's labelled file), saying what was found, what
    was skipped, and whether its labels are imbalanced. `unlabelled`: also the unlabelled reviews (--unlabelled,
    or the archive's train/unsup), said on a line of their own."""
    spec = data if isinstance(data, DataSpec) else DataSpec(path=None if data is None else str(data))
    start = time.perf_counter()
    dataset = load_training_data(spec, unlabelled_reviews=unlabelled)
    seconds = time.perf_counter() - start
    if dataset.unlabelled is not None:
        found = dataset.unlabelled
        info(f"unlabelled: {len(found):,} reviews from {found.source} (never used as labelled rows)")
        if found.skipped:
            warn(f"skipped {len(found.skipped)} unreadable unlabelled review file(s), e.g. {found.skipped[0]}")
    if dataset.summary.get("kind") == "labelled":
        counts = dataset.summary["label_counts"]["train"]
        info(
            f"data: {len(dataset.train):,} train + {len(dataset.test):,} test rows from {dataset.source} "
            f"({len(dataset.labels)} labels: {describe_counts(counts)}; {seconds:.1f}s)"
        )
        bad = dataset.summary["bad_rows"]
        if bad["count"]:
            warn(f"skipped {bad['count']} bad row(s), e.g. {bad['examples'][0]}")
        if dataset.summary["imbalance"] >= IMBALANCE_WARNING:
            warn(
                f"the labels are imbalanced (the most common is {dataset.summary['imbalance']:.1f}x the rarest): "
                "consider --class-weight balanced"
            )
        return dataset
    info(f"data: {len(dataset.train)} train + {len(dataset.test)} test reviews from {dataset.source} ({seconds:.1f}s)")
    if dataset.skipped:
        warn(f"skipped {len(dataset.skipped)} unreadable review file(s), e.g. {dataset.skipped[0]}")
    return dataset


def data_summary(dataset: Dataset) -> dict[str, Any]:
    return {
        "source": dataset.source,
        "fingerprint": dataset.fingerprint,
        "train_movies_fingerprint": movies_fingerprint(dataset.train),
        "train_reviews": len(dataset.train),
        "test_reviews": len(dataset.test),
        "skipped_files": len(dataset.skipped),
        "skipped_examples": dataset.skipped[:20],
        "labels": list(dataset.labels),
        **dataset.summary,
    }


def train_to_folder(
    config: TrainConfig,
    out: Path,
    data: DataSpec | str | Path | None = None,
    overwrite: bool = False,
    report: EpochReporter | None = print_epoch,
) -> dict[str, Any]:
    """Train `config` and write the run folder atomically; returns the metrics document."""
    if out.exists() and not overwrite:
        raise ImdbEdgeError(f"{out} already exists: choose another --output or pass --overwrite")
    spec = data if isinstance(data, DataSpec) else DataSpec(path=None if data is None else str(data))
    dataset = load_data(spec, unlabelled=config.uses_unlabelled or bool(spec.unlabelled))
    features = prepare_features(dataset, config)
    kind = "hashed n-gram buckets" if features.vectorizer.config.hashed else "terms"
    info(f"features: {features.vectorizer.size} {kind}, encoded in {features.seconds:.1f}s")
    result = fit_and_evaluate(config, features, report=report)
    document = {
        "schema": RUN_SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "metrics": {**result.metrics, "vectorize_seconds": round(features.seconds, 3)},
        "config": config.to_dict(),
        "data": data_summary(dataset),
        "vectorizer": {"size": features.vectorizer.size, "fingerprint": features.vectorizer.fingerprint()},
        "labels": list(dataset.labels),
        "versions": package_versions(),
    }
    with staged_dir(out, overwrite=overwrite) as tmp:
        result.model.save(tmp / MODEL_FILE)
        write_text(tmp / VECTORIZER_FILE, features.vectorizer.to_json())
        write_json(tmp / HISTORY_FILE, result.history)
        from imdb_edge.train.plots import plot_learning_curves

        plot_learning_curves(
            result.history,
            tmp / CURVES_FILE,
            title=f"hidden {list(config.hidden)}, {config.loss}, {config.optimizer}, seed {config.seed}",
            best_epoch=result.metrics["used_epoch"],
        )
        write_json(tmp / METRICS_FILE, document)
    return document


def read_run_metrics(run_dir: Path) -> dict[str, Any]:
    """The metrics document of a finished run folder, or a clear error."""
    path = run_dir / METRICS_FILE
    if not path.is_file():
        raise ImdbEdgeError(f"{run_dir} is not a finished imdb-edge run folder (no {METRICS_FILE})")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImdbEdgeError(f"{path} is not valid JSON: {exc}") from None
    if document.get("schema") != RUN_SCHEMA:
        raise ImdbEdgeError(f"{path} has schema {document.get('schema')!r}, expected {RUN_SCHEMA}")
    return document
