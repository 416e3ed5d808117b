"""imdb-edge: IMDB sentiment classification on CPU-only devices.

>>> from imdb_edge import Classifier
>>> Classifier.load().predict("An absolute masterpiece.").label
'positive'

The runtime names load on first use, so `import imdb_edge` alone stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imdb_edge.errors import ImdbEdgeError

if TYPE_CHECKING:
    from imdb_edge.runtime import Classifier, Prediction, Vectorizer, VectorizerConfig

__version__ = "0.1.0"
__all__ = ["Classifier", "ImdbEdgeError", "Prediction", "Vectorizer", "VectorizerConfig", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Classifier", "Prediction", "Vectorizer", "VectorizerConfig"):
        from imdb_edge import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
