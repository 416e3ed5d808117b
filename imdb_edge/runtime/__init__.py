"""The edge runtime: text vectorizer + onnxruntime classifier (numpy and onnxruntime only)."""

from imdb_edge.runtime.classifier import Classifier, Prediction
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig

__all__ = ["Classifier", "Prediction", "Vectorizer", "VectorizerConfig"]
