"""The device: text vectorizer + onnxruntime classifier, and the model-file reader (modelfile/).

Everything under this package imports only the standard library, numpy, onnxruntime and
imdb-edge's own stdlib-only leaves (errors, typecheck, choices); tests/test_layering.py
holds it to that. Names load on first use (PEP 562), so the CLI's other commands and
`--help` do not pay for importing onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imdb_edge.runtime.classifier import Classifier, Prediction
    from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig

_HOMES = {
    "Classifier": "imdb_edge.runtime.classifier",
    "Prediction": "imdb_edge.runtime.classifier",
    "Vectorizer": "imdb_edge.runtime.vectorizer",
    "VectorizerConfig": "imdb_edge.runtime.vectorizer",
}
__all__ = ["Classifier", "Prediction", "Vectorizer", "VectorizerConfig"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
