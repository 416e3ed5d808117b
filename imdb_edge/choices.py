"""The choices a training run can make, by name.

Light on purpose: the CLI lists them in `--help` and completion without importing
the training stage (which needs the [train] extra) or numpy; the training config and
the vectorizer validate against the same tuples.
"""

from __future__ import annotations

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu")
LOSSES = ("binary_crossentropy", "mse")
OPTIMIZERS = ("rmsprop", "adam", "sgd")
ARCHITECTURES = ("dense", "bag")
TERM_RANKINGS = ("frequency", "nb-df", "nb-movies")
VALIDATION_GROUPS = ("review", "movie")
WEIGHTINGS = ("binary", "nb")
CLASS_WEIGHTS = ("none", "balanced")
PSEUDO_TARGETS = ("hard", "soft")
DEFAULT_TEST_SIZE = 0.2
"""The share of a labelled file held out for test when no --test file is given."""
