"""Atomic writes: a reader sees the old file or the whole new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imdb_edge import json_out
from imdb_edge.errors import ImdbEdgeError

INCOMPLETE_MARKER = "INCOMPLETE"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _public(path: str | Path, directory: bool = False) -> None:
    """mkstemp/mkdtemp make private files; give the final artifact normal permissions."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to a temporary sibling, fsync, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _public(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> None:
    """`obj` as JSON (json_out: non-finite floats become null), written atomically."""
    write_text(path, json_out.dumps(obj) + "\n")


@contextlib.contextmanager
def staged_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it into place only on success.

    For writers (Keras, onnx, matplotlib) that insist on writing a path themselves.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _public(tmp_path)
        os.replace(tmp_path, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


@contextlib.contextmanager
def staged_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name, then rename it to `path` when complete.

    An interrupted build leaves `.NAME.incomplete-*` holding an INCOMPLETE marker,
    never a folder at `path` that looks finished.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ImdbEdgeError(f"{path} already exists: choose another --output or pass --overwrite")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.incomplete-"))
    (tmp / INCOMPLETE_MARKER).write_text("This run did not finish; it is safe to delete.\n")
    yield tmp
    (tmp / INCOMPLETE_MARKER).unlink()
    _public(tmp, directory=True)
    if path.exists():
        old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
        os.replace(path, old / path.name)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)
