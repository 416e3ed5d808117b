"""Training stage: data, features, Keras models, sweeps, plots (needs the [train] extra)."""

import os

# TensorFlow's C++ start-up chatter hides our progress lines; users can still override.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
