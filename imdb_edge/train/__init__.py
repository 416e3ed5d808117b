"""Training stage: data, features, Keras models, sweeps, plots (needs the [train] extra)."""

from __future__ import annotations

import os
import sys
import tempfile

# TensorFlow's C++ start-up chatter hides our progress lines; users can still override.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Lines TensorFlow's native code prints while it loads: absl's pre-init notice, the
# oneDNN and CPU-feature notes. TF_CPP_MIN_LOG_LEVEL does not reach them (absl
# logs them before TensorFlow's own filter is set up), so they are filtered here.
_STARTUP_NOISE = (
    "absl::InitializeLog()",
    "oneDNN custom operations",
    "cpu_feature_guard",
    "rebuild TensorFlow with the appropriate compiler flags",
    "Unable to register cu",  # cuDNN/cuFFT/cuBLAS factory notes on CPU-only machines
    "computation placer already registered",
    "TF-TRT Warning",
)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras with their start-up log lines filtered out of stderr.

    Native code writes straight to file descriptor 2, so fd 2 is pointed at a
    temporary file during the import; afterwards every captured line that is not
    known start-up noise is written back to stderr, so real problems still show.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow as tf
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines()
            for line in lines:
                if not any(noise in line for noise in _STARTUP_NOISE):
                    print(line, file=sys.stderr)
    tf.get_logger().setLevel("ERROR")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; be safe if a build lacks it
        pass
