"""Tool versions for provenance, read from package metadata (never by importing)."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("imdb-edge", "numpy", "onnxruntime", "onnx", "tensorflow-cpu", "tensorflow", "keras", "tf2onnx")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of `names` (absent ones are left out) plus Python's."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def version_line() -> str:
    """What `imdb-edge --version` prints: ours, then the runtime's two libraries and Python."""
    from imdb_edge import __version__

    found = package_versions(("numpy", "onnxruntime"))
    runtime = ", ".join(f"{name} {found.get(name, 'not installed')}" for name in ("onnxruntime", "numpy"))
    return f"imdb-edge {__version__} ({runtime}, Python {found['python']})"
