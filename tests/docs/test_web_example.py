"""examples/web: the page classifies typed reviews in headless Chromium like the Python runtime, offline too.

Needs node, npm and Chromium (Debian's `chromium`; scripts/test.sh installs it with apt-get where it runs as root,
as on CI). The page and its driver (puppeteer-core, which downloads no browser) are installed with `npm ci` in a
copy, the model is made from the shipped one as the README says, and the page is served on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from imdb_edge import Classifier
from imdb_edge.data.reviews import SAMPLE_SOURCE, sample_reviews
from imdb_edge.runtime.classifier import default_model_path
from tests.helpers import ROOT

pytestmark = pytest.mark.browser

EXAMPLE, DRIVER = ROOT / "examples" / "web", ROOT / "tests" / "docs" / "web"
REVIEWS = [
    "An absolute masterpiece, I loved every minute.",
    "This movie was a waste of time: boring, awful, the worst.",
]
SCREENSHOT_ENV = "IMDB_EDGE_WEB_SCREENSHOT"
"""Also save the page's screenshot here (how docs/web-example.png is made)."""


def _chromium() -> str | None:
    return os.environ.get("IMDB_EDGE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _npm_ci(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules", "*.onnx"))
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=target, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return target


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The page with its model, on an ephemeral port of 127.0.0.1, and the installed driver."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed for the browser example")
    if _chromium() is None:
        pytest.skip("Chromium is needed for the browser example (apt-get install chromium; scripts/test.sh does)")
    from imdb_edge.export.rewrap import rewrap_as_text

    work = tmp_path_factory.mktemp("web")
    site, driver = _npm_ci(EXAMPLE, work / "web"), _npm_ci(DRIVER, work / "driver")
    rewrap_as_text(default_model_path(), site / "imdb.fast.onnx", sample_reviews(), SAMPLE_SOURCE, "text_fast")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.func.extensions_map = {  # type: ignore[attr-defined]
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html", driver
    finally:
        server.shutdown()
        server.server_close()


def test_the_page_labels_typed_reviews_like_the_python_runtime_offline(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, driver = served
    screenshot = tmp_path / "web-example.png"
    done = subprocess.run(
        ["node", "drive.mjs", url, str(_chromium()), str(screenshot), json.dumps(REVIEWS)],
        cwd=driver,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shown = [json.loads(line) for line in done.stdout.splitlines()]
    python = Classifier.load().predict_batch(REVIEWS)
    assert [row["label"] for row in shown] == [p.label for p in python] == ["positive", "negative"]
    assert max(abs(row["score"] - p.score) for row, p in zip(shown, python, strict=True)) <= 1e-5
    assert all(row["time"].endswith(")") and "µs" in row["time"] for row in shown)
    assert screenshot.stat().st_size > 10_000
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(screenshot, os.environ[SCREENSHOT_ENV])
