"""Raw review text in, label and score out: numpy + onnxruntime only."""

from __future__ import annotations

import math
import numbers
import os
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from imdb_edge.errors import ImdbEdgeError, first_line
from imdb_edge.runtime.explain import Explanation, explain
from imdb_edge.runtime.modelfile.reader import ModelFile, read_model_file
from imdb_edge.runtime.modelfile.schema import DENSE, TEXT, TOKEN_IDS
from imdb_edge.runtime.modelfile.weights import linear_head
from imdb_edge.runtime.texts import empty_reason
from imdb_edge.runtime.vectorizer import Vectorizer, padded_rows

DEFAULT_MODEL = "default.int8.onnx"
ENV_MODEL = "IMDB_EDGE_MODEL"
CHUNK = 512
GROUP = 64  # rows per run when a batch is grouped by length
PROBE_SECONDS = 5.0
"""The load probe's limit: exported graphs answer two tiny rows in well under a millisecond."""
FIRST_RUN_SECONDS = 5.0
FIRST_RUN_SECONDS_PER_ROW = 0.01
"""The first real run's limit is FIRST_RUN_SECONDS plus this much per row (a Raspberry Pi runs the
slowest exported form, the portable text form, at about 5 ms a review)."""
PADDING_TOLERANCE = 1e-5

_run_options: weakref.WeakSet[ort.RunOptions] = weakref.WeakSet()
_run_options_lock = threading.Lock()


def cancel_runs() -> None:
    """Stop every onnxruntime run of every Classifier in this process at once (a stop signal's watcher calls
    it while the main thread waits in a long run). Those Classifiers stay cancelled: each later run raises
    RunCancelled."""
    with _run_options_lock:
        for options in list(_run_options):
            options.terminate = True


_NOT_READ = object()


class RunCancelled(ImdbEdgeError):
    """A run was stopped by `cancel_runs` (a stop signal), not by anything wrong with the model or the text."""


def default_model_path() -> Path:
    """$IMDB_EDGE_MODEL, else the model shipped inside the package."""
    if os.environ.get(ENV_MODEL):
        return Path(os.environ[ENV_MODEL])
    return Path(str(resources.files("imdb_edge.runtime") / "models" / DEFAULT_MODEL))


@dataclass(frozen=True)
class Prediction:
    """One text's answer. `score`: for a model of two labels, the probability of its second label (for IMDB,
    "positive"), as the threshold reads it; for more labels, the probability of `label`, the likeliest.
    `scores`: every label's probability. `known_terms`: how many of the text's terms the model knows; with
    none, the label is only the model's bias. `error`: why there is no answer (predict_batch(errors="return")
    only; label is then None and score NaN)."""

    label: str | None
    score: float
    scores: Mapping[str, float] = field(default_factory=dict, compare=False)
    known_terms: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": self.error}
        return {"label": self.label, "score": self.score, "scores": dict(self.scores), "known_terms": self.known_terms}


def session_options(threads: int = 1) -> ort.SessionOptions:
    """Options for a tiny model on a small CPU: few threads, no idle spinning."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # Lets onnxruntime fold DequantizeLinear of a constant int8 table once at load:
    # int8 files then run at fp32 speed (see export/quantize.py). Our graphs are not QDQ.
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    options.log_severity_level = 3
    return options


def max_threads() -> int:
    """The most onnxruntime threads a Classifier may ask for: twice the cores (at least 4). More only wait for
    a core, and 5,000 took minutes to tear down (and deadlocked under an address-space limit)."""
    return max(4, 2 * (os.cpu_count() or 1))


def _check_threads(threads: object) -> int:
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"threads must be a whole number, got {threads!r}")
    if not 1 <= threads <= max_threads():
        raise ImdbEdgeError(f"threads must be between 1 and {max_threads()} on this machine, got {threads}")
    return int(threads)


def _check_threshold(threshold: object) -> float | None:
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number, got {threshold!r}")
    if not 0.0 < float(threshold) < 1.0:
        raise ImdbEdgeError(f"threshold must be in (0, 1), got {threshold}")
    return float(threshold)


class Classifier:
    """A loaded model: thread-safe, `predict` one text or `predict_batch` many.

    `Classifier(path)` and `Classifier.load(path)` both read and verify a model file.
    Empty or whitespace-only text is an error (ImdbEdgeError), as in the CLI: there
    is nothing to classify, and a score for it would only reflect the model's bias.
    """

    def __init__(
        self,
        model_file: ModelFile | str | os.PathLike[str],
        threads: int = 1,
        providers: Sequence[str] | None = None,
        threshold: float | None = None,
    ) -> None:
        threads = _check_threads(threads)
        threshold = _check_threshold(threshold)
        if isinstance(model_file, (str, os.PathLike)):
            model_file = read_model_file(model_file)
        elif not isinstance(model_file, ModelFile):
            raise TypeError(f"Classifier takes a model path or a ModelFile, got {type(model_file).__name__}")
        self.model_file = model_file
        self.vectorizer: Vectorizer = model_file.vectorizer
        self.input_form = model_file.input_form
        self.labels: tuple[str, ...] = tuple(model_file.model["labels"])
        self.classes = len(self.labels)
        """How many labels: 2 (one score, a threshold) or more (one probability each, the likeliest wins)."""
        if threshold is not None and self.classes > 2:
            raise ImdbEdgeError(
                f"a threshold applies to a model of two labels; {model_file.path} has {self.classes} (the likeliest "
                "label wins)"
            )
        self.threshold: float | None = (
            float(threshold if threshold is not None else model_file.model["threshold"]) if self.classes == 2 else None
        )
        self._score_shape = (-1,) if self.classes == 2 else (-1, self.classes)
        self._input = model_file.model["input_name"]
        self._outputs = [model_file.model["output_name"]]  # built once: session.run takes a list on every call
        self._run_options = ort.RunOptions()  # shared by every run: cancel_runs sets its terminate flag
        self._run_options.log_severity_level = 4  # a failed run is one raised line, not also a log line on stderr
        with _run_options_lock:
            _run_options.add(self._run_options)
        self._first_run_done = False
        self._timed_out = False
        self._linear_head: Any = _NOT_READ
        try:
            self.session = ort.InferenceSession(
                model_file.graph_model,
                sess_options=session_options(threads),
                providers=list(providers or ["CPUExecutionProvider"]),
            )
        except Exception as exc:  # onnxruntime raises several private exception types
            raise ImdbEdgeError(f"{model_file.path}: onnxruntime cannot load this model ({first_line(exc)})") from None
        self._check_graph_matches_metadata()

    def __repr__(self) -> str:
        precision = self.model_file.model.get("precision", "?")
        return (
            f"Classifier(model={self.model_file.path!r}, input_form={self.input_form!r}, "
            f"vocabulary_size={self.vectorizer.size}, precision={precision!r}, labels={self.labels!r}, "
            f"threshold={self.threshold})"
        )

    def _probe_batches(self) -> list[np.ndarray]:
        """The load probe's inputs: no feature at all, and the highest feature id (the table's last row); for
        the token-id form the same two rows again padded to width 3, which must score the same (a padding row
        that is not zero would change every review's score by its length)."""
        last = self.vectorizer.size - 1
        if self.input_form == TOKEN_IDS:
            pad = last + 1
            return [
                np.array([[pad], [last]], dtype=np.int64),
                np.array([[pad, pad, pad], [last, pad, pad]], dtype=np.int64),
            ]
        if self.input_form == DENSE:
            rows = np.zeros((2, self.vectorizer.size), dtype=np.float32)
            rows[1, last] = 1.0
            return [rows]
        vocabulary = self.vectorizer.vocabulary or ["probe"]
        return [self.model_inputs(["", vocabulary[-1]])]

    def _check_graph_matches_metadata(self) -> None:
        """The checksum proves the file is as exported; this proves the parts belong together."""
        where = self.model_file.path
        inputs = self.session.get_inputs()
        if [i.name for i in inputs] != [self._input]:
            raise ImdbEdgeError(f"{where}: graph inputs {[i.name for i in inputs]} do not match the metadata")
        if self.input_form == DENSE and inputs[0].shape[-1] != self.vectorizer.size:
            raise ImdbEdgeError(f"{where}: graph width {inputs[0].shape[-1]} != vocabulary size {self.vectorizer.size}")
        try:
            batches = self._probe_batches()  # the text form's reads the packed terms
        except ImdbEdgeError as exc:
            raise ImdbEdgeError(f"{where}: bad vocabulary: {exc}") from None
        failure = "the graph does not run on its own vocabulary"
        probes = [self._guarded_run(batch, PROBE_SECONDS, failure) for batch in batches]
        expected = (2,) if self.classes == 2 else (2, self.classes)
        for probe in probes:
            if probe.shape != expected or not np.isfinite(probe).all():
                raise ImdbEdgeError(
                    f"{where}: the graph returns {probe!r} instead of finite scores of shape {expected}"[:300]
                )
        if len(probes) == 2 and np.abs(probes[0] - probes[1]).max() > PADDING_TOLERANCE:
            raise ImdbEdgeError(
                f"{where}: padding changes the scores ({probes[0].tolist()} unpadded, {probes[1].tolist()} padded): "
                "the padding row of its weight table is not zero, so no exported model wrote it"
            )

    def _guarded_run(self, inputs: np.ndarray, seconds: float, failure: str) -> np.ndarray:
        """One run stopped after `seconds` (a graph that passes the checks may still be slow on purpose); any
        failure is one ImdbEdgeError starting with `failure`."""
        self._timed_out = False

        def expire() -> None:
            self._timed_out = True
            self._run_options.terminate = True

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        timer.start()
        try:
            return self._reshaped(self.session.run(self._outputs, {self._input: inputs}, self._run_options)[0])
        except Exception as exc:  # onnxruntime raises several private exception types
            if self._timed_out:
                reason = f"it ran longer than {seconds:g} s"
            elif self._run_options.terminate:
                raise RunCancelled(f"{self.model_file.path}: the run was cancelled") from None
            else:
                reason = first_line(exc)
            raise ImdbEdgeError(f"{self.model_file.path}: {failure} ({reason})") from None
        finally:
            timer.cancel()

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        threads: int = 1,
        providers: Sequence[str] | None = None,
        threshold: float | None = None,
        sha256: str | None = None,
    ) -> Classifier:
        """Load and verify a model file.

        Parameters:
            path: an .onnx file from `imdb-edge export`; None: $IMDB_EDGE_MODEL, else the
                model shipped in the package.
            threads: onnxruntime intra-op threads (1 suits one review at a time).
            providers: onnxruntime execution providers (default: the CPU).
            threshold: score at or above which a review is positive (default: the model's).
            sha256: the file's expected sha256 (64 hex digits), checked before anything is parsed. The
                checksums inside a model file catch accidental damage only; pin the hash to know it is
                the file you meant (`sha256sum model.onnx`, or `imdb-edge info --json`'s "sha256").

        Returns:
            A ready, thread-safe Classifier.

        Raises:
            ImdbEdgeError: the file is missing, not a regular file, damaged, not an imdb-edge
                model, or onnxruntime cannot run it (one line saying which).
            TypeError: an argument has the wrong type (a path that is not str or PathLike, a sha256 that is
                not a str, threads or a threshold that are not numbers).

        Example:
            >>> Classifier.load().predict("An absolute masterpiece.").label
            'positive'
        """
        if sha256 is not None and not isinstance(sha256, str):
            raise TypeError(f"sha256 must be a str of 64 hex digits, got {type(sha256).__name__}")
        model_file = read_model_file(default_model_path() if path is None else path, sha256=sha256)
        return cls(model_file, threads, providers, threshold)

    def model_inputs(self, texts: Sequence[str]) -> np.ndarray:
        """What the graph takes for `texts`, by the model's input form."""
        if self.input_form == TOKEN_IDS:
            return self.vectorizer.padded_ids(texts)
        if self.input_form == DENSE:
            return self.vectorizer.multi_hot(texts)
        return np.array(list(texts), dtype=object)

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Model-only: scores for prepared inputs.

        The first run is stopped if it takes too long (FIRST_RUN_SECONDS, plus a little per row): a graph
        that passed the load checks may still be slow on purpose, and the first real input shows it.

        Raises:
            ImdbEdgeError: onnxruntime cannot run the graph on this input (one line saying why).
            RunCancelled: `cancel_runs` stopped it.
        """
        if not self._first_run_done:
            limit = FIRST_RUN_SECONDS + FIRST_RUN_SECONDS_PER_ROW * len(inputs)
            scores = self._guarded_run(inputs, limit, "the model fails on this input")
        else:
            try:
                scores = self._reshaped(self.session.run(self._outputs, {self._input: inputs}, self._run_options)[0])
            except Exception as exc:  # onnxruntime raises several private exception types
                if self._run_options.terminate:
                    raise RunCancelled(f"{self.model_file.path}: the run was cancelled") from None
                reason = first_line(exc)
                raise ImdbEdgeError(f"{self.model_file.path}: the model fails on this input ({reason})") from None
        if len(scores) != len(inputs):
            raise ImdbEdgeError(
                f"{self.model_file.path}: the model returns {len(scores)} scores for {len(inputs)} reviews"
            )
        self._first_run_done = True
        return scores

    def _reshaped(self, output: np.ndarray) -> np.ndarray:
        """The graph's output as scores: (n,) for two labels, (n, K) for more."""
        try:
            return output.reshape(self._score_shape)
        except ValueError:
            raise ImdbEdgeError(
                f"{self.model_file.path}: the graph returns shape {output.shape}, not one score per review and label"
            ) from None

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities for `texts`, float32, computed in chunks (no checks: the fast path): for a model of two
        labels the second label's, shape (n,); for more, every label's, shape (n, K)."""
        if isinstance(texts, str):
            raise TypeError("scores() takes a list of texts; use predict() for one text")
        if not len(texts):
            return np.empty((0, *self._score_shape[1:]), dtype=np.float32)
        if self.input_form == TOKEN_IDS and len(texts) > GROUP:
            return self._grouped_token_id_scores(texts)
        if len(texts) <= CHUNK:  # a single review, a small batch: one run, no copy, no loop
            return self.run(self.model_inputs(texts)).astype(np.float32, copy=False)
        out = np.empty((len(texts), *self._score_shape[1:]), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            out[start : start + len(chunk)] = self.run(self.model_inputs(chunk))
        return out

    def scores_and_known(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """scores(texts), and how many of each text's terms the model knows (from the same vectorizing, except
        for a text-input model, whose terms the graph finds: those are counted here once more)."""
        if isinstance(texts, str):
            raise TypeError("scores_and_known() takes a list of texts")
        if not len(texts):
            return self.scores(texts), np.zeros(0, dtype=np.int64)
        if self.input_form == TOKEN_IDS and len(texts) > GROUP:
            known = np.empty(len(texts), dtype=np.int64)
            return self._grouped_token_id_scores(texts, known), known
        if self.input_form == TEXT:
            return self.scores(texts), np.diff(self.vectorizer.feature_ids_batch(texts)[1])
        if len(texts) > CHUNK:
            parts = [self.scores_and_known(texts[i : i + CHUNK]) for i in range(0, len(texts), CHUNK)]
            return np.concatenate([s for s, _ in parts]), np.concatenate([k for _, k in parts])
        inputs = self.model_inputs(texts)
        known = np.count_nonzero(inputs != self.vectorizer.size if self.input_form == TOKEN_IDS else inputs, axis=1)
        return self.run(inputs).astype(np.float32, copy=False), known.astype(np.int64)

    def _grouped_token_id_scores(self, texts: Sequence[str], known: np.ndarray | None = None) -> np.ndarray:
        """Runs of GROUP reviews of similar length, each padded to its own longest row.

        Padding a run to its longest review is most of a big batch's work (a 512-row run
        is about 1,300 ids wide where a review has about 340), so rows are sorted by
        length first. Deterministic for the same texts; a score may differ in its last
        bit from the same review run in another batch (onnxruntime's ReduceSum depends on
        the padding width), as it already did between chunks.
        """
        out = np.empty((len(texts), *self._score_shape[1:]), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            flat, offsets = self.vectorizer.feature_ids_batch(chunk)
            lengths = np.diff(offsets)
            if known is not None:
                known[start : start + len(chunk)] = lengths
            order = np.argsort(lengths, kind="stable")
            for first in range(0, len(chunk), GROUP):
                rows = order[first : first + GROUP]
                row_ids = np.concatenate([flat[offsets[r] : offsets[r + 1]] for r in rows])
                out[start + rows] = self.run(padded_rows(row_ids, lengths[rows], self.vectorizer.size))
        return out

    def label_of(self, score: Any) -> str:
        """The decision rule, in one place: two labels, the second at or above the threshold; more, the
        likeliest (`score` is then the row of probabilities)."""
        if self.threshold is not None:
            return self.labels[score >= self.threshold]
        return self.labels[int(np.argmax(score))]

    def _prediction(self, score: Any, known: int | None) -> Prediction:
        """A Prediction from one review's score (two labels) or probabilities (more)."""
        if self.threshold is not None:
            value = float(score)
            scores = {self.labels[0]: 1.0 - value, self.labels[1]: value}
            return Prediction(self.labels[value >= self.threshold], value, scores, known)
        row = [float(p) for p in score]
        best = max(range(len(row)), key=row.__getitem__)
        return Prediction(self.labels[best], row[best], dict(zip(self.labels, row, strict=True)), known)

    def predict(self, text: str) -> Prediction:
        """Classify one review.

        Parameters:
            text: the review, any length (no truncation here; the CLI cuts at --max-chars).

        Returns:
            Prediction(label, score, scores): for a model of two labels, score is the second label's
            ("positive") probability; for more, the probability of the label given. scores: every label's.

        Raises:
            TypeError: `text` is not a str.
            ImdbEdgeError: the text is empty or whitespace only, as in the CLI.

        Example:
            >>> Classifier.load().predict("This movie was a waste of time").label
            'negative'
        """
        if not isinstance(text, str):
            raise TypeError(f"predict() takes a str, got {type(text).__name__}")
        reason = empty_reason(text)
        if reason:
            raise ImdbEdgeError(f"cannot classify: {reason}")
        scores, known = self.scores_and_known((text,))
        return self._prediction(scores[0], int(known[0]))

    def explain(self, text: str, k: int = 5) -> Explanation:
        """Why `text` gets its label: the `k` terms that push hardest towards each label, as text.

        Exact for linear token-id models (the shipped one): each term's push is its own weight, and the bias
        plus every push is the logit. Otherwise each term is left out in turn (one extra run over as many
        rows as the text has known terms); those pushes need not add up. See runtime/explain.py.

        Raises:
            ImdbEdgeError: empty text, or a text-input model file (explain with its token-id file).
        """
        if not isinstance(text, str):
            raise TypeError(f"explain() takes a str, got {type(text).__name__}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise TypeError(f"k must be a whole number >= 1, got {k!r}")
        if self._linear_head is _NOT_READ:
            self._linear_head = linear_head(self.model_file.graph_model) if self.input_form == TOKEN_IDS else None
        return explain(self, text, k, self._linear_head)  # type: ignore[arg-type]

    def predict_batch(self, texts: Iterable[str], errors: str = "raise") -> list[Prediction]:
        """Classify many reviews in one vectorized pass.

        Parameters:
            texts: any iterable of str (a list, a generator, a file's lines).
            errors: "raise" (the default): a bad item raises, naming its index; "return": a bad
                item gets a Prediction whose `error` says why (label None, score NaN), in its
                place, and every other item is classified, as the CLI does.

        Returns:
            One Prediction per text, in order.

        Raises:
            TypeError: `texts` is a single str, not iterable, or (errors="raise") holds a non-str.
            ImdbEdgeError: (errors="raise") an item is empty or whitespace only (named by index).

        Example:
            >>> [p.label for p in Classifier.load().predict_batch(["Loved it.", "Dreadful."])]
            ['positive', 'negative']
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError("predict_batch() takes an iterable of texts; use predict() for one text")
        try:
            iterator = iter(texts)
        except TypeError:
            raise TypeError(f"predict_batch() takes an iterable of str, got {type(texts).__name__}") from None
        if errors not in ("raise", "return"):
            raise ValueError(f'errors must be "raise" or "return", got {errors!r}')
        items = list(iterator)  # an error inside a generator is the generator's, and goes up as it is
        problems: dict[int, str] = {}
        for index, text in enumerate(items):
            if not isinstance(text, str):
                if errors == "raise":
                    raise TypeError(f"predict_batch(): item {index} is {type(text).__name__}, not str")
                problems[index] = f"not a text ({type(text).__name__})"
                continue
            reason = empty_reason(text)
            if reason:
                if errors == "raise":
                    raise ImdbEdgeError(f"predict_batch(): item {index}: {reason}")
                problems[index] = reason
        usable = [text for index, text in enumerate(items) if index not in problems]
        scores, known = self.scores_and_known(usable)
        answers = iter(self._prediction(score, int(count)) for score, count in zip(scores, known, strict=True))
        return [
            Prediction(None, math.nan, error=problems[index]) if index in problems else next(answers)
            for index in range(len(items))
        ]
