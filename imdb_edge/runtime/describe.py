"""`imdb-edge info`: what a model file holds, as a summary for people or scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imdb_edge.runtime.model_file import read_model_file
from imdb_edge.runtime.vectorizer import implementation


def describe_model(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, full metadata entries) of a verified model file."""
    model_file = read_model_file(path)
    training, export_entry, entry = model_file.training, model_file.export, model_file.model
    config = model_file.vectorizer.config
    summary = {
        "file": str(path),
        "bytes": len(model_file.data),
        "schema": model_file.metadata["imdb_edge.schema"],
        "input_form": entry["input_form"],
        "precision": entry.get("precision"),
        "labels": entry["labels"],
        "threshold": entry["threshold"],
        "vocabulary_size": model_file.vectorizer.size,
        "tokenizer": config.to_dict()["tokenizer"],
        "vectorizer": implementation(),
        "ngram_max": config.ngram_max,
        "architecture": training.get("config", {}).get("architecture", "dense"),
        "hidden": training.get("config", {}).get("hidden"),
        "test_accuracy": export_entry.get("test_accuracy"),
        "parity_fp32": export_entry.get("parity_fp32"),
        "int8": export_entry.get("int8"),
        "created": export_entry.get("created"),
        "versions": export_entry.get("versions"),
        "data_fingerprint": training.get("data", {}).get("fingerprint"),
    }
    return summary, {"model": entry, "training": training, "export": export_entry}


def render_description(summary: dict[str, Any]) -> str:
    parity = summary["parity_fp32"] or {}
    lines = [
        f"file            {summary['file']} ({summary['bytes'] / 1024:.0f} KB, schema {summary['schema']})",
        f"input           {summary['input_form']} ({summary['precision']}), labels {', '.join(summary['labels'])}, "
        f"threshold {summary['threshold']}",
        f"vocabulary      {summary['vocabulary_size']} terms, n-grams up to {summary['ngram_max']}, "
        f"tokenizer {summary['tokenizer']} ({summary['vectorizer']} vectorizer)",
        f"model           {summary['architecture']}, hidden layers {summary['hidden']}",
    ]
    if summary["test_accuracy"] is not None:
        lines.append(f"test accuracy   {100 * summary['test_accuracy']:.2f}% on {parity.get('rows', '?')} reviews")
    if parity:
        lines.append(
            f"parity (fp32)   max |diff| {parity['max_abs_diff']:.1e} vs Keras, "
            f"{parity['label_mismatches']} labels differ"
        )
    if summary["int8"]:
        lines.append(f"int8            {summary['int8']['drop_points']:+.2f} points vs fp32")
    if summary["versions"]:
        lines.append("made with       " + ", ".join(f"{k} {v}" for k, v in summary["versions"].items()))
    lines.append(f"created         {summary['created']}")
    return "\n".join(lines)
