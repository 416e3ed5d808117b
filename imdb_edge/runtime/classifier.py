"""Raw review text in, label and score out: numpy + onnxruntime only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.model_file import ModelFile, read_model_file
from imdb_edge.runtime.schema import DENSE, TOKEN_IDS
from imdb_edge.runtime.vectorizer import Vectorizer

DEFAULT_MODEL = "default.int8.onnx"
ENV_MODEL = "IMDB_EDGE_MODEL"
CHUNK = 512


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


class Classifier:
    """A loaded model: thread-safe, `predict` one text or `predict_batch` many."""

    def __init__(
        self,
        model_file: ModelFile,
        threads: int = 1,
        providers: Sequence[str] | None = None,
        threshold: float | None = None,
    ) -> None:
        if threads < 1:
            raise ImdbEdgeError(f"threads must be >= 1, got {threads}")
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ImdbEdgeError(f"threshold must be in (0, 1), got {threshold}")
        self.model_file = model_file
        self.vectorizer: Vectorizer = model_file.vectorizer
        self.input_form = model_file.input_form
        self.labels: tuple[str, str] = tuple(model_file.model["labels"])  # type: ignore[assignment]
        self.threshold = float(threshold if threshold is not None else model_file.model["threshold"])
        self._input = model_file.model["input_name"]
        self._output = model_file.model["output_name"]
        try:
            self.session = ort.InferenceSession(
                model_file.data,
                sess_options=session_options(threads),
                providers=list(providers or ["CPUExecutionProvider"]),
            )
        except Exception as exc:  # onnxruntime raises several private exception types
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            raise ImdbEdgeError(f"{model_file.path}: onnxruntime cannot load this model ({first_line})") from None
        self._check_graph_matches_metadata()

    def _check_graph_matches_metadata(self) -> None:
        """The checksum proves the file is as exported; this proves the parts belong together."""
        where = self.model_file.path
        inputs = self.session.get_inputs()
        if [i.name for i in inputs] != [self._input]:
            raise ImdbEdgeError(f"{where}: graph inputs {[i.name for i in inputs]} do not match the metadata")
        if self.input_form == DENSE and inputs[0].shape[-1] != self.vectorizer.size:
            raise ImdbEdgeError(f"{where}: graph width {inputs[0].shape[-1]} != vocabulary size {self.vectorizer.size}")
        try:
            probe = self.scores(["", self.vectorizer.vocabulary[-1]])
        except Exception as exc:  # onnxruntime raises several private exception types
            raise ImdbEdgeError(f"{where}: the graph does not run on its own vocabulary ({exc})") from None
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
        """Load and verify a model file (default: the model shipped in the package)."""
        return cls(read_model_file(path or default_model_path()), threads, providers, threshold)

    def model_inputs(self, texts: Sequence[str]) -> np.ndarray:
        """What the graph takes for `texts`, by the model's input form."""
        if self.input_form == TOKEN_IDS:
            return self.vectorizer.padded_ids(texts)
        if self.input_form == DENSE:
            return self.vectorizer.multi_hot(texts)
        return np.array(list(texts), dtype=object)

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Model-only: scores for prepared inputs."""
        return self.session.run([self._output], {self._input: inputs})[0].reshape(-1)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Positive-class probabilities for `texts`, float32, computed in chunks."""
        if isinstance(texts, str):
            raise TypeError("scores() takes a list of texts; use predict() for one text")
        out = np.empty(len(texts), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            out[start : start + len(chunk)] = self.run(self.model_inputs(chunk))
        return out

    def _prediction(self, score: float) -> Prediction:
        return Prediction(self.labels[int(score >= self.threshold)], float(score))

    def predict(self, text: str) -> Prediction:
        """Classify one review."""
        if not isinstance(text, str):
            raise TypeError(f"predict() takes a str, got {type(text).__name__}")
        return self._prediction(float(self.scores([text])[0]))

    def predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify many reviews in one vectorized pass."""
        return [self._prediction(float(s)) for s in self.scores(texts)]
