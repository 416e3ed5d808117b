"""Why a text got its label: each of its terms' push towards each label, as text.

For a linear token-id model (the bag models without hidden layers, the shipped one
included) the push is exact: the term's row of the model's own table (modelfile/weights.py),
its contribution to the logit, so that the contributions plus the bias are the logit. For
other models (hidden layers, the dense reference family) each term is left out in turn and
the change in the logit (two labels) or in each label's log-probability is its push: an
honest measure, not a decomposition (the pushes need not add up), at the cost of one extra
run over as many rows as the text has known terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.modelfile.schema import DENSE, TOKEN_IDS
from imdb_edge.runtime.modelfile.weights import LinearHead

if TYPE_CHECKING:
    from imdb_edge.runtime.classifier import Classifier, Prediction

EXACT, LEAVE_ONE_OUT = "exact", "leave-one-out"
_EPSILON = 1e-12


@dataclass(frozen=True)
class TermPush:
    """How hard one of the text's terms pushes towards `label` (two labels: the logit's change, signed so
    that positive pushes towards `label`)."""

    term: str
    label: str
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        return {"term": self.term, "label": self.label, "contribution": round(self.contribution, 6)}


@dataclass(frozen=True)
class Explanation:
    prediction: Prediction
    method: str
    """"exact" (a linear model's own weights) or "leave-one-out"."""
    terms: list[TermPush] = field(default_factory=list)
    """The strongest pushes towards each label, strongest first, label by label."""
    bias: float | None = None
    """exact, two labels: the logit of a text without known terms; bias + every term's push is the logit."""
    logit: float | None = None
    """Two labels: the text's logit (log-odds of the second label)."""

    def bias_push(self) -> TermPush | None:
        """Exact, two labels: where a text without known terms would lean, and how hard (the bias, as a push)."""
        if self.bias is None or len(self.prediction.scores) != 2:
            return None
        first, second = self.prediction.scores
        return TermPush("(bias)", second if self.bias >= 0 else first, abs(self.bias))

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "bias": self.bias,
            "logit": self.logit,
            "terms": [push.to_dict() for push in self.terms],
        }


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p.astype(np.float64), _EPSILON, 1 - _EPSILON)
    return np.log(p) - np.log1p(-p)


def explain(classifier: Classifier, text: str, k: int, head: LinearHead | None) -> Explanation:
    """The top `k` pushes towards each of the classifier's labels for `text` (`head`: its linear weights)."""
    if classifier.input_form not in (TOKEN_IDS, DENSE):
        raise ImdbEdgeError(
            "explanations read the model's term inputs, and a text-input file takes whole texts: explain with the "
            "token-id file it was made from"
        )
    prediction = classifier.predict(text)
    terms = classifier.vectorizer.text_terms(text)
    ids = np.array(sorted(terms), dtype=np.int64)
    labels = classifier.labels
    if head is not None and classifier.input_form == TOKEN_IDS:
        rows = head.table[ids].astype(np.float64) * head.scale
        bias = head.bias.astype(np.float64) * head.scale
        if len(labels) == 2:
            logit = float(bias[0] + rows[:, 0].sum())
            return Explanation(
                prediction, EXACT, _two_label_pushes(ids, rows[:, 0], terms, labels, k), float(bias[0]), logit
            )
        centred = rows - rows.mean(axis=1, keepdims=True)  # a softmax only sees differences between labels
        return Explanation(prediction, EXACT, _per_label_pushes(ids, centred, terms, labels, k))
    full, without = _leave_one_out(classifier, text, ids)
    if len(labels) == 2:
        pushes = _logit(full)[0] - _logit(without)
        logit = float(_logit(full)[0])
        return Explanation(prediction, LEAVE_ONE_OUT, _two_label_pushes(ids, pushes, terms, labels, k), None, logit)
    log_full = np.log(np.clip(full.astype(np.float64), _EPSILON, 1.0))
    log_without = np.log(np.clip(without.astype(np.float64), _EPSILON, 1.0))
    return Explanation(prediction, LEAVE_ONE_OUT, _per_label_pushes(ids, log_full - log_without, terms, labels, k))


def _leave_one_out(classifier: Classifier, text: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scores of the text, and of the text without each of its terms in turn (one run of len(ids) rows)."""
    if classifier.input_form == TOKEN_IDS:
        pad = classifier.vectorizer.size
        rows = np.full((max(len(ids), 1), max(len(ids) - 1, 1)), pad, dtype=np.int64)
        for i in range(len(ids)):
            kept = np.delete(ids, i)
            rows[i, : len(kept)] = kept
        full = classifier.run(classifier.model_inputs([text]))
    else:
        base = classifier.model_inputs([text])
        rows = np.repeat(base, max(len(ids), 1), axis=0)
        rows[np.arange(len(ids)), ids] = 0.0
        full = classifier.run(base)
    without = classifier.run(rows)[: len(ids)] if len(ids) else full[:0]
    return full, without


def _two_label_pushes(
    ids: np.ndarray, pushes: np.ndarray, terms: dict[int, str], labels: tuple[str, ...], k: int
) -> list[TermPush]:
    """Top k towards the second label (positive pushes), then towards the first (negative ones)."""
    order = np.argsort(-pushes, kind="stable")
    up = [TermPush(terms[int(ids[i])], labels[1], float(pushes[i])) for i in order[:k] if pushes[i] > 0]
    down_order = np.argsort(pushes, kind="stable")
    down = [TermPush(terms[int(ids[i])], labels[0], float(-pushes[i])) for i in down_order[:k] if pushes[i] < 0]
    return up + down


def _per_label_pushes(
    ids: np.ndarray, pushes: np.ndarray, terms: dict[int, str], labels: tuple[str, ...], k: int
) -> list[TermPush]:
    """For each label, its top k terms by push (only those that push towards it)."""
    found = []
    for column, label in enumerate(labels):
        order = np.argsort(-pushes[:, column], kind="stable")
        found += [
            TermPush(terms[int(ids[i])], label, float(pushes[i, column])) for i in order[:k] if pushes[i, column] > 0
        ]
    return found


def describe_pushes(explanation: Explanation) -> str:
    """The pushes in one line, for plain output, those towards the chosen label first:
    `waste (negative 0.54); ...; this movie (positive 0.03); (bias) (positive 0.06)`."""
    chosen = explanation.prediction.label
    pushes = sorted(explanation.terms, key=lambda push: push.label != chosen)  # stable: strongest first within
    bias = explanation.bias_push()
    pushes += [bias] if bias is not None else []
    return "; ".join(
        f"{push.term} ({push.label} {push.contribution:.2f})" for push in pushes if math.isfinite(push.contribution)
    )
