"""Builds the optional native vectorizer (imdb_edge/runtime/_fastvec.c).

Everything else is in pyproject.toml. Without a C compiler or Python headers the
install still succeeds: a one-line note is printed and the pure-Python vectorizer
(the definition) is used.
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed compile into a note instead of a failed install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # setuptools/distutils raise several private error types
            self._note(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._note(exc)

    @staticmethod
    def _note(exc: Exception) -> None:
        print(
            f"imdb-edge: native vectorizer not built ({exc.__class__.__name__}: {exc}); "
            "the pure-Python vectorizer will be used (same results, slower)",
            file=sys.stderr,
        )


setup(
    ext_modules=[
        Extension(
            "imdb_edge.runtime._fastvec",
            sources=["imdb_edge/runtime/_fastvec.c"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
