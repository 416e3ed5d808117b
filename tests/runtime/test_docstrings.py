"""The examples in the public API's docstrings run and print what they show."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import imdb_edge
from imdb_edge.runtime import classifier


@pytest.mark.parametrize("module", [imdb_edge, classifier], ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 1 and result.failed == 0
