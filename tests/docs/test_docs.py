"""Figures the docs quote are what the commands print today, and the docs speak of the project only."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from imdb_edge.runtime.classifier import default_model_path
from imdb_edge.runtime.modelfile.describe import describe_model
from tests.helpers import ROOT, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
# Every page a user reads speaks of the project only (no internal paths, no issue numbers).
PROJECT_PAGES = [
    "README.md",
    "docs/benchmarks.md",
    "docs/cli.md",
    "docs/edge-model.md",
    "docs/export.md",
    "docs/raspberry-pi.md",
    "docs/reliability.md",
    "docs/reproduction.md",
    "docs/spark.md",
    "examples/node/README.md",
    "imdb_edge/runtime/models/README.md",
]


def test_readme_classify_example_prints_the_quoted_score() -> None:
    match = re.search(r'^imdb-edge classify "([^"]+)" +# (\w+)<TAB>(\d\.\d+)$', README, re.M)
    assert match, "the README's first classify example with its output comment"
    text, label, score = match.groups()
    result = run_cli("classify", text)
    assert result.exit_code == 0, result.output
    printed_label, printed_score = result.stdout.strip().split("\t")
    assert printed_label == label
    assert f"{float(printed_score):.{len(score) - 2}f}" == score


def test_readme_embedding_example_prints_what_its_comment_says() -> None:
    code = re.search(r"## Embedding.*?```python\n(.*?)```", README, re.S).group(1)  # type: ignore[union-attr]
    expected = re.search(r"print\(.*\)  # (.+)$", code, re.M).group(1)  # type: ignore[union-attr]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    assert printed.getvalue().strip() == expected


def test_shipped_model_readme_quotes_the_accuracy_in_the_file() -> None:
    text = (ROOT / "imdb_edge" / "runtime" / "models" / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"test accuracy[^|\n]*\|\s*(\d+\.\d+)%", text).group(1)  # type: ignore[union-attr]
    summary, _ = describe_model(default_model_path())
    assert quoted == f"{100 * summary['test_accuracy']:.2f}"


@pytest.mark.parametrize("page", PROJECT_PAGES)
def test_docs_speak_of_the_project_only(page: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    assert not re.search(r"\.\./shared|\bshared/|\bissues? #?\d+", text, re.I), page
