"""`imdb-edge export MODEL.onnx --input text|text_fast`: a text-input model from an exported one, without TensorFlow.

A token-id model file already holds everything the text graph needs: the trained
graph (fp32 or int8) and the vocabulary. Wrapping it with the string front end
(export/text_graph.py) needs only the `onnx` package (the [onnx] extra), so apps in
other languages can get a text-input model from the shipped one. The result is
checked against its source through the real runtime before it is written.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from imdb_edge.console import info
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.export.errors import ExportError
from imdb_edge.export.fast_text_graph import TEXT_FAST_OPSET, fast_vectorizer, text_fast_graph
from imdb_edge.export.metadata import CONVERTERS, candidate_scores, write_verified
from imdb_edge.export.parity import FP32_TOLERANCE, compare
from imdb_edge.export.text_graph import TEXT_OPSET, text_graph
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.modelfile import reader as model_file
from imdb_edge.runtime.modelfile import schema
from imdb_edge.versions import package_versions


def rewrap_as_text(
    source: Path, out: Path, texts: list[str], review_source: str, form: str = schema.TEXT
) -> dict[str, Any]:
    """Write `out`: the token-id model `source` with the tokenizer inside (`form`: text or text_fast), equal to it
    on `texts`."""
    import onnx

    if out.resolve() == source.resolve():
        raise ImdbEdgeError(f"--output {out} is the source model; choose another file")
    original = model_file.read_model_file(source)
    if original.input_form != schema.TOKEN_IDS:
        raise ImdbEdgeError(
            f"{source} has {original.input_form} input; only a token_ids model (the default export) "
            f"can be rewrapped with --input {form}"
        )
    try:
        terms = original.vectorizer.vocabulary
    except ImdbEdgeError as exc:  # packed terms that are damaged or do not match their fingerprints
        raise ImdbEdgeError(f"{source}: {exc}") from None
    if terms is None:
        raise ImdbEdgeError(
            f"{source} stores only its terms' fingerprints, and the text form needs the terms: export the run "
            f"folder with `imdb-edge export RUN_DIR --input {form}` instead"
        )
    try:
        proto = onnx.load_from_string(original.graph_model)  # no metadata, no vectorizer arrays
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ImdbEdgeError(f"{source}: onnx cannot parse it: {exc}") from None
    # Same labels, threshold and precision as the source; the input side becomes the text form's.
    labels = tuple(original.model["labels"])
    opset = TEXT_FAST_OPSET if form == schema.TEXT_FAST else TEXT_OPSET
    text_form = schema.model_entry(form, original.vectorizer.size, original.model["precision"], opset, labels)
    input_side = ("input_form", "input_name", "input_width", "opset")
    model_entry = {**original.model, **{key: text_form[key] for key in input_side}}
    export_entry = {
        **original.export,
        "converter": CONVERTERS[form],
        "rewrapped": {
            "source_file": source.name,
            "source_bytes": len(original.data),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": package_versions(),
        },
    }
    threshold = original.model["threshold"]
    try:
        if form == schema.TEXT_FAST:
            if len(labels) != 2:
                raise ExportError(
                    f"the text_fast form is made for two labels and this model has {len(labels)}: use --input text"
                )
            wrapped = text_fast_graph(proto, original.vectorizer, float(threshold))
            vectorizer_json = fast_vectorizer(original.vectorizer).to_json(compact=True)
        else:
            wrapped = text_graph(proto, original.vectorizer, threshold, labels)
            vectorizer_json = original.vectorizer.to_json(compact=True)
    except ExportError as exc:
        raise ImdbEdgeError(f"{source}: {exc}") from None

    _, scores = candidate_scores(wrapped, model_entry, vectorizer_json, original.training, export_entry, texts)
    parity = compare(Classifier(original).scores(texts), scores, threshold, FP32_TOLERANCE)
    info(parity.line(f"text input vs {source.name} on {len(texts)} reviews ({review_source})"))
    if not parity.passed:
        raise ImdbEdgeError(f"the text-input model does not answer like {source.name}; nothing written")
    export_entry["rewrapped"]["parity_vs_source"] = {**parity.to_dict(), "reviews": review_source}
    size, _ = write_verified(out, wrapped, model_entry, vectorizer_json, original.training, export_entry)
    return {"path": str(out), "bytes": size, "model": model_entry, "export": export_entry}
