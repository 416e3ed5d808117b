"""Raw review text in, label and score out: numpy + onnxruntime only."""

from __future__ import annotations

import numbers
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from imdb_edge.errors import ImdbEdgeError, first_line
from imdb_edge.runtime.modelfile.reader import ModelFile, read_model_file
from imdb_edge.runtime.modelfile.schema import DENSE, TOKEN_IDS
from imdb_edge.runtime.texts import empty_reason
from imdb_edge.runtime.vectorizer import Vectorizer, padded_rows

DEFAULT_MODEL = "default.int8.onnx"
ENV_MODEL = "IMDB_EDGE_MODEL"
CHUNK = 512
GROUP = 64  # rows per run when a batch is grouped by length
PROBE_SECONDS = 10.0


def default_model_path() -> Path:
    """$IMDB_EDGE_MODEL, else the model shipped inside the package."""
    if os.environ.get(ENV_MODEL):
        return Path(os.environ[ENV_MODEL])
    return Path(str(resources.files("imdb_edge.runtime") / "models" / DEFAULT_MODEL))


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score}


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


def _check_threads(threads: object) -> int:
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"threads must be a whole number, got {threads!r}")
    if threads < 1:
        raise ImdbEdgeError(f"threads must be >= 1, got {threads}")
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
        self.labels: tuple[str, str] = tuple(model_file.model["labels"])  # type: ignore[assignment]
        self.threshold = float(threshold if threshold is not None else model_file.model["threshold"])
        self._input = model_file.model["input_name"]
        self._outputs = [model_file.model["output_name"]]  # built once: session.run takes a list on every call
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

    def _probe_inputs(self) -> np.ndarray:
        """Two rows for the load probe: no feature at all, and the highest feature id (the table's last row)."""
        last = self.vectorizer.size - 1
        if self.input_form == TOKEN_IDS:
            return np.array([[last + 1], [last]], dtype=np.int64)
        if self.input_form == DENSE:
            rows = np.zeros((2, self.vectorizer.size), dtype=np.float32)
            rows[1, last] = 1.0
            return rows
        vocabulary = self.vectorizer.vocabulary or ["probe"]
        return self.model_inputs(["", vocabulary[-1]])

    def _check_graph_matches_metadata(self) -> None:
        """The checksum proves the file is as exported; this proves the parts belong together."""
        where = self.model_file.path
        inputs = self.session.get_inputs()
        if [i.name for i in inputs] != [self._input]:
            raise ImdbEdgeError(f"{where}: graph inputs {[i.name for i in inputs]} do not match the metadata")
        if self.input_form == DENSE and inputs[0].shape[-1] != self.vectorizer.size:
            raise ImdbEdgeError(f"{where}: graph width {inputs[0].shape[-1]} != vocabulary size {self.vectorizer.size}")
        try:
            inputs = self._probe_inputs()  # the text form's reads the packed terms
        except ImdbEdgeError as exc:
            raise ImdbEdgeError(f"{where}: bad vocabulary: {exc}") from None
        run_options = ort.RunOptions()
        run_options.log_severity_level = 4  # its error is the one line raised below, not also a log line on stderr
        # A graph without a Loop runs each node once: bounded by its size, so no watchdog thread (~1 ms) is needed.
        timer = threading.Timer(PROBE_SECONDS, setattr, (run_options, "terminate", True))
        if self.model_file.has_loop:
            timer.start()
        try:
            probe = self.run(inputs, run_options)
        except Exception as exc:  # onnxruntime raises several private exception types
            reason = "it ran too long" if run_options.terminate else first_line(exc)
            raise ImdbEdgeError(f"{where}: the graph does not run on its own vocabulary ({reason})") from None
        finally:
            timer.cancel()
        if probe.shape != (2,) or not np.isfinite(probe).all():
            raise ImdbEdgeError(f"{where}: the graph returns {probe!r} instead of two finite scores")

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        threads: int = 1,
        providers: Sequence[str] | None = None,
        threshold: float | None = None,
    ) -> Classifier:
        """Load and verify a model file.

        Parameters:
            path: an .onnx file from `imdb-edge export`; None: $IMDB_EDGE_MODEL, else the
                model shipped in the package.
            threads: onnxruntime intra-op threads (1 suits one review at a time).
            providers: onnxruntime execution providers (default: the CPU).
            threshold: score at or above which a review is positive (default: the model's).

        Returns:
            A ready, thread-safe Classifier.

        Raises:
            ImdbEdgeError: the file is missing, not a regular file, damaged, not an imdb-edge
                model, or onnxruntime cannot run it (one line saying which).
            TypeError: an argument has the wrong type.

        Example:
            >>> Classifier.load().predict("An absolute masterpiece.").label
            'positive'
        """
        return cls(read_model_file(default_model_path() if path is None else path), threads, providers, threshold)

    def model_inputs(self, texts: Sequence[str]) -> np.ndarray:
        """What the graph takes for `texts`, by the model's input form."""
        if self.input_form == TOKEN_IDS:
            return self.vectorizer.padded_ids(texts)
        if self.input_form == DENSE:
            return self.vectorizer.multi_hot(texts)
        return np.array(list(texts), dtype=object)

    def run(self, inputs: np.ndarray, run_options: ort.RunOptions | None = None) -> np.ndarray:
        """Model-only: scores for prepared inputs."""
        return self.session.run(self._outputs, {self._input: inputs}, run_options)[0].reshape(-1)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Positive-class probabilities for `texts`, float32, computed in chunks (no checks: the fast path)."""
        if isinstance(texts, str):
            raise TypeError("scores() takes a list of texts; use predict() for one text")
        if not len(texts):
            return np.empty(0, dtype=np.float32)
        if self.input_form == TOKEN_IDS and len(texts) > GROUP:
            return self._grouped_token_id_scores(texts)
        if len(texts) <= CHUNK:  # a single review, a small batch: one run, no copy, no loop
            return self.run(self.model_inputs(texts)).astype(np.float32, copy=False)
        out = np.empty(len(texts), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            out[start : start + len(chunk)] = self.run(self.model_inputs(chunk))
        return out

    def _grouped_token_id_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Runs of GROUP reviews of similar length, each padded to its own longest row.

        Padding a run to its longest review is most of a big batch's work (a 512-row run
        is about 1,300 ids wide where a review has about 340), so rows are sorted by
        length first. Deterministic for the same texts; a score may differ in its last
        bit from the same review run in another batch (onnxruntime's ReduceSum depends on
        the padding width), as it already did between chunks.
        """
        out = np.empty(len(texts), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            flat, offsets = self.vectorizer.feature_ids_batch(chunk)
            lengths = np.diff(offsets)
            order = np.argsort(lengths, kind="stable")
            for first in range(0, len(chunk), GROUP):
                rows = order[first : first + GROUP]
                row_ids = np.concatenate([flat[offsets[r] : offsets[r + 1]] for r in rows])
                out[start + rows] = self.run(padded_rows(row_ids, lengths[rows], self.vectorizer.size))
        return out

    def label_of(self, score: float) -> str:
        """The decision rule, in one place: positive at or above the threshold."""
        return self.labels[score >= self.threshold]

    def _prediction(self, score: float) -> Prediction:
        return Prediction(self.label_of(score), float(score))

    def predict(self, text: str) -> Prediction:
        """Classify one review.

        Parameters:
            text: the review, any length (no truncation here; the CLI cuts at --max-chars).

        Returns:
            Prediction(label, score): score is the positive-class probability.

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
        return self._prediction(float(self.run(self.model_inputs((text,)))[0]))

    def predict_batch(self, texts: Iterable[str]) -> list[Prediction]:
        """Classify many reviews in one vectorized pass.

        Parameters:
            texts: any iterable of str (a list, a generator, a file's lines).

        Returns:
            One Prediction per text, in order.

        Raises:
            TypeError: `texts` is a single str, not iterable, or holds a non-str (named by index).
            ImdbEdgeError: an item is empty or whitespace only (named by index). To get a
                result for every other text regardless, use `scores()` or the `classify` command.

        Example:
            >>> [p.label for p in Classifier.load().predict_batch(["Loved it.", "Dreadful."])]
            ['positive', 'negative']
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError("predict_batch() takes an iterable of texts; use predict() for one text")
        try:
            items = list(texts)
        except TypeError:
            raise TypeError(f"predict_batch() takes an iterable of str, got {type(texts).__name__}") from None
        for index, text in enumerate(items):
            if not isinstance(text, str):
                raise TypeError(f"predict_batch(): item {index} is {type(text).__name__}, not str")
            reason = empty_reason(text)
            if reason:
                raise ImdbEdgeError(f"predict_batch(): item {index}: {reason}")
        return [self._prediction(float(s)) for s in self.scores(items)]
