"""`imdb-edge info`: what a model file holds, as a summary for people or scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imdb_edge.runtime.modelfile.reader import read_model_file


def describe_model(path: Path, sha256: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, full metadata entries) of a model file verified as `classify` verifies it: read, checked,
    loaded in onnxruntime and probed, so a file `info` describes is a file that classifies."""
    from imdb_edge.runtime.classifier import Classifier

    model_file = read_model_file(path, sha256=sha256)
    Classifier(model_file)
    training, export_entry, entry = model_file.training, model_file.export, model_file.model
    config = model_file.vectorizer.config
    summary = {
        "file": str(path),
        "bytes": len(model_file.data),
        "sha256": model_file.sha256,
        "schema": model_file.metadata["imdb_edge.schema"],
        "input_form": entry["input_form"],
        "precision": entry.get("precision"),
        "labels": entry["labels"],
        "threshold": entry["threshold"],
        "vocabulary_size": model_file.vectorizer.size,
        "tokenizer": config.to_dict()["tokenizer"],
        "vectorizer": model_file.vectorizer.implementation,  # the python fallback is per vocabulary
        "ngram_max": config.ngram_max,
        "hash_buckets": config.hash_buckets or None,
        "architecture": training.get("config", {}).get("architecture", "dense"),
        "hidden": training.get("config", {}).get("hidden"),
        "test_accuracy": export_entry.get("test_accuracy"),
        "parity_fp32": export_entry.get("parity_fp32"),
        "int8": _int8_check(export_entry.get("int8")),
        "rewrapped": export_entry.get("rewrapped"),
        "calibration": export_entry.get("calibration"),
        "created": export_entry.get("created"),
        "versions": export_entry.get("versions"),
        "data_fingerprint": training.get("data", {}).get("fingerprint"),
    }
    shown_export = {**export_entry, "int8": summary["int8"]} if "int8" in export_entry else export_entry
    return summary, {"model": entry, "training": training, "export": shown_export}


def _int8_check(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """The int8 check as it was made: accuracy lost vs fp32 against its limit.

    Files exported before the check recorded its own verdict carry `vs_keras`, a
    description of score differences from Keras written in the parity report's
    shape, with an infinite tolerance and `passed: false` whenever any label
    differs. That was never the check (int8 is judged by accuracy, not by agreeing
    with Keras label for label), so it is shown as plain differences.
    """
    if not entry:
        return entry
    shown = dict(entry)
    if "passed" not in shown and {"drop_points", "max_drop_points"} <= shown.keys():
        shown["passed"] = shown["drop_points"] <= shown["max_drop_points"]
    if isinstance(shown.get("vs_keras"), dict):
        shown["vs_keras"] = {k: v for k, v in shown["vs_keras"].items() if k not in ("tolerance", "passed")}
    return shown


def _features_line(summary: dict[str, Any]) -> str:
    if summary.get("hash_buckets"):
        return f"features        {summary['hash_buckets']} hashed n-gram buckets (no vocabulary)"
    return f"vocabulary      {summary['vocabulary_size']} terms"


def render_description(summary: dict[str, Any]) -> str:
    parity = summary["parity_fp32"] or {}
    lines = [
        f"file            {summary['file']} ({summary['bytes'] / 1024:.0f} KB, schema {summary['schema']})",
        f"sha256          {summary['sha256']} (pin it: --model-sha256)",
        f"input           {summary['input_form']} ({summary['precision']}), labels {', '.join(summary['labels'])}, "
        + (f"threshold {summary['threshold']}" if summary["threshold"] is not None else "the likeliest wins"),
        f"{_features_line(summary)}, n-grams up to {summary['ngram_max']}, "
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
    int8 = summary["int8"]
    if int8:
        verdict = "passed" if int8.get("passed") else "FAILED"
        lines.append(
            f"int8            {-round(int8['drop_points'], 2) + 0.0:+.2f} accuracy points vs fp32 "
            f"({verdict}: at most {int8['max_drop_points']} may be lost)"
        )
        differences = int8.get("vs_keras")
        if differences:
            lines.append(
                f"int8 vs Keras   max |diff| {differences['max_abs_diff']:.1e}, "
                f"{differences['label_mismatches']} of {differences['rows']} labels differ (information, not a check)"
            )
    calibration = summary["calibration"]
    if isinstance(calibration, dict) and isinstance(calibration.get("test"), dict):
        test = calibration["test"]
        temperature = calibration.get("temperature") if calibration.get("applied") else None
        how = (
            f"temperature {temperature:.3f} applied (before: ECE {calibration['test_before']['ece']:.4f}, "
            f"log loss {calibration['test_before']['log_loss']:.4f}; "
            f"{calibration.get('labels_changed', '?')} test labels changed)"
            if temperature
            else f"no temperature: {calibration.get('why', 'none fitted')}"
        )
        lines.append(f"calibration     test ECE {test['ece']:.4f}, log loss {test['log_loss']:.4f}; {how}")
    rewrapped = summary["rewrapped"]
    if rewrapped:
        same = rewrapped.get("parity_vs_source", {})
        lines.append(
            f"rewrapped       from {rewrapped['source_file']} on {rewrapped['created']}: max |diff| "
            f"{same.get('max_abs_diff', float('nan')):.1e}, {same.get('label_mismatches', '?')} of "
            f"{same.get('rows', '?')} labels differ ({same.get('reviews', '?')})"
        )
    if summary["versions"]:
        lines.append("made with       " + ", ".join(f"{k} {v}" for k, v in summary["versions"].items()))
    lines.append(f"created         {summary['created']}")
    return "\n".join(lines)
