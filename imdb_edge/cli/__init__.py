"""The `imdb-edge` command: one module per help panel, each command a declaration plus one call.

- app.py: the Typer app, the panels, `--version`;
- common.py: `invoke` (the one command body: options dataclass -> action -> exit code),
  errors as one line, shared options, JSON output;
- run_commands.py: classify, info, bench (base install);
- train_commands.py: train, sweep, export ([train]; rewrapping needs only [onnx]);
- spark_commands.py: spark-classify ([spark]);
- progress.py: the live count on stderr.

Nothing here imports numpy, onnxruntime or TensorFlow at import time, so `--help` and
tab completion stay fast; each action imports what it needs when it runs, after
checking its extra (imdb_edge/extras.py).
"""

from imdb_edge.cli import run_commands, spark_commands, train_commands  # noqa: F401  (registers the commands)
from imdb_edge.cli.app import app, main

__all__ = ["app", "main"]
