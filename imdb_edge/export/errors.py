"""What can stop an export, as types a caller can catch (like Optimum's ShapeError/AtolError).

All are ImdbEdgeError, so the CLI still prints each as one line.
"""

from __future__ import annotations

from imdb_edge.errors import ImdbEdgeError


class ExportError(ImdbEdgeError):
    """The export cannot produce a trustworthy file; nothing was written."""


class RunFolderError(ExportError):
    """The run folder is not a finished, consistent `imdb-edge train` run."""


class ParityError(ExportError):
    """The fp32 ONNX graph does not answer like the Keras model (scores or labels)."""


class AccuracyDropError(ExportError):
    """int8 weights lose more test accuracy than the limit allows."""
