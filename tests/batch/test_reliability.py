"""Reliability promises (docs/reliability.md): fuzzed model files, any text, atomic runs, no pickle."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from imdb_edge import Classifier, ImdbEdgeError
from imdb_edge.runtime.modelfile.reader import parse_model_bytes

FUZZ_EXAMPLES = int(os.environ.get("IMDB_EDGE_FUZZ_EXAMPLES", "400"))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_source=st.data())
def test_mutated_model_files_load_correctly_or_fail_cleanly(model_bytes: bytes, data_source: st.DataObject) -> None:
    """Any byte changes: a one-line ImdbEdgeError (schema 2 checksums every byte that is read)."""
    offsets = st.tuples(st.integers(0, len(model_bytes) - 1), st.integers(1, 255))
    flips = data_source.draw(st.lists(offsets, min_size=1, max_size=8))
    data = bytearray(model_bytes)
    for offset, mask in flips:
        data[offset] ^= mask
    if bytes(data) == model_bytes:  # the flips cancelled out
        event("unchanged")
        return
    with pytest.raises(ImdbEdgeError) as refused:
        Classifier(parse_model_bytes(bytes(data)))
    assert "\n" not in str(refused.value)
    event("refused with a one-line error")


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_are_refused_cleanly(data: bytes) -> None:
    with pytest.raises(ImdbEdgeError):
        parse_model_bytes(data)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(data_source=st.data())
def test_every_truncation_is_refused(model_bytes: bytes, data_source: st.DataObject) -> None:
    cut = data_source.draw(st.integers(0, len(model_bytes) - 1))
    with pytest.raises(ImdbEdgeError):
        Classifier(parse_model_bytes(model_bytes[:cut]))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(text=st.text(max_size=3000))
def test_any_text_gets_a_finite_score_between_0_and_1(shipped: Classifier, text: str) -> None:
    score = float(shipped.scores([text])[0])  # scores(): no empty-text rule, any string gets a number
    assert np.isfinite(score) and 0.0 <= score <= 1.0


def test_huge_and_strange_inputs(shipped: Classifier) -> None:
    strange = [
        "x" * 10_000_000,  # one 10 MB word
        "great " * 1_700_000,  # 10 MB of words
        "\u202eright-to-left\u202c שלום עולם مرحبا",
        "🎬🍿" * 1000,
        "\x00\x01\x02 control \x7f",
        "\ud800 lone surrogate",
    ]
    scores = shipped.scores(strange)
    assert scores.shape == (len(strange),) and np.all(np.isfinite(scores))


def test_interrupted_training_leaves_only_a_marked_incomplete_folder(
    imdb_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tensorflow")
    from imdb_edge.train import plots
    from imdb_edge.train.config import TrainConfig
    from imdb_edge.train.run import train_to_folder

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "plot_learning_curves", crash)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train_to_folder(TrainConfig(hidden=(4,), epochs=1, batch_size=16, validation_size=20), out, data=imdb_archive)
    assert not out.exists()
    staged = list(tmp_path.glob(".run.incomplete-*"))
    assert len(staged) == 1 and (staged[0] / "INCOMPLETE").exists()


PICKLE_TRAP = """
import sys
import pickle, _pickle

def refuse(*args, **kwargs):
    raise AssertionError("something was unpickled")

def audit(event, args):
    if event == "pickle.find_class":
        refuse()

sys.addaudithook(audit)
for module in (pickle, _pickle):
    module.load = module.loads = refuse
pickle.Unpickler = refuse

from pathlib import Path
from imdb_edge.cli import main
from imdb_edge.data.dataset import load_dataset
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.vectorizer import Vectorizer

model_path, reviews, dataset = (Path(a) for a in sys.argv[1:4])
classifier = Classifier.load(model_path)
assert classifier.predict("a wonderful film").label == "positive"
Vectorizer.from_json(classifier.vectorizer.to_json())
assert len(load_dataset(dataset).test) > 0
sys.argv = ["imdb-edge", "classify", "--model", str(model_path), "--workers", "1", "--file", str(reviews)]
try:
    main()
except SystemExit as done:
    assert not done.code, done.code
sys.argv = ["imdb-edge", "info", str(model_path), "--json"]
try:
    main()
except SystemExit as done:
    assert not done.code, done.code
print("NO-PICKLE-OK", file=sys.stderr)
"""


def test_loading_models_data_and_inputs_never_unpickles(tiny_model: Path, imdb_archive: Path, tmp_path: Path) -> None:
    """Behaviour, not source text: with pickle trapped (functions replaced, audit hook on
    `pickle.find_class`), loading a model, a vectorizer, the dataset and classifying a file
    in one process never reaches it."""
    import subprocess
    import sys

    reviews = tmp_path / "reviews.txt"
    reviews.write_text("a wonderful film\nawful, boring\n")
    done = subprocess.run(
        [sys.executable, "-c", PICKLE_TRAP, str(tiny_model), str(reviews), str(imdb_archive)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "NO-PICKLE-OK" in done.stderr, done.stderr[-2000:]
    assert done.stdout.splitlines()[0].startswith("positive\t")


@pytest.mark.slow
def test_a_run_folder_with_code_in_its_keras_model_is_refused(imdb_archive: Path, tmp_path: Path) -> None:
    """Keras safe mode: a model.keras carrying a Lambda (arbitrary Python) is not loaded by export."""
    import keras

    from imdb_edge.export.errors import RunFolderError
    from imdb_edge.export.pipeline import load_run
    from imdb_edge.train.config import TrainConfig
    from imdb_edge.train.run import train_to_folder

    run = tmp_path / "run"
    config = TrainConfig(hidden=(4,), epochs=1, batch_size=16, validation_size=20)
    train_to_folder(config, run, data=imdb_archive, report=None)
    inputs = keras.Input(shape=(config.vectorizer.max_features,))
    outputs = keras.layers.Lambda(lambda x: keras.ops.sum(x, axis=-1, keepdims=True))(inputs)
    keras.Model(inputs, outputs).save(run / "model.keras")
    with pytest.raises(RunFolderError, match=r"cannot load.*(safe_mode|Lambda)"):
        load_run(run)
