"""imdb-edge: IMDB sentiment classification on CPU-only devices.

>>> from imdb_edge import Classifier
>>> Classifier.load().predict("An absolute masterpiece.").label
'positive'
"""

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime import Classifier, Prediction, Vectorizer, VectorizerConfig

__version__ = "0.1.0"
__all__ = ["Classifier", "ImdbEdgeError", "Prediction", "Vectorizer", "VectorizerConfig", "__version__"]
