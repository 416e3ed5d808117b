"""`imdb-edge export`: run folder -> one verified, self-contained .onnx file."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from imdb_edge.atomic import write_bytes
from imdb_edge.console import info, warn
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.export.graphs import OPSET, dense_graph, dense_layers, token_ids_graph
from imdb_edge.export.metadata import stamp_model
from imdb_edge.export.parity import FP32_TOLERANCE, accuracy, compare
from imdb_edge.export.text_graph import TEXT_OPSET, text_graph
from imdb_edge.runtime import schema
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.schema import (
    DENSE,
    INPUT_FORMS,
    TEXT,
    THRESHOLD,
    TOKEN_IDS,
)
from imdb_edge.runtime.vectorizer import Vectorizer
from imdb_edge.versions import package_versions

MAX_INT8_DROP_POINTS = 0.5


def _load_run(run_dir: Path) -> tuple[Any, Vectorizer, dict[str, Any]]:
    import keras

    import imdb_edge.train.layers  # noqa: F401  (registers ScaledBag for safe loading)
    from imdb_edge.train.run import MODEL_FILE, VECTORIZER_FILE, read_run_metrics

    document = read_run_metrics(run_dir)
    vectorizer = Vectorizer.from_json((run_dir / VECTORIZER_FILE).read_text(encoding="utf-8"))
    try:
        model = keras.saving.load_model(run_dir / MODEL_FILE, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise ImdbEdgeError(f"cannot load {run_dir / MODEL_FILE}: {exc}") from None
    width = (
        model.layers[0].vocabulary_size if model.layers[0].__class__.__name__ == "ScaledBag" else model.input_shape[-1]
    )
    if width != vectorizer.size:
        raise ImdbEdgeError(f"{run_dir}: model input width {width} does not match the vocabulary ({vectorizer.size})")
    return model, vectorizer, document


def export_run(
    run_dir: Path,
    out: Path,
    input_form: str = TOKEN_IDS,
    quantize: str | None = None,
    data: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Convert, prove parity on the whole test set, optionally quantize, write atomically."""
    from imdb_edge.export.quantize import quantize_int8
    from imdb_edge.train.features import encode
    from imdb_edge.train.run import load_data

    if input_form not in INPUT_FORMS:
        raise ImdbEdgeError(f"unknown input form {input_form!r}; choose from {', '.join(INPUT_FORMS)}")
    model, vectorizer, run_document = _load_run(run_dir)
    dataset = load_data(data)
    if dataset.fingerprint != run_document["data"]["fingerprint"]:
        warn("this dataset differs from the one the run was trained on; parity is still checked on it")
    texts, labels = dataset.test.texts, dataset.test.labels

    architecture = run_document["config"].get("architecture", "dense")
    if architecture == "bag" and input_form == DENSE:
        raise ImdbEdgeError("a bag model has no dense-input form: export it with --input token_ids or text")
    start = time.perf_counter()
    keras_scores = np.concatenate(
        [
            np.asarray(model(encode(vectorizer, texts[i : i + 512], architecture), training=False)).reshape(-1)
            for i in range(0, len(texts), 512)
        ]
    )
    info(f"keras: scored {len(texts)} test reviews in {time.perf_counter() - start:.1f}s")

    def candidate(precision: str) -> Any:
        if input_form == DENSE:
            base = dense_graph(model, vectorizer.size)
        else:
            folded = vectorizer.feature_weights if architecture == "dense" else None
            base = token_ids_graph(dense_layers(model, folded))
        if precision == "int8":
            base = quantize_int8(base)
        return text_graph(base, vectorizer, THRESHOLD) if input_form == TEXT else base

    proto = candidate("fp32")
    model_entry = schema.model_entry(input_form, vectorizer.size, "fp32", TEXT_OPSET if input_form == TEXT else OPSET)
    training_entry = {
        "config": run_document["config"],
        "metrics": run_document["metrics"],
        "data": run_document["data"],
        "versions": run_document["versions"],
    }
    # Only the dense form applies feature weights at run time; the others carry them in the table.
    vectorizer_json = (vectorizer if input_form == DENSE else vectorizer.with_weights(None)).to_json()
    export_entry: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source_run": run_dir.name,
        "converter": {
            DENSE: "tf2onnx.from_function",
            TOKEN_IDS: "imdb-edge token-id graph (onnx.helper)",
            TEXT: "imdb-edge text graph: standard string ops + token-id graph (onnx.helper)",
        }[input_form],
        "versions": package_versions(),
        "test_data_fingerprint": dataset.fingerprint,
    }

    def score_with(candidate: Any, entry: dict[str, Any]) -> tuple[np.ndarray, int]:
        data_bytes, model_file = stamp_model(candidate, entry, vectorizer_json, training_entry, export_entry)
        return Classifier(model_file).scores(texts), len(data_bytes)

    fp32_scores, fp32_size = score_with(proto, model_entry)
    parity = compare(keras_scores, fp32_scores, THRESHOLD, FP32_TOLERANCE)
    info(parity.line("fp32 onnxruntime vs keras"))
    export_entry["parity_fp32"] = parity.to_dict()
    export_entry["test_accuracy_keras"] = accuracy(keras_scores, labels, THRESHOLD)
    export_entry["test_accuracy_fp32"] = accuracy(fp32_scores, labels, THRESHOLD)
    export_entry["size_fp32_bytes"] = fp32_size
    if not parity.passed and not force:
        raise ImdbEdgeError(f"parity check failed: {parity.line('fp32')}; nothing written (--force overrides)")
    final_proto, final_entry = proto, model_entry
    export_entry["test_accuracy"] = export_entry["test_accuracy_fp32"]

    if quantize == "int8":
        final_proto = candidate("int8")
        final_entry = {**model_entry, "precision": "int8"}
        int8_scores, int8_size = score_with(final_proto, final_entry)
        drop = 100 * (export_entry["test_accuracy_fp32"] - accuracy(int8_scores, labels, THRESHOLD))
        export_entry["int8"] = {
            "test_accuracy": accuracy(int8_scores, labels, THRESHOLD),
            "drop_points": drop,
            "max_drop_points": MAX_INT8_DROP_POINTS,
            "passed": drop <= MAX_INT8_DROP_POINTS,
            "size_bytes": int8_size,
            # How far int8 scores move from Keras: a description, not a check (see "passed").
            "vs_keras": compare(keras_scores, int8_scores, THRESHOLD, float("inf")).differences(),
        }
        export_entry["test_accuracy"] = export_entry["int8"]["test_accuracy"]
        info(
            f"{'PASS' if drop <= MAX_INT8_DROP_POINTS else 'FAIL'}  int8: accuracy "
            f"{100 * export_entry['test_accuracy_fp32']:.2f}% -> {100 * export_entry['int8']['test_accuracy']:.2f}% "
            f"({drop:+.2f} points lost, limit {MAX_INT8_DROP_POINTS}), size {fp32_size / 1024:.0f} KB -> "
            f"{int8_size / 1024:.0f} KB"
        )
        if drop > MAX_INT8_DROP_POINTS and not force:
            raise ImdbEdgeError(
                f"int8 loses {drop:.2f} accuracy points (limit {MAX_INT8_DROP_POINTS}); --force overrides"
            )
    elif quantize is not None:
        raise ImdbEdgeError(f"unknown quantization {quantize!r}; choose int8")

    # The file records its own size: re-serialize until the number it holds is its length.
    size_key = ("int8", "size_bytes") if quantize == "int8" else (None, "size_fp32_bytes")
    holder = export_entry[size_key[0]] if size_key[0] else export_entry
    for _ in range(4):
        data_bytes, model_file = stamp_model(final_proto, final_entry, vectorizer_json, training_entry, export_entry)
        if holder[size_key[1]] == len(data_bytes):
            break
        holder[size_key[1]] = len(data_bytes)
    Classifier(model_file)  # the file we are about to write loads in the runtime
    write_bytes(out, data_bytes)
    return {"path": str(out), "bytes": len(data_bytes), "model": final_entry, "export": export_entry}
