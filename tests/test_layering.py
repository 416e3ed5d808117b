"""The layers stay apart: the runtime never reaches into training or export code.

Checked two ways: statically (every import statement in runtime/, data/ and the
CLI module, including imports inside functions) and by behaviour (what a fresh
interpreter has loaded after importing the CLI and classifying with the API).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "imdb_edge"
HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx")
TRAINING_STAGES = ("imdb_edge.train", "imdb_edge.export")


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


@pytest.mark.parametrize("layer", ["runtime", "data"])
def test_runtime_and_data_never_import_training_export_or_heavy_frameworks(layer: str) -> None:
    offenders = {
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in _imported_modules(path)
        if _is_within(name, TRAINING_STAGES + HEAVY)
    }
    assert not offenders, sorted(offenders)


def test_data_layer_does_not_import_the_runtime() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in sorted((PACKAGE / "data").rglob("*.py"))
        for name in _imported_modules(path)
        if _is_within(name, ("imdb_edge.runtime",))
    }
    assert not offenders, sorted(offenders)


def test_cli_and_classifying_load_no_training_code_in_a_fresh_interpreter() -> None:
    code = (
        "import json, sys\n"
        "import imdb_edge.cli\n"
        "from imdb_edge.runtime.classifier import Classifier\n"
        "Classifier.load().predict('a fine film')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = json.loads(done.stdout)
    assert not [m for m in loaded if _is_within(m, TRAINING_STAGES + HEAVY)], "training code loaded for classify"
    assert not [m for m in loaded if _is_within(m, ("tomllib", "tomli"))], "config parsing loaded for classify"
