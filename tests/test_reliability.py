"""Reliability promises (docs/reliability.md): fuzzed model files, any text, atomic runs, no pickle."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from model_factory import build_model_bytes

from imdb_edge import Classifier, ImdbEdgeError
from imdb_edge.runtime.model_file import parse_model_bytes

FUZZ_EXAMPLES = int(os.environ.get("IMDB_EDGE_FUZZ_EXAMPLES", "400"))
GOOD = build_model_bytes()
SHIPPED = Classifier.load()


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(1, 255)), min_size=1, max_size=8))
def test_mutated_model_files_load_correctly_or_fail_cleanly(flips: list[tuple[int, int]]) -> None:
    """Any byte changes: a one-line ImdbEdgeError (schema 2 checksums every byte that is read)."""
    data = bytearray(GOOD)
    for offset, mask in flips:
        data[offset] ^= mask
    if bytes(data) == GOOD:  # the flips cancelled out
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
@given(st.integers(0, len(GOOD) - 1))
def test_every_truncation_is_refused(cut: int) -> None:
    with pytest.raises(ImdbEdgeError):
        Classifier(parse_model_bytes(GOOD[:cut]))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_gets_a_finite_score_between_0_and_1(text: str) -> None:
    score = float(SHIPPED.scores([text])[0])  # scores(): no empty-text rule, any string gets a number
    assert np.isfinite(score) and 0.0 <= score <= 1.0


def test_huge_and_strange_inputs() -> None:
    strange = [
        "x" * 10_000_000,  # one 10 MB word
        "great " * 1_700_000,  # 10 MB of words
        "\u202eright-to-left\u202c שלום עולם مرحبا",
        "🎬🍿" * 1000,
        "\x00\x01\x02 control \x7f",
        "\ud800 lone surrogate",
    ]
    scores = SHIPPED.scores(strange)
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


def test_nothing_a_user_loads_is_unpickled_or_evaluated() -> None:
    source = Path(__file__).parent.parent / "imdb_edge"
    offenders = []
    for path in source.rglob("*.py"):
        text = path.read_text()
        for pattern in (r"\bimport pickle\b", r"\bpickle\.load", r"\beval\(", r"\bexec\(", r"allow_pickle\s*=\s*True"):
            if re.search(pattern, text):
                offenders.append(f"{path.name}: {pattern}")
    assert offenders == []
    keras_loads = [
        line
        for path in source.rglob("*.py")
        for line in path.read_text().splitlines()
        if "load_model(" in line and "keras" in line
    ]
    assert keras_loads and all("safe_mode=True" in line for line in keras_loads)
