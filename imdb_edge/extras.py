"""Optional extras: refuse a command in one line, before any work, when its extra is missing.

The base install (numpy, onnxruntime, typer) runs models; training, export and plots
need more. Checking with `find_spec` (no import) keeps the check instant.
"""

from __future__ import annotations

from importlib.util import find_spec

from imdb_edge.errors import ImdbEdgeError

EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("tensorflow", "keras", "tf2onnx", "onnx", "matplotlib"),
    "onnx": ("onnx",),
    "plot": ("matplotlib",),
    "spark": ("pyspark", "pandas", "pyarrow"),
}


def missing_modules(extra: str) -> list[str]:
    return [name for name in EXTRAS[extra] if find_spec(name) is None]


def install_hint(extra: str) -> str:
    return f'pip install "imdb-edge[{extra}]"'


def require_extra(extra: str, what: str) -> None:
    """Raise a one-line ImdbEdgeError naming the extra and its pip command if any module is absent."""
    missing = missing_modules(extra)
    if missing:
        raise ImdbEdgeError(
            f"{what} needs the [{extra}] extra ({', '.join(missing)} not installed): {install_hint(extra)}"
        )
