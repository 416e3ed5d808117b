"""The packages stay apart, as docs/architecture.md draws them.

Checked two ways: statically (every import statement of every module, including imports
inside functions) and by behaviour (what a fresh interpreter has loaded after importing
the CLI, and after classifying with the API).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "imdb_edge"
HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx")
RUNTIME_THIRD_PARTY = ("numpy", "onnxruntime")
RUNTIME_OWN_LEAVES = ("imdb_edge.errors", "imdb_edge.typecheck", "imdb_edge.choices", "imdb_edge.safe_json")
"""Stdlib-only modules of imdb-edge the runtime may use (tests/test_layering.py checks they stay that way)."""


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _is_within(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def _imports_of(layer: str) -> list[tuple[str, str]]:
    """(module file, imported name) for every import in a package of imdb_edge (or a module: "errors.py")."""
    root = PACKAGE / layer
    paths = [root] if root.suffix == ".py" else sorted(root.rglob("*.py"))
    return [(str(path.relative_to(ROOT)), name) for path in paths for name in _imported_modules(path)]


def _is_stdlib(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names or name == "__future__"


def test_the_runtime_imports_only_the_standard_library_numpy_onnxruntime_and_itself() -> None:
    allowed = ("imdb_edge.runtime", *RUNTIME_OWN_LEAVES, *RUNTIME_THIRD_PARTY)
    # `from imdb_edge import safe_json` names the package too; what it takes is checked as imdb_edge.safe_json
    offenders = [
        f"{path}: {name}"
        for path, name in _imports_of("runtime")
        if name != "imdb_edge" and not (_is_stdlib(name) or _is_within(name, allowed))
    ]
    assert not offenders, offenders


@pytest.mark.parametrize("leaf", ["errors.py", "typecheck.py", "choices.py", "safe_json.py"])
def test_the_runtimes_own_leaves_import_only_the_standard_library(leaf: str) -> None:
    offenders = [
        f"{path}: {name}"
        for path, name in _imports_of(leaf)
        if not (_is_stdlib(name) or _is_within(name, RUNTIME_OWN_LEAVES))
    ]
    assert not offenders, offenders


@pytest.mark.parametrize("layer", ["runtime", "data", "batch", "bench", "evaluation"])
def test_device_side_packages_never_import_training_export_spark_or_heavy_frameworks(layer: str) -> None:
    forbidden = ("imdb_edge.train", "imdb_edge.export", "imdb_edge.spark", *HEAVY)
    offenders = [f"{path}: {name}" for path, name in _imports_of(layer) if _is_within(name, forbidden)]
    assert not offenders, offenders


@pytest.mark.parametrize("layer", ["batch", "bench", "runtime", "data", "export", "train", "spark"])
def test_only_the_cli_imports_typer_or_the_cli(layer: str) -> None:
    offenders = [
        f"{path}: {name}"
        for path, name in _imports_of(layer)
        if _is_within(name, ("typer", "click", "imdb_edge.cli"))
        # spark-submit runs `python -m imdb_edge.spark`, which is the CLI's spark-classify
        and not (path.endswith("spark/__main__.py") and name.startswith("imdb_edge.cli"))
    ]
    assert not offenders, offenders


def test_rich_only_where_long_work_draws_a_progress_bar() -> None:
    allowed = ("imdb_edge/cli/progress.py", "imdb_edge/train/sweep.py", "imdb_edge/data/download.py")
    offenders = [f"{path}: {name}" for path, name in _imports_of(".") if _is_within(name, ("rich",))]
    assert not [o for o in offenders if not o.startswith(allowed)], offenders


def test_the_runtime_imports_no_other_package_of_imdb_edge() -> None:
    others = tuple(f"imdb_edge.{p}" for p in ("train", "export", "data", "spark", "batch", "bench", "cli"))
    offenders = [f"{path}: {name}" for path, name in _imports_of("runtime") if _is_within(name, others)]
    assert not offenders, offenders


def test_matplotlib_only_where_a_plot_is_drawn() -> None:
    allowed_files = ("imdb_edge/bench/plot.py", "imdb_edge/evaluation/plot.py", "imdb_edge/train/plots.py")
    offenders = [
        f"{path}: {name}"
        for path, name in _imports_of(".")
        if _is_within(name, ("matplotlib",)) and path not in allowed_files
    ]
    assert not offenders, offenders


def test_data_layer_does_not_import_the_runtime() -> None:
    offenders = [f"{path}: {name}" for path, name in _imports_of("data") if _is_within(name, ("imdb_edge.runtime",))]
    assert not offenders, offenders


def _fresh_interpreter_modules(code: str) -> list[str]:
    code += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_cli_and_classifying_load_no_training_code_in_a_fresh_interpreter() -> None:
    loaded = _fresh_interpreter_modules(
        "import imdb_edge.cli\nfrom imdb_edge.runtime.classifier import Classifier\n"
        "Classifier.load().predict('a fine film')\n"
    )
    assert not [m for m in loaded if _is_within(m, ("imdb_edge.train", "imdb_edge.export", *HEAVY))]
    assert not [m for m in loaded if _is_within(m, ("tomllib", "tomli"))], "config parsing loaded for classify"


def test_help_and_completion_load_neither_numpy_nor_the_kernel_nor_onnxruntime() -> None:
    loaded = _fresh_interpreter_modules("import imdb_edge.cli")
    heavy = [m for m in loaded if _is_within(m, ("numpy", "onnxruntime", "imdb_edge.runtime._fastvec", *HEAVY))]
    assert not heavy, heavy
