"""Self-training with unlabelled reviews (issue 30): a teacher labels them, the model learns from both.

Round 1's teacher is the model the settings describe without pseudo-labels (or with a larger
vocabulary, teacher_features), trained on the labelled fit rows only; it scores every unlabelled
review, and its most confident `pseudo_labels` (half per label) join the fit rows with its label
(or its probability) and a loss weight. Each later round's teacher is the previous round's model.
Validation and test rows are never read by a teacher. The model that comes out is the same kind
as without self-training: the unlabelled reviews are needed at training time only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from imdb_edge.console import info
from imdb_edge.data.dataset import Dataset
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.train.config import TrainConfig
from imdb_edge.train.features import Features, PseudoLabels, build_features, model_scores, unlabelled_texts


def choose_pseudo_labels(texts: list[str], scores: np.ndarray, config: TrainConfig) -> tuple[PseudoLabels, dict]:
    """The most confident reviews of each predicted label, up to half of pseudo_labels each (fewer if the
    teacher calls fewer reviews that label), with hard or soft targets and pseudo_weight."""
    per_label = min(config.pseudo_labels, len(texts)) // 2
    order = np.argsort(-scores, kind="stable")
    positive = order[:per_label][scores[order[:per_label]] >= 0.5]
    negative = order[::-1][:per_label][scores[order[::-1][:per_label]] < 0.5]
    chosen = np.sort(np.concatenate([positive, negative]))
    hard = (scores[chosen] >= 0.5).astype(np.float32)
    targets = hard if config.pseudo_targets == "hard" else scores[chosen].astype(np.float32)
    confidence = np.abs(scores[chosen] - 0.5) + 0.5
    summary = {
        "chosen": int(chosen.size),
        "positive": int(hard.sum()),
        "lowest_confidence": round(float(confidence.min()), 4) if chosen.size else None,
        "teacher_positive_share": round(float((scores >= 0.5).mean()), 4),
    }
    pseudo = PseudoLabels(
        texts=[texts[i] for i in chosen.tolist()],
        targets=targets,
        weights=np.full(chosen.size, config.pseudo_weight, dtype=np.float32),
    )
    return pseudo, summary


def teacher_config(config: TrainConfig) -> TrainConfig:
    """Round 1's teacher: the same settings without self-training, with teacher_features terms if set."""
    changes: dict[str, Any] = {
        "pseudo_labels": 0,
        "pseudo_statistics": False,
        "pseudo_loss": True,
        "teacher_features": 0,
    }
    if config.teacher_features:
        changes["vectorizer"] = {"max_features": config.teacher_features}
    return config.updated(**changes)


def prepare_features(
    dataset: Dataset, config: TrainConfig, build: Callable[[Dataset, TrainConfig], Features] = build_features
) -> Features:
    """The features `config` trains on: build_features, after self-training's rounds when pseudo_labels > 0.
    `build`: how the features without pseudo-labels are made (a sweep passes its cache)."""
    if not config.pseudo_labels:
        return build(dataset, config)
    from imdb_edge.train.training import fit_and_evaluate

    if len(dataset.labels) != 2:
        raise ImdbEdgeError("pseudo_labels (self-training) is for two labels")
    unlabelled = unlabelled_texts(dataset, "pseudo_labels")
    model_config = teacher_config(config)
    features = build(dataset, model_config)
    rounds = []
    for number in range(1, config.pseudo_rounds + 1):
        teacher = fit_and_evaluate(model_config, features, report=None, evaluate_test=False)
        scores = model_scores(teacher.model, features.vectorizer, config.architecture, unlabelled)
        pseudo, summary = choose_pseudo_labels(unlabelled, scores, config)
        summary = {"round": number, "teacher_val_accuracy": teacher.metrics["val_accuracy"], **summary}
        rounds.append(summary)
        info(
            f"self-training round {number}: {summary['chosen']:,} of {len(unlabelled):,} unlabelled reviews "
            f"pseudo-labelled ({summary['positive']:,} positive, confidence >= {summary['lowest_confidence']})"
        )
        same_vocabulary = not config.pseudo_statistics and (number > 1 or not config.teacher_features)
        features = build_features(dataset, config, pseudo, vectorizer=features.vectorizer if same_vocabulary else None)
        model_config = config
    features.pseudo_summary = {"unlabelled_reviews": len(unlabelled), "rounds": rounds}
    return features
