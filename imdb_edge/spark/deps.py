"""The [spark] extra: a one-line error when it is missing, and the executors' Python.

Nothing here imports pyspark, so the base install can import it to say what is missing.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.extras import EXTRAS, install_hint


def require_spark() -> None:
    """Raise a one-line ImdbEdgeError naming the install command if the extra is missing.

    Imports each module (unlike `extras.require_extra`'s `find_spec`): a pyspark that is
    present but cannot be imported is as missing as an absent one.
    """
    missing = []
    for name in EXTRAS["spark"]:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImdbEdgeError(f"{', '.join(missing)} not installed: Spark support needs {install_hint('spark')}")


def use_this_python_on_executors() -> None:
    """Point PYSPARK_PYTHON at this interpreter unless the user chose one.

    Spark starts executor Python workers with `python3` from PATH by default, which is
    usually not the venv that has imdb-edge, pandas and pyarrow. On a cluster whose
    nodes have the venv elsewhere, set PYSPARK_PYTHON (or spark.pyspark.python) yourself.
    """
    if not os.environ.get("PYSPARK_PYTHON"):
        os.environ["PYSPARK_PYTHON"] = sys.executable


def quiet_pandas3_warning() -> None:
    """pyspark warns that pandas >= 3 is not fully supported; our UDF uses only what works there.

    The [spark] extra pins pandas < 3, so this only matters in environments that chose
    pandas 3 themselves; the tests run the Arrow path on the pandas version installed.
    """
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas >= 3", category=FutureWarning)
