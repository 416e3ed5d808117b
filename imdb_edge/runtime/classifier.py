"""Raw review text in, label and score out: numpy + onnxruntime only."""

from __future__ import annotations

import math
import numbers
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from imdb_edge.errors import ImdbEdgeError, first_line
from imdb_edge.runtime.explain import Explanation, explain
from imdb_edge.runtime.modelfile.padding_proof import padding_unproven
from imdb_edge.runtime.modelfile.reader import ModelFile, read_model_file
from imdb_edge.runtime.modelfile.schema import DENSE, TEXT, TOKEN_IDS
from imdb_edge.runtime.modelfile.weights import linear_head
from imdb_edge.runtime.texts import empty_reason
from imdb_edge.runtime.vectorizer import Vectorizer, padded_rows

DEFAULT_MODEL = "default.int8.onnx"
ENV_MODEL = "IMDB_EDGE_MODEL"
CHUNK = 512
"""Texts vectorized per native call, at most."""
PIECE_CHARS = 1 << 20
"""Characters vectorized per native call, at most (one longer text is a call of its own): about 25 ms of work,
so a stop signal is heard between calls and a batch of long texts never holds more than this at once."""
GROUP = 64  # rows per run when a batch is grouped by length
GROUP_CELLS = 1 << 20
"""Ids in one padded run, at most (fewer rows when rows are long): 8 MB of int64."""
PROBE_SECONDS = 5.0
"""The load probe's limit: exported graphs answer two tiny rows in well under a millisecond."""
FIRST_RUN_SECONDS = 5.0
FIRST_RUN_SECONDS_PER_ROW = 0.01
"""The first real run's limit is FIRST_RUN_SECONDS plus this much per row (a Raspberry Pi runs the
slowest exported form, the portable text form, at about 5 ms a review), plus RUN_SECONDS_PER_INPUT."""
RUN_SECONDS = 1.0
RUN_SECONDS_PER_ROW = 0.01
RUN_SECONDS_PER_INPUT = 5e-6
"""Every later run's limit: RUN_SECONDS, plus this much per row, plus this much per id of a token-id batch
(rows x padded width) or per character of a text-form batch. The shipped model takes about 40 ns an id
here, a Raspberry Pi some ten times that; a graph that is slow on purpose (cubic in the batch, or on one
trigger value) is stopped once it has run that long (time the process was stopped is not counted)."""
WATCH_SECONDS = 0.05
"""How often the watchdog looks at the runs in progress (only while there are some)."""
PADDING_TOLERANCE = 1e-5
RUN_FAILURE = "the model fails on this input"
_ONE_TEXT_BYPASSES = frozenset({"run", "scores_and_known", "_prediction"})
"""The steps of predict()'s general path that its one-text path does not call: replaced in a subclass or on the
instance, they keep predict() on the general path."""
_INT64 = np.dtype(np.int64)

_run_options: weakref.WeakSet[ort.RunOptions] = weakref.WeakSet()
_run_options_lock = threading.Lock()
_cancelled: weakref.WeakSet[Classifier] = weakref.WeakSet()


def cancel_runs() -> None:
    """Stop every onnxruntime run of every Classifier in this process at once (a stop signal's watcher calls
    it while the main thread waits in a long run). Those Classifiers stay cancelled: each later run raises
    RunCancelled."""
    with _run_options_lock:
        for classifier in list(_classifiers):
            _cancelled.add(classifier)
        for options in list(_run_options):
            options.terminate = True


_classifiers: weakref.WeakSet[Classifier] = weakref.WeakSet()


_OPTIONS, _LIMIT, _STARTED, _EXPIRED, _TOLD, _WHERE = range(6)
"""The fields of a run in progress as the watchdog sees it (a list: built on every run, so it must be cheap):
its RunOptions, limit, when the watchdog first saw it, whether it expired, when it was told to stop (expired
or cancelled), and the model file's name."""
STUCK_SECONDS = 1.0
"""A run told to stop (over its limit, or cancelled by a stop signal) ends at onnxruntime's next step, but one
step can take hours (a single MatMul of huge matrices). This much later the watchdog calls the process's
stuck-run handler (`on_stuck_run`), if it has one: the CLI exits, a batch worker reports and exits. A library
caller without one keeps waiting for the step to end."""
_stuck_handler: Callable[[str, bool], None] | None = None


def on_stuck_run(handler: Callable[[str, bool], None] | None) -> None:
    """Call `handler(message, cancelled)` from the watchdog thread when a run told to stop is still in one step
    of onnxruntime STUCK_SECONDS later (`cancelled`: by `cancel_runs`, a stop signal; else it ran over its
    limit). Only a process that may end itself should set one: the run cannot be cut short any other way."""
    global _stuck_handler
    _stuck_handler = handler


def runs_in_progress() -> int:
    """How many onnxruntime runs are going on in this process (for a last-resort exit that must not cut a
    write short: results are written between runs, never during one, by the thread that runs them)."""
    return len(_watchdog.runs) if _watchdog is not None else 0


SUSPENDED_SECONDS = 0.5
"""A pause this much longer than WATCH_SECONDS between two looks of the watchdog means the process did not run
(stopped by Ctrl-Z or SIGSTOP, a suspended machine): that time is not counted against any run."""


class _Watchdog:
    """The one thread that stops any run over its limit (RunOptions.terminate), in this process.

    A run registers itself under its thread's id (a dict entry: no lock, no clock read, so a 10 µs prediction
    stays one); the thread sleeps until a run exists, then looks every WATCH_SECONDS and counts each run's
    time from its first look. Time the process spent stopped (a pause between two looks much longer than the
    interval) is not counted, so `fg` after Ctrl-Z does not fail a run. An expiry that lands just after its
    run ended (a race it cannot rule out without a lock on every run) leaves a stray terminate flag, which
    the next run on that thread notices and clears (Classifier._guarded_run).
    """

    def __init__(self) -> None:
        self.runs: dict[int, list[Any]] = {}
        self.wake = threading.Event()
        self.idle = True
        """Waiting for a run: the next run must wake it (read on every run: cheaper than Event.is_set)."""
        threading.Thread(target=self._loop, name="imdb-edge-run-watchdog", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self.wake.wait()
            last = time.monotonic()
            while True:
                time.sleep(WATCH_SECONDS)
                now = time.monotonic()
                paused = now - last - WATCH_SECONDS
                last = now
                runs = list(self.runs.values())
                if not runs:
                    break
                self.idle = False
                for run in runs:
                    self._check(run, now, paused if paused > SUSPENDED_SECONDS else 0.0)
            self.idle = True
            self.wake.clear()
            if self.runs:  # one began between the look and the clear
                self.wake.set()

    @staticmethod
    def _check(run: list[Any], now: float, paused: float) -> None:
        if run[_STARTED] is None:
            run[_STARTED] = now
            return
        run[_STARTED] += paused
        if now - run[_STARTED] > run[_LIMIT] and not run[_EXPIRED]:
            run[_EXPIRED] = True
            run[_OPTIONS].terminate = True
        if run[_TOLD] is None:
            if run[_EXPIRED] or run[_OPTIONS].terminate:
                run[_TOLD] = now
        elif run[_TOLD] is not False:
            run[_TOLD] += paused
            if now - run[_TOLD] > STUCK_SECONDS and _stuck_handler is not None:
                run[_TOLD] = False  # the handler is called once a run
                if run[_EXPIRED]:
                    message = (
                        f"{run[_WHERE]}: the model fails on this input (it ran longer than {run[_LIMIT]:.3g} s, "
                        "and its current step cannot be cut short)"
                    )
                else:
                    message = f"{run[_WHERE]}: a run cancelled by a stop signal is still in one step"
                _stuck_handler(message, not run[_EXPIRED])


_watchdog: _Watchdog | None = None
_watchdog_lock = threading.Lock()


def _the_watchdog() -> _Watchdog:
    global _watchdog
    if _watchdog is None:
        with _watchdog_lock:
            if _watchdog is None:
                _watchdog = _Watchdog()
    return _watchdog


def _forget_watchdog() -> None:  # a forked child has none of its parent's threads
    global _watchdog
    _watchdog = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_watchdog)


_NOT_READ = object()


class RunCancelled(ImdbEdgeError):
    """A run was stopped by `cancel_runs` (a stop signal), not by anything wrong with the model or the text."""


def default_model_path() -> Path:
    """$IMDB_EDGE_MODEL, else the model shipped inside the package."""
    if os.environ.get(ENV_MODEL):
        return Path(os.environ[ENV_MODEL])
    return Path(str(resources.files("imdb_edge.runtime") / "models" / DEFAULT_MODEL))


_new_prediction = object.__new__


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

    @classmethod
    def made(cls, label: str, score: float, scores: Mapping[str, float], known_terms: int) -> Prediction:
        """An answer, built without the frozen dataclass's __init__ (a setattr per field: about 1 us, a fifth of
        a short text's whole call). Only for values the classifier has computed itself."""
        prediction = _new_prediction(cls)
        prediction.__dict__.update(label=label, score=score, scores=scores, known_terms=known_terms, error=None)
        return prediction

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
        self._local = threading.local()  # each thread's RunOptions: a run over its limit stops only itself
        with _run_options_lock:
            _classifiers.add(self)
        self._first_run_done = False
        self._one_text_form = (
            self.input_form == TOKEN_IDS
            and self.threshold is not None
            and all(getattr(type(self), name) is getattr(Classifier, name) for name in _ONE_TEXT_BYPASSES)
        )
        """predict() may take the one-text path (a two-label token-id model) once the first run is done; not in a
        subclass that overrides a step the path leaves out, which must keep being called."""
        self._one_text_ready = False
        self._linear_head: Any = _NOT_READ
        try:
            self.session = ort.InferenceSession(
                model_file.graph_model,
                sess_options=session_options(threads),
                providers=list(providers or ["CPUExecutionProvider"]),
            )
        except Exception as exc:  # onnxruntime raises several private exception types
            raise ImdbEdgeError(f"{model_file.path}: onnxruntime cannot load this model ({first_line(exc)})") from None
        self._session_run = self._cheapest_run_call(providers)
        self._check_graph_matches_metadata()

    def _cheapest_run_call(self, providers: Sequence[str] | None) -> Callable[..., Any]:
        """onnxruntime's own run call beneath `InferenceSession.run`, on the CPU: the wrapper's checks (input
        names, graph capture, OrtValue ownership) and its fallback to other providers do not apply to one numpy
        input of the right name on the CPU, and cost about 0.7 us of a 5 us short-text call (issue 29). Any
        other provider, or an onnxruntime without `_sess`, keeps the wrapper."""
        inner = getattr(self.session, "_sess", None)
        if list(providers or ["CPUExecutionProvider"]) == ["CPUExecutionProvider"] and callable(
            getattr(inner, "run", None)
        ):
            return inner.run  # type: ignore[union-attr]
        return self.session.run

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
        types = {o.name: o.type for o in self.session.get_outputs()}
        if types.get(self._outputs[0]) != "tensor(float)":
            raise ImdbEdgeError(
                f"{where}: the graph's outputs {sorted(types.items())} have no float32 output {self._outputs[0]!r}, "
                "the one its metadata names (an exported model's scores are float32 probabilities)"
            )
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
        if self.input_form == TOKEN_IDS:
            why = padding_unproven(self.model_file.graph_model, self._input, self.vectorizer.size)
            if why is not None:
                raise ImdbEdgeError(
                    f"{where}: padding could change the scores: {why} (an exported graph reads the ids only through "
                    "its first layer's table, whose padding row is zero)"
                )
        if len(probes) == 2 and np.abs(probes[0] - probes[1]).max() > PADDING_TOLERANCE:
            raise ImdbEdgeError(
                f"{where}: padding changes the scores ({probes[0].tolist()} unpadded, {probes[1].tolist()} padded): "
                "the padding row of its weight table is not zero, so no exported model wrote it"
            )

    def _options(self) -> ort.RunOptions:
        """This thread's RunOptions (cancel_runs sets its terminate flag; so does the watchdog for its run)."""
        options = ort.RunOptions()
        options.log_severity_level = 4  # a failed run is one raised line, not also a log line on stderr
        with _run_options_lock:
            _run_options.add(options)
            options.terminate = self in _cancelled
        self._local.options = options
        return options

    def _guarded_run(self, inputs: np.ndarray, seconds: float, failure: str, retry: bool = True) -> np.ndarray:
        """One run, stopped once it has run `seconds` (a graph that passes the checks may still be slow on
        purpose); any failure is one ImdbEdgeError starting with `failure`."""
        options = getattr(self._local, "options", None) or self._options()
        watchdog = _watchdog or _the_watchdog()
        thread = threading.get_ident()
        run = [options, seconds, None, False, None, self.model_file.path]  # see _OPTIONS
        watchdog.runs[thread] = run
        if watchdog.idle:
            watchdog.wake.set()
        try:
            return self._reshaped(self._session_run(self._outputs, {self._input: inputs}, options)[0])
        except Exception as exc:  # onnxruntime raises several private exception types
            if not run[_EXPIRED] and options.terminate and self not in _cancelled and retry:
                options.terminate = False  # a stray flag: an expiry that landed after the last run ended
                return self._guarded_run(inputs, seconds, failure, retry=False)
            raise self._run_error(exc, run, failure) from None
        finally:
            watchdog.runs.pop(thread, None)
            if run[_EXPIRED] and self not in _cancelled:  # expired: this thread's next run starts afresh
                options.terminate = False

    def _run_error(self, exc: Exception, run: list[Any], failure: str) -> ImdbEdgeError:
        """What a failed run raises: cancelled by a stop signal, over its limit, or onnxruntime's own reason."""
        if run[_EXPIRED]:
            reason = f"it ran longer than {run[_LIMIT]:.3g} s"
        elif run[_OPTIONS].terminate and self in _cancelled:
            return RunCancelled(f"{self.model_file.path}: the run was cancelled")
        else:
            reason = first_line(exc)
        return ImdbEdgeError(f"{self.model_file.path}: {failure} ({reason})")

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

        Every run is stopped once it has run longer than its limit: RUN_SECONDS plus a little per
        row and per id or character (the first run gets FIRST_RUN_SECONDS, for the session's warm-up). A
        graph that passed the load checks may still be slow on purpose, on some inputs only.

        Raises:
            ImdbEdgeError: onnxruntime cannot run the graph on this input, or it ran over its limit (one line
                saying why).
            RunCancelled: `cancel_runs` stopped it.
        """
        rows = len(inputs)
        size = inputs.size if self.input_form == TOKEN_IDS else self._characters(inputs)
        scores = self._guarded_run(inputs, self._run_limit(rows, size), RUN_FAILURE)
        if len(scores) != rows:
            raise ImdbEdgeError(
                f"{self.model_file.path}: the model returns {len(scores)} scores for {rows} review{'s' * (rows != 1)}"
            )
        self._first_run_done = True
        self._one_text_ready = self._one_text_form and not _ONE_TEXT_BYPASSES.intersection(vars(self))
        return scores

    def _run_limit(self, rows: int, size: int) -> float:
        """How long a run of `rows` rows and `size` ids (or characters) may take, in seconds (see run())."""
        if self._first_run_done:
            return RUN_SECONDS + RUN_SECONDS_PER_ROW * rows + RUN_SECONDS_PER_INPUT * size
        return FIRST_RUN_SECONDS + FIRST_RUN_SECONDS_PER_ROW * rows + RUN_SECONDS_PER_INPUT * size

    @staticmethod
    def _characters(inputs: np.ndarray) -> int:
        """A text form's characters (the dense form's width is fixed: its rows say it all)."""
        return sum(map(len, inputs)) if inputs.dtype == object else 0

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
        pieces = self._pieces(texts) if len(texts) > 1 else None
        if pieces is not None:
            return np.concatenate([self.scores(texts[start:end]) for start, end in pieces])
        if self.input_form == TOKEN_IDS and len(texts) > GROUP:
            return self._grouped_token_id_scores(texts)
        return self.run(self.model_inputs(texts)).astype(np.float32, copy=False)

    def scores_and_known(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """scores(texts), and how many of each text's terms the model knows (from the same vectorizing, except
        for a text-input model, whose terms the graph finds: those are counted here once more)."""
        if isinstance(texts, str):
            raise TypeError("scores_and_known() takes a list of texts")
        if not len(texts):
            return self.scores(texts), np.zeros(0, dtype=np.int64)
        pieces = self._pieces(texts) if len(texts) > 1 else None
        if pieces is not None:
            parts = [self.scores_and_known(texts[start:end]) for start, end in pieces]
            return np.concatenate([s for s, _ in parts]), np.concatenate([k for _, k in parts])
        if self.input_form == TOKEN_IDS and len(texts) > GROUP:
            known = np.empty(len(texts), dtype=np.int64)
            return self._grouped_token_id_scores(texts, known), known
        if self.input_form == TEXT:
            return self.scores(texts), np.diff(self.vectorizer.feature_ids_batch(texts)[1])
        if self.input_form == TOKEN_IDS:
            inputs, known = self.vectorizer.padded_ids_and_lengths(texts)
        else:
            inputs = self.model_inputs(texts)
            known = np.count_nonzero(inputs, axis=1).astype(np.int64)
        return self.run(inputs).astype(np.float32, copy=False), known

    @staticmethod
    def _pieces(texts: Sequence[str]) -> list[tuple[int, int]] | None:
        """(start, end) of consecutive pieces of at most CHUNK texts and PIECE_CHARS characters (a longer text
        alone), or None when `texts` is one piece already. Each piece is one native vectorizer call: a stop
        signal is heard between them, and a batch of long texts holds one piece's ids and rows at a time."""
        if len(texts) <= CHUNK and sum(map(len, texts)) <= PIECE_CHARS:
            return None
        pieces, start, characters = [], 0, 0
        for index, text in enumerate(texts):
            if index > start and (index - start == CHUNK or characters + len(text) > PIECE_CHARS):
                pieces.append((start, index))
                start, characters = index, 0
            characters += len(text)
        pieces.append((start, len(texts)))
        return pieces

    def _grouped_token_id_scores(self, texts: Sequence[str], known: np.ndarray | None = None) -> np.ndarray:
        """Runs of up to GROUP reviews of similar length, each padded to its own longest row (and of at most
        GROUP_CELLS ids, so long rows make smaller runs).

        Padding a run to its longest review is most of a big batch's work (a 512-row run
        is about 1,300 ids wide where a review has about 340), so rows are sorted by
        length first. Deterministic for the same texts; a score may differ in its last
        bit from the same review run in another batch (onnxruntime's ReduceSum depends on
        the padding width), as it already did between chunks.
        """
        out = np.empty((len(texts), *self._score_shape[1:]), dtype=np.float32)
        flat, offsets = self.vectorizer.feature_ids_batch(texts)
        lengths = np.diff(offsets)
        if known is not None:
            known[:] = lengths
        order = np.argsort(lengths, kind="stable")
        for rows in self._groups(order, lengths[order]):
            row_ids = np.concatenate([flat[offsets[r] : offsets[r + 1]] for r in rows])
            out[rows] = self.run(padded_rows(row_ids, lengths[rows], self.vectorizer.size))
        return out

    @staticmethod
    def _groups(order: np.ndarray, sorted_lengths: np.ndarray) -> list[np.ndarray]:
        """`order` (rows by ascending length) cut into runs of GROUP rows, or fewer where GROUP_CELLS ids would
        not hold them (each run is as wide as its last, longest row)."""
        if int(sorted_lengths[-1]) * GROUP <= GROUP_CELLS:
            return [order[first : first + GROUP] for first in range(0, len(order), GROUP)]
        groups, first = [], 0
        while first < len(order):
            end = first + 1
            while end < len(order) and end - first < GROUP and (end - first + 1) * sorted_lengths[end] <= GROUP_CELLS:
                end += 1
            groups.append(order[first:end])
            first = end
        return groups

    def label_of(self, score: Any) -> str:
        """The decision rule, in one place: two labels, the second at or above the threshold; more, the
        likeliest (`score` is then the row of probabilities)."""
        if self.threshold is not None:
            return self.labels[1] if score >= self.threshold else self.labels[0]  # a numpy bool is no index
        return self.labels[int(np.argmax(score))]

    def _prediction(self, score: Any, known: int) -> Prediction:
        """A Prediction from one review's score (two labels) or probabilities (more)."""
        if self.threshold is not None:
            first, second = self.labels
            value = float(score)
            label = second if value >= self.threshold else first  # label_of, inlined: this is per review
            return Prediction.made(label, value, {first: 1.0 - value, second: value}, known)
        row = [float(p) for p in score]
        best = max(range(len(row)), key=row.__getitem__)
        return Prediction.made(self.labels[best], row[best], dict(zip(self.labels, row, strict=True)), known)

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
        if self._one_text_ready and type(text) is str and text and not text.isspace():
            kernel = self.vectorizer.kernel
            if kernel is not None:
                return self._predict_one(kernel, text)
        if not isinstance(text, str):
            raise TypeError(f"predict() takes a str, got {type(text).__name__}")
        reason = empty_reason(text)
        if reason:
            raise ImdbEdgeError(f"cannot classify: {reason}")
        scores, known = self.scores_and_known((text,))
        return self._prediction(scores[0], int(known[0]))

    def _predict_one(self, kernel: Any, text: str) -> Prediction:
        """predict() of one text by a two-label token-id model once its first run is done (issue 29): the C
        kernel's padded row, one run under the watchdog, the answer. The same limit, checks and answer as the
        general path without its list, chunking, counting and reshaping steps, which were most of a short
        text's call: _guarded_run is inlined, and any failure goes to it to be told apart and reported."""
        data, width = kernel.padded((text,), 1)
        inputs = np.ndarray((1, width), _INT64, data)
        options = getattr(self._local, "options", None)
        watchdog = _watchdog
        if options is None or watchdog is None:  # the first run on this thread
            scores = self._guarded_run(inputs, self._run_limit(1, width), RUN_FAILURE)
        else:
            thread = threading.get_ident()
            run = [options, RUN_SECONDS + RUN_SECONDS_PER_ROW + RUN_SECONDS_PER_INPUT * width, None, False, None, None]
            run[_WHERE] = self.model_file.path  # see _OPTIONS; the limit is _run_limit(1, width), inlined
            watchdog.runs[thread] = run
            if watchdog.idle:
                watchdog.wake.set()
            try:
                scores = self._session_run(self._outputs, {self._input: inputs}, options)[0]
            except Exception as exc:  # onnxruntime raises several private exception types
                if run[_EXPIRED] or self in _cancelled or not options.terminate:
                    raise self._run_error(exc, run, RUN_FAILURE) from None
                scores = None  # a stray flag (an expiry that landed after the last run ended): the general call
            finally:
                watchdog.runs.pop(thread, None)
                if run[_EXPIRED] and self not in _cancelled:  # expired: this thread's next run starts afresh
                    options.terminate = False
            if scores is None:  # clears the flag and runs again
                scores = self._guarded_run(inputs, self._run_limit(1, width), RUN_FAILURE)
        if scores.size != 1:
            raise ImdbEdgeError(f"{self.model_file.path}: the model returns {scores.size} scores for 1 review")
        value = scores.item()
        first, second = self.labels
        answer = _new_prediction(Prediction)  # Prediction.made, inlined: a call is a tenth of what is left
        answer.__dict__.update(
            label=second if value >= self.threshold else first,  # type: ignore[operator]  # label_of, inlined
            score=value,
            scores={first: 1.0 - value, second: value},
            known_terms=width if width > 1 or inputs[0, 0] != self.vectorizer.size else 0,  # no known term: one pad
            error=None,
        )
        return answer

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
        suspects = [i for i, text in enumerate(items) if type(text) is not str or not text or text.isspace()]
        for index in suspects:  # a quick pass first: most batches have none
            text = items[index]
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
        usable = [text for index, text in enumerate(items) if index not in problems] if problems else items
        scores, known = self.scores_and_known(usable)
        # Python floats and ints at once (tolist): one conversion, not one per review
        answers = [self._prediction(row, count) for row, count in zip(scores.tolist(), known.tolist(), strict=True)]
        if not problems:
            return answers
        answered = iter(answers)
        return [
            Prediction(None, math.nan, error=problems[index]) if index in problems else next(answered)
            for index in range(len(items))
        ]
