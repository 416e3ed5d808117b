"""`imdb-edge export`: run folder -> one verified, self-contained .onnx file.

Named steps, each usable alone (Optimum's export/validate split): `load_run`,
`keras_scores`, `build_graph`, `validate_fp32` / `validate_int8` (raising the
specific errors of export/errors.py), `training_entry` / `export_entry`, and
`export_run`, which chains them and writes the file once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from imdb_edge.console import info, warn
from imdb_edge.data.dataset import IMDB_LABELS, Dataset
from imdb_edge.data.sources import DataSpec
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.export.calibration import apply_temperature, decide_temperature
from imdb_edge.export.calibration import figures as calibration_figures
from imdb_edge.export.errors import AccuracyDropError, ParityError, RunFolderError
from imdb_edge.export.fast_text_graph import TEXT_FAST_OPSET, check_fast_form, fast_vectorizer, text_fast_graph
from imdb_edge.export.graphs import OPSET, dense_graph, dense_layers, token_ids_graph
from imdb_edge.export.metadata import CONVERTERS, candidate_scores, write_verified
from imdb_edge.export.parity import FP32_TOLERANCE, ParityReport, accuracy, compare
from imdb_edge.export.text_graph import HASHED_HAS_NO_TEXT_FORM, TEXT_OPSET, text_graph
from imdb_edge.runtime.decision import decide
from imdb_edge.runtime.modelfile import schema
from imdb_edge.runtime.modelfile.schema import DENSE, INPUT_FORMS, TEXT, TEXT_FAST, THRESHOLD, TOKEN_IDS
from imdb_edge.runtime.vectorizer import Vectorizer
from imdb_edge.versions import package_versions

MAX_INT8_DROP_POINTS = 0.5


@dataclass(frozen=True)
class TrainedRun:
    """A finished `imdb-edge train` folder, loaded: the Keras model, its vocabulary, its metrics.json."""

    path: Path
    model: Any
    vectorizer: Vectorizer
    document: dict[str, Any]

    @property
    def architecture(self) -> str:
        return str(self.document["config"].get("architecture", "dense"))

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels it was trained on (runs from before own data recorded none: IMDB's)."""
        return tuple(self.document.get("labels") or IMDB_LABELS)

    @property
    def threshold(self) -> float | None:
        """The decision threshold of its exported files: THRESHOLD for two labels; none for more."""
        return THRESHOLD if len(self.labels) == 2 else None

    def data_spec(self, data: str | Path | None) -> DataSpec:
        """The data it was trained on, read the same way (columns, test rows); `data` replaces the path."""
        spec = DataSpec.from_dict(self.document.get("data", {}).get("spec"))
        return spec if data is None else replace(spec, path=str(data))


def load_run(run_dir: Path) -> TrainedRun:
    """Load a run folder (Keras safe mode) and check that model and vocabulary belong together.

    Raises:
        RunFolderError: not a finished run, a damaged model.keras, or a width mismatch.
    """
    import keras

    import imdb_edge.train.layers  # noqa: F401  (registers ScaledBag for safe loading)
    from imdb_edge.train.run import MODEL_FILE, VECTORIZER_FILE, read_run_metrics

    try:
        document = read_run_metrics(run_dir)
    except ImdbEdgeError as exc:
        raise RunFolderError(str(exc)) from None
    vectorizer = Vectorizer.from_json((run_dir / VECTORIZER_FILE).read_text(encoding="utf-8"))
    try:
        model = keras.saving.load_model(run_dir / MODEL_FILE, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise RunFolderError(f"cannot load {run_dir / MODEL_FILE}: {exc}") from None
    first = model.layers[0]
    width = first.vocabulary_size if first.__class__.__name__ == "ScaledBag" else model.input_shape[-1]
    if width != vectorizer.size:
        raise RunFolderError(f"{run_dir}: model input width {width} does not match the vocabulary ({vectorizer.size})")
    return TrainedRun(run_dir, model, vectorizer, document)


def keras_scores(run: TrainedRun, texts: list[str]) -> np.ndarray:
    """The reference answers: the Keras model's scores for `texts`, in batches."""
    from imdb_edge.train.features import model_scores

    return model_scores(run.model, run.vectorizer, run.architecture, texts)


def build_graph(run: TrainedRun, input_form: str, precision: str, temperature: float | None = None) -> Any:
    """The ONNX graph of `run` for one input form and precision ("fp32" or "int8"), its logits divided by
    `temperature` if one is given (export/calibration.py)."""
    from imdb_edge.export.quantize import quantize_int8

    if input_form == DENSE:
        graph = dense_graph(run.model, run.vectorizer.size)
    else:
        folded = run.vectorizer.feature_weights if run.architecture == "dense" else None
        graph = token_ids_graph(dense_layers(run.model, folded))
    if precision == "int8":
        graph = quantize_int8(graph)
    if temperature is not None:
        graph = apply_temperature(graph, temperature)
    if input_form == TEXT_FAST:
        return text_fast_graph(graph, run.vectorizer, float(run.threshold))  # two labels: checked before
    return text_graph(graph, run.vectorizer, run.threshold, run.labels) if input_form == TEXT else graph


def validation_split(run: TrainedRun, dataset: Dataset) -> tuple[list[str], np.ndarray] | None:
    """The run's validation texts and labels, held out again as it held them (None: a refit kept none)."""
    from imdb_edge.train.config import config_from_dict
    from imdb_edge.train.features import split_rows

    try:
        _, rows = split_rows(dataset.train, config_from_dict(run.document["config"]))
    except ImdbEdgeError:
        return None
    if rows is None:
        return None
    return [dataset.train.texts[i] for i in rows], dataset.train.labels[rows].astype(np.int64)


def calibrate(run: TrainedRun, dataset: Dataset, test_scores: np.ndarray) -> tuple[float | None, dict[str, Any]]:
    """The temperature to apply (or None) and the calibration report: fitted on the run's validation rows
    (Keras's scores, which the exported graph matches within parity), judged on the test rows."""
    held = validation_split(run, dataset)
    validation = None if held is None else (keras_scores(run, held[0]), held[1])
    return decide_temperature(validation, (test_scores, dataset.test.labels.astype(np.int64)))


def validate_fp32(
    reference: np.ndarray, scores: np.ndarray, force: bool = False, threshold: float | None = THRESHOLD
) -> ParityReport:
    """fp32 must match Keras within FP32_TOLERANCE with identical labels.

    Raises:
        ParityError: it does not (unless `force`).
    """
    parity = compare(reference, scores, threshold, FP32_TOLERANCE)
    info(parity.line("fp32 onnxruntime vs keras"))
    if not parity.passed and not force:
        raise ParityError(f"parity check failed: {parity.line('fp32')}; nothing written (--force overrides)")
    return parity


def validate_int8(
    reference: np.ndarray,
    fp32_accuracy: float,
    int8_scores: np.ndarray,
    labels: np.ndarray,
    force: bool = False,
    sizes: tuple[int, int] | None = None,
    threshold: float | None = THRESHOLD,
) -> dict[str, Any]:
    """int8 may lose at most MAX_INT8_DROP_POINTS of test accuracy; returns the int8 report.

    Raises:
        AccuracyDropError: it loses more (unless `force`).
    """
    int8_accuracy = accuracy(int8_scores, labels, threshold)
    drop = 100 * (fp32_accuracy - int8_accuracy)
    passed = drop <= MAX_INT8_DROP_POINTS
    size = f", size {sizes[0] / 1024:.0f} KB -> {sizes[1] / 1024:.0f} KB" if sizes else ""
    info(
        f"{'PASS' if passed else 'FAIL'}  int8: accuracy {100 * fp32_accuracy:.2f}% -> {100 * int8_accuracy:.2f}% "
        f"({drop:+.2f} points lost, limit {MAX_INT8_DROP_POINTS}){size}"
    )
    if not passed and not force:
        raise AccuracyDropError(
            f"int8 loses {drop:.2f} accuracy points (limit {MAX_INT8_DROP_POINTS}); --force overrides"
        )
    return {
        "test_accuracy": int8_accuracy,
        "drop_points": drop,
        "max_drop_points": MAX_INT8_DROP_POINTS,
        "passed": passed,
        # How far int8 scores move from Keras: a description, not a check (see "passed").
        "vs_keras": compare(reference, int8_scores, threshold, float("inf")).differences(),
    }


def training_entry(run: TrainedRun) -> dict[str, Any]:
    """The `imdb_edge.training` metadata entry: how the model was trained, from metrics.json."""
    return {key: run.document[key] for key in ("config", "metrics", "data", "versions")}


def export_entry(run: TrainedRun, input_form: str, dataset: Dataset) -> dict[str, Any]:
    """The `imdb_edge.export` metadata entry before the checks add their reports."""
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source_run": run.path.name,
        "converter": CONVERTERS[input_form],
        "versions": package_versions(),
        "test_data_fingerprint": dataset.fingerprint,
    }


def _refuse_to_overwrite_inputs(out: Path, run_dir: Path, data: str | Path | None) -> None:
    """--output must not be a file the export reads: the run's own model.keras was replaced by the .onnx."""
    from imdb_edge.train.run import CURVES_FILE, HISTORY_FILE, METRICS_FILE, MODEL_FILE, VECTORIZER_FILE

    inputs = [run_dir / name for name in (MODEL_FILE, VECTORIZER_FILE, METRICS_FILE, HISTORY_FILE, CURVES_FILE)]
    target = out.resolve()
    for path in [*inputs, *([Path(data)] if data is not None else [])]:
        if path.resolve() == target:
            raise ImdbEdgeError(f"--output {out} is {path}, which the export reads; choose another file")


def export_run(
    run_dir: Path,
    out: Path,
    input_form: str = TOKEN_IDS,
    quantize: str | None = None,
    data: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Convert a run folder to one .onnx file, prove it on the whole test set, write it atomically.

    Parameters:
        run_dir: a finished `imdb-edge train` folder.
        out: the .onnx file to write (only after every check passed).
        input_form: "token_ids" (default), "dense" or "text" (see runtime/modelfile/schema.py).
        quantize: None for fp32, or "int8" (first-layer weights, onnxruntime dynamic).
        data: the data whose test rows the checks run on (default: what the run was trained on, read as it
            was: its file and columns, its test rows).
        force: write even if a check fails (the report still records the failure).

    Returns:
        {"path", "bytes", "model": the model metadata entry, "export": the export report}.

    Raises:
        RunFolderError, ParityError, AccuracyDropError (all ImdbEdgeError): nothing is written.

    Example:
        >>> export_run(Path("runs/ref16"), Path("ref16.int8.onnx"), quantize="int8")  # doctest: +SKIP
    """
    from imdb_edge.train.run import load_data

    if input_form not in INPUT_FORMS:
        raise ImdbEdgeError(f"unknown input form {input_form!r}; choose from {', '.join(INPUT_FORMS)}")
    if quantize not in (None, "int8"):
        raise ImdbEdgeError(f"unknown quantization {quantize!r}; choose int8")
    _refuse_to_overwrite_inputs(out, run_dir, data)
    run = load_run(run_dir)
    if run.architecture == "bag" and input_form == DENSE:
        other = "" if run.vectorizer.config.hashed else " or text"
        raise ImdbEdgeError(f"a bag model has no dense-input form: export it with --input token_ids{other}")
    if run.vectorizer.config.hashed and input_form == TEXT:
        raise ImdbEdgeError(HASHED_HAS_NO_TEXT_FORM)
    if input_form == TEXT_FAST:
        check_fast_form(run.vectorizer)
        if len(run.labels) != 2:
            raise ImdbEdgeError(
                f"the text_fast form is made for two labels and this run has {len(run.labels)}: use --input text"
            )
    dataset = load_data(run.data_spec(data))
    if dataset.labels != run.labels:
        raise ImdbEdgeError(
            f"the data's labels ({', '.join(dataset.labels)}) are not the run's ({', '.join(run.labels)}): "
            "give --data the data it was trained on"
        )
    if dataset.fingerprint != run.document["data"]["fingerprint"]:
        warn("this dataset differs from the one the run was trained on; parity is still checked on it")
    texts, labels = dataset.test.texts, dataset.test.labels
    threshold = run.threshold

    start = time.perf_counter()
    reference = keras_scores(run, texts)
    info(f"keras: scored {len(texts)} test reviews in {time.perf_counter() - start:.1f}s")

    opset = {TEXT: TEXT_OPSET, TEXT_FAST: TEXT_FAST_OPSET}.get(input_form, OPSET)
    # Only the dense form applies feature weights at run time; the others carry them in the table.
    # Model files store term fingerprints and packed terms; the text form's string operators read the terms.
    # The text_fast graph holds the terms in its own order, and its file stores them so.
    stored = run.vectorizer if input_form == DENSE else run.vectorizer.with_weights(None)
    stored = fast_vectorizer(stored) if input_form == TEXT_FAST else stored
    vectorizer_json = stored.to_json(compact=input_form != TEXT)
    training, report = training_entry(run), export_entry(run, input_form, dataset)

    def candidate(precision: str, temperature: float | None = None) -> tuple[Any, dict[str, Any], np.ndarray, int]:
        """A graph with its metadata, scored on the test reviews through the real runtime."""
        graph = build_graph(run, input_form, precision, temperature)
        entry = schema.model_entry(input_form, run.vectorizer.size, precision, opset, run.labels)
        size, scores = candidate_scores(graph, entry, vectorizer_json, training, report, texts)
        return graph, entry, scores, size

    graph, entry, fp32_scores, fp32_size = candidate("fp32")
    report["parity_fp32"] = validate_fp32(reference, fp32_scores, force, threshold).to_dict()
    report["test_accuracy_keras"] = accuracy(reference, labels, threshold)
    report["test_accuracy_fp32"] = report["test_accuracy"] = accuracy(fp32_scores, labels, threshold)
    report["size_fp32_bytes"] = fp32_size  # as validated; `info` shows a written file's own size
    final_scores, precision = fp32_scores, "fp32"
    if quantize == "int8":
        graph, entry, int8_scores, int8_size = candidate("int8")
        sizes = (fp32_size, int8_size)
        fp32_accuracy = report["test_accuracy_fp32"]
        report["int8"] = validate_int8(reference, fp32_accuracy, int8_scores, labels, force, sizes, threshold)
        report["int8"]["size_bytes"] = int8_size
        report["test_accuracy"] = report["int8"]["test_accuracy"]
        final_scores, precision = int8_scores, "int8"
    temperature, report["calibration"] = calibrate(run, dataset, final_scores)
    if temperature is not None:
        graph, entry, calibrated, _ = candidate(precision, temperature)
        changed = int((decide(calibrated, threshold) != decide(final_scores, threshold)).sum())
        report["calibration"]["labels_changed"] = changed
        report["calibration"]["test"] = calibration_figures(calibrated, labels.astype(np.int64))
        info(
            f"calibration: temperature {temperature:.3f} fitted on {report['calibration']['fitted_on_rows']:,} "
            f"validation rows: test ECE {report['calibration']['test_before']['ece']:.4f} -> "
            f"{report['calibration']['test']['ece']:.4f}, {changed} of {len(labels):,} labels changed"
        )
    else:
        test = report["calibration"]["test"]
        info(f"calibration: test ECE {test['ece']:.4f}, log loss {test['log_loss']:.4f}; no temperature "
             f"({report['calibration']['why']})")  # fmt: skip

    size, _ = write_verified(out, graph, entry, vectorizer_json, training, report)
    return {"path": str(out), "bytes": size, "model": entry, "export": report}
