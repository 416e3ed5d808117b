"""What a forger who rewrites the checksums gets past, and what still stops them: the file's sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.modelfile.reader import parse_model_bytes
from tests.helpers import interrupted_output, run_cli
from tests.model_factory import build_model_bytes, restamp

GOOD, BAD = "a wonderful excellent film", "boring awful waste"


def _forged(model_bytes: bytes) -> bytes:
    """The same model with its decisions turned around, and checksums that match (what a CRC cannot stop)."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load_model_from_string(model_bytes)
    for tensor in proto.graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.ndim == 2 and array.shape[1] == 1:  # the output layer's weights
            tensor.CopyFrom(numpy_helper.from_array(-array, tensor.name))
    return restamp(model_bytes, {}, graph=proto.graph)


def test_a_forged_model_with_matching_checksums_loads_and_answers_otherwise(model_bytes: bytes) -> None:
    """The CRCs only catch accidental damage: this is why the docs say so, and why --model-sha256 exists."""
    forged = _forged(model_bytes)
    original, changed = Classifier(parse_model_bytes(model_bytes)), Classifier(parse_model_bytes(forged))
    assert original.predict(BAD).label == "negative" and changed.predict(BAD).label == "positive"


def test_a_pinned_sha256_refuses_any_other_file(model_bytes: bytes, tmp_path: Path) -> None:
    model, forged = tmp_path / "model.onnx", tmp_path / "forged.onnx"
    model.write_bytes(model_bytes)
    forged.write_bytes(_forged(model_bytes))
    pin = hashlib.sha256(model_bytes).hexdigest()
    assert Classifier.load(model, sha256=pin).predict(BAD).label == "negative"
    assert Classifier.load(model, sha256=pin.upper()).model_file.sha256 == pin
    with pytest.raises(ImdbEdgeError, match="not the pinned"):
        Classifier.load(forged, sha256=pin)
    with pytest.raises(ImdbEdgeError, match="64 hex digits"):
        Classifier.load(model, sha256="abc")
    for command in (["classify", "-m", str(forged), BAD], ["info", str(forged)]):
        result = run_cli(*command, "--model-sha256", pin)
        assert result.exit_code == 2 and "not the pinned" in result.stderr and result.stdout == ""
    info = json.loads(run_cli("info", str(model), "--json").stdout)
    assert info["sha256"] == pin  # how a user gets the hash to pin (or sha256sum)


def test_resume_with_a_forged_model_is_another_model(model_bytes: bytes, tmp_path: Path) -> None:
    """Before: the resume identity hashed the checksum entry, which a forger keeps; `--resume -m forged.onnx`
    exited 0 with the second half classified by the other model."""
    model, forged = tmp_path / "model.onnx", tmp_path / "forged.onnx"
    model.write_bytes(model_bytes)
    forged.write_bytes(_forged(model_bytes))
    source, output = tmp_path / "in.txt", tmp_path / "out.tsv"
    source.write_text("\n".join([GOOD, BAD] * 10) + "\n")
    assert run_cli("classify", "-m", str(model), "-f", str(source), "-o", str(output)).exit_code == 0
    interrupted_output({"file": str(source), "output": output, "model": model}, lines=10)
    result = run_cli("classify", "-m", str(forged), "-f", str(source), "-o", str(output), "--resume")
    assert result.exit_code == 2 and "another model" in result.stderr


def test_a_text_form_whose_graph_uses_another_vocabulary_is_refused(tmp_path: Path) -> None:
    """Before: a text-form file whose metadata vocabulary differed from its graph's loaded, and `info` described
    the metadata, not what classifies."""
    text_model = build_model_bytes(form="text")
    parse_model_bytes(text_model)  # the exporter's own file loads
    other = json.loads(parse_model_bytes(text_model).metadata["imdb_edge.vectorizer"])
    vocabulary = other["vocabulary"]
    other["vocabulary"] = [vocabulary[1], vocabulary[0], *vocabulary[2:]]  # two terms swapped
    with pytest.raises(ImdbEdgeError, match="another vocabulary than the one its metadata states"):
        parse_model_bytes(restamp(text_model, {"imdb_edge.vectorizer": json.dumps(other)}))
    assert np.isfinite(Classifier(parse_model_bytes(text_model)).scores([GOOD])).all()
