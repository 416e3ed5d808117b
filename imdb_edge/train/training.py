"""Fit one model on the training split, pick its epoch on validation, score it on test."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from imdb_edge.console import info
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.decision import decide
from imdb_edge.runtime.modelfile.schema import THRESHOLD
from imdb_edge.train.config import TrainConfig
from imdb_edge.train.features import Features, ValidationPieces, model_scores
from imdb_edge.train.model import build_model

WIDE_WEIGHT_SCAN = (0.25, 0.5, 0.75)  # validation accuracy of each mix is recorded, to choose wide_weight
EpochReporter = Callable[[int, int, dict[str, float], float], None]


@dataclass
class FitResult:
    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, Any]


def print_epoch(epoch: int, epochs: int, logs: dict[str, float], seconds: float) -> None:
    """Default progress: one line per epoch on stderr, so stdout stays clean for --json."""
    validation = f"  val_loss {logs['val_loss']:.4f}  val_acc {logs['val_accuracy']:.4f}" if "val_loss" in logs else ""
    info(f"epoch {epoch:>3}/{epochs}  loss {logs['loss']:.4f}  acc {logs['accuracy']:.4f}{validation}  {seconds:.1f}s")


def _epoch_callback(epochs: int, report: EpochReporter) -> Any:
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            report(epoch + 1, epochs, dict(logs or {}), time.perf_counter() - self._start)

    return EpochProgress()


def training_inputs(config: TrainConfig, features: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The fit rows, plus the review fragments and pseudo-labelled reviews if any (bag ids padded to one width
    with id V), and each row's loss weight (None: all 1)."""
    fit_rows = np.arange(len(features.y_train)) if features.fit_rows is None else features.fit_rows
    x, y = features.x_train[fit_rows], features.y_train[fit_rows]
    weights = None
    extras = []
    if features.x_fragments is not None and features.y_fragments is not None:
        extras.append((features.x_fragments, features.y_fragments, None))
    if features.x_pseudo is not None and features.y_pseudo is not None:
        extras.append((features.x_pseudo, features.y_pseudo, features.w_pseudo))
    if not extras:
        return x, y, None
    if config.architecture == "bag":
        width = max(part.shape[1] for part in [x, *(extra[0] for extra in extras)])
        pad = features.vectorizer.size

        def widen(part: np.ndarray) -> np.ndarray:
            return (
                part
                if part.shape[1] == width
                else np.pad(part, ((0, 0), (0, width - part.shape[1])), constant_values=pad)
            )

    else:

        def widen(part: np.ndarray) -> np.ndarray:
            return part

    if any(extra[2] is not None for extra in extras):
        weights = np.concatenate(
            [np.ones(len(y), dtype=np.float32)]
            + [np.ones(len(e[1]), dtype=np.float32) if e[2] is None else e[2] for e in extras]
        )
    x = np.concatenate([widen(x), *(widen(e[0]).astype(x.dtype) for e in extras)])
    y = np.concatenate([y, *(e[1].astype(y.dtype) for e in extras)])
    return x, y, weights


def short_text_accuracy(model: Any, features: Features, architecture: str) -> dict[str, float] | None:
    """Validation accuracy on short pieces of the validation reviews, per kind and pooled ("all")."""
    pieces: ValidationPieces | None = features.val_pieces
    if pieces is None:
        return None
    scores = model_scores(model, features.vectorizer, architecture, pieces.texts)
    correct = decide(scores, THRESHOLD) == pieces.labels.astype(np.int64)
    kinds = np.array(pieces.kinds)
    result = {kind: float(correct[kinds == kind].mean()) for kind in dict.fromkeys(pieces.kinds)}
    return {**result, "all": float(correct.mean())}


def balanced_weights(labels: np.ndarray, classes: int) -> dict[int, float]:
    """Keras class weights that make each label weigh the same in the loss: n / (classes x its count)."""
    counts = np.bincount(labels.astype(np.int64), minlength=classes)
    return {c: float(len(labels) / (classes * counts[c])) if counts[c] else 0.0 for c in range(classes)}


@dataclass
class _Fitted:
    model: Any
    history: dict[str, list[float]]
    seconds: float


def _fit(
    config: TrainConfig,
    features: Features,
    training: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    validation: tuple[np.ndarray, np.ndarray] | None,
    report: EpochReporter | None,
) -> _Fitted:
    """One Keras model trained on `training`, stopped early on `validation` if the config says so."""
    import keras

    keras.utils.set_random_seed(config.seed)
    bag_weights = features.vectorizer.feature_weights if config.architecture == "bag" else None
    model = build_model(config, features.vectorizer.size, bag_weights, features.classes)
    callbacks: list[Any] = []
    if report is not None:
        callbacks.append(_epoch_callback(config.epochs, report))
    if config.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
        )
    start = time.perf_counter()
    x, y, sample_weight = training
    class_weight = balanced_weights(y, features.classes) if config.class_weight == "balanced" else None
    if class_weight is not None and sample_weight is not None:  # Keras takes one or the other: fold them
        sample_weight = sample_weight * np.array([class_weight[int(label)] for label in (y >= 0.5)], np.float32)
        class_weight = None
    fitted = model.fit(
        x,
        y,
        sample_weight=sample_weight,
        validation_data=validation,
        epochs=config.epochs,
        batch_size=config.batch_size,
        callbacks=callbacks,
        class_weight=class_weight,
        verbose=0,
    )
    history = {key: [float(v) for v in values] for key, values in fitted.history.items()}
    return _Fitted(model, history, time.perf_counter() - start)


def fold_wide(config: TrainConfig, features: Features, linear: Any, hidden: Any) -> Any:
    """One model scoring sigmoid((1 - w) * linear logit + w * hidden logit), w = wide_weight.

    The linear model's bag column and the hidden model's bag columns become one table
    (ScaledBag with 1 + units columns), the hidden model's output layer the WideHead.
    """
    bag_weights = features.vectorizer.feature_weights
    model = build_model(config, features.vectorizer.size, bag_weights, features.classes)
    weight = config.wide_weight
    linear_table, linear_bias = (np.asarray(v) for v in linear.layers[0].get_weights()[:2])
    hidden_table, hidden_bias = (np.asarray(v) for v in hidden.layers[0].get_weights()[:2])
    bag, head = model.layers[0], model.layers[-1]
    bag.table.assign(np.concatenate([(1 - weight) * linear_table, hidden_table], axis=1))
    bag.bias.assign(np.concatenate([(1 - weight) * linear_bias, hidden_bias]))
    kernel, bias = (np.asarray(v) for v in hidden.layers[-1].get_weights())
    head.kernel.assign(weight * kernel)
    head.bias.assign(weight * bias)
    return model


def fit_and_evaluate(
    config: TrainConfig, features: Features, report: EpochReporter | None = print_epoch, evaluate_test: bool = True
) -> FitResult:
    """Train `config` on the training split minus validation, then evaluate on test.

    evaluate_test=False is for model selection, which must not look at the test set.
    validation_size 0 is a refit on every training review for a fixed number of epochs
    (chosen beforehand on validation); there are no validation figures then.
    wide: a linear model and a one-hidden-layer model, each trained (and stopped) on
    its own, folded into one model (fold_wide); the history holds both.
    """
    import tensorflow as tf

    if features.classes > 2 and (config.wide or config.loss != "binary_crossentropy"):
        raise ImdbEdgeError(
            f"{features.classes} labels train a softmax with cross-entropy: wide = true and loss = mse are for "
            "two labels"
        )
    tf.config.experimental.enable_op_determinism()
    training = training_inputs(config, features)
    validation = None
    if features.val_rows is not None:
        validation = (features.x_train[features.val_rows], features.y_train[features.val_rows])
    batch = 256 if config.architecture == "bag" else 2048  # bag inputs are [batch, longest review]

    first_config = config.updated(wide=False, hidden=[]) if config.wide else config
    first = _fit(first_config, features, training, validation, report)
    model, history, train_seconds = first.model, first.history, first.seconds
    extra: dict[str, Any] = {}
    if config.wide:
        second_config = config.updated(wide=False, epochs=config.wide_epochs or config.epochs)
        second = _fit(second_config, features, training, validation, report)
        model = fold_wide(config, features, first.model, second.model)
        history = {**history, **{f"hidden_{key}": values for key, values in second.history.items()}}
        train_seconds += second.seconds
        if validation is not None:
            hidden_best = int(np.argmin(second.history["val_loss"]))
            extra["hidden_best_epoch"] = hidden_best + 1
            extra["hidden_val_accuracy"] = second.history["val_accuracy"][hidden_best]
    epochs_run = len(first.history["loss"])
    best_index = int(np.argmin(first.history["val_loss"])) if validation is not None else epochs_run - 1
    used_index = best_index if config.early_stopping else epochs_run - 1
    val_loss = val_accuracy = None
    if validation is not None:
        if config.wide:
            val_loss, val_accuracy = (float(v) for v in model.evaluate(*validation, batch_size=batch, verbose=0))
            extra["linear_val_accuracy"] = first.history["val_accuracy"][used_index]
            extra["val_accuracy_by_wide_weight"] = {
                str(weight): val_accuracy  # the model just evaluated
                if weight == config.wide_weight
                else float(
                    fold_wide(config.updated(wide_weight=weight), features, first.model, second.model).evaluate(
                        *validation, batch_size=batch, verbose=0
                    )[1]
                )
                for weight in WIDE_WEIGHT_SCAN
            }
        else:
            val_loss, val_accuracy = history["val_loss"][used_index], history["val_accuracy"][used_index]

    start = time.perf_counter()
    test_loss = test_accuracy = None
    if evaluate_test:
        test_loss, test_accuracy = (
            float(v) for v in model.evaluate(features.x_test, features.y_test, batch_size=batch, verbose=0)
        )
    short = short_text_accuracy(model, features, config.architecture)
    metrics = {
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
        "val_short_accuracy": short["all"] if short else None,
        "val_short_by_kind": short,
        "best_epoch": best_index + 1 if validation is not None else None,
        "used_epoch": used_index + 1,
        "epochs_run": epochs_run,
        **extra,
        **({"pseudo_labels": features.pseudo_summary} if features.pseudo_summary else {}),
        "train_rows": len(training[1]),
        "validation_rows": len(validation[1]) if validation is not None else 0,
        "test_rows": len(features.y_test) if evaluate_test else 0,
        "parameters": int(model.count_params()),
        "train_seconds": round(train_seconds, 3),
        "evaluate_seconds": round(time.perf_counter() - start, 3),
    }
    return FitResult(model=model, history=history, metrics=metrics)
