"""Optional extras: refuse a command in one line, before any work, when its extra is missing.

The base install (numpy, onnxruntime, typer) runs models; training, export and plots
need more. Checking with `find_spec` (no import) keeps the check instant. The hint names
an install command that works for how this copy was installed (PEP 610's direct_url.json:
a checkout, a wheel file, a VCS URL), since imdb-edge is not published on a package
index: `pip install "imdb-edge[train]"` would fail there, or install someone else's code.
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from imdb_edge.errors import ImdbEdgeError

EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("tensorflow", "keras", "tf2onnx", "onnx", "matplotlib"),
    "onnx": ("onnx",),
    "plot": ("matplotlib",),
    "spark": ("pyspark", "pandas", "pyarrow"),
}
DISTRIBUTION = "imdb-edge"


def missing_modules(extra: str) -> list[str]:
    return [name for name in EXTRAS[extra] if find_spec(name) is None]


def _installed_from() -> dict[str, Any] | None:
    """Where this copy came from, as PEP 610's direct_url.json says (a stale `imdb_edge.egg-info` in a
    checkout may shadow the installed record, so every record is looked at); a checkout run without
    installing counts as its folder; None: installed from an index."""
    from importlib.metadata import distributions

    for found in distributions(name=DISTRIBUTION):
        try:
            record = json.loads(found.read_text("direct_url.json") or "null")
        except ValueError:
            continue
        if isinstance(record, dict):
            return record
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return {"url": checkout.as_uri(), "dir_info": {"editable": True}}
    return None


def install_command(extra: str, origin: dict[str, Any] | None) -> str:
    """The pip command that adds `extra` to an install that came from `origin` (direct_url.json)."""
    url = origin.get("url") if origin else None
    if not isinstance(url, str):
        return f'pip install "{DISTRIBUTION}[{extra}]"'
    parsed = urlparse(url)
    if "vcs_info" in origin:  # type: ignore[operator]
        vcs = origin["vcs_info"]  # type: ignore[index]
        commit = vcs.get("commit_id") if isinstance(vcs, dict) else None
        at = f"@{commit}" if commit else ""
        return f'pip install "{DISTRIBUTION}[{extra}] @ {vcs.get("vcs", "git")}+{url}{at}"'
    if parsed.scheme != "file":
        return f'pip install "{DISTRIBUTION}[{extra}] @ {url}"'
    path = Path(unquote(parsed.path))
    editable = isinstance(origin.get("dir_info"), dict) and origin["dir_info"].get("editable")  # type: ignore[union-attr]
    here = Path.cwd()
    shown = "." if path == here else str(path)
    return f'pip install {"-e " if editable else ""}"{shown}[{extra}]"'


def install_hint(extra: str) -> str:
    return install_command(extra, _installed_from())


def require_extra(extra: str, what: str) -> None:
    """Raise a one-line ImdbEdgeError naming the extra and its pip command if any module is absent."""
    missing = missing_modules(extra)
    if missing:
        raise ImdbEdgeError(
            f"{what} needs the [{extra}] extra ({', '.join(missing)} not installed): {install_hint(extra)}"
        )
