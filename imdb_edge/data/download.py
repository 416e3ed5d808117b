"""Fetch the official IMDB archive once, verified by sha256, into the user cache."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from imdb_edge.atomic import staged_file
from imdb_edge.errors import ImdbEdgeError

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
OFFICIAL_NAME = "aclImdb_v1.tar.gz"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_archive(
    dest: Path,
    url: str = OFFICIAL_URL,
    sha256: str = OFFICIAL_SHA256,
    timeout: float = 30.0,
    show_progress: bool = True,
) -> Path:
    """Download `url` to `dest` with a progress bar; keep it only if the sha256 matches."""
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    hint = f"download {url} yourself and set IMDB_EDGE_DATA=/path/to/{OFFICIAL_NAME} (or pass --data)"
    digest = hashlib.sha256()
    with staged_file(dest) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with Progress(
                    *Progress.get_default_columns(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    disable=not show_progress,
                ) as progress:
                    task = progress.add_task(f"downloading {OFFICIAL_NAME}", total=total)
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        progress.advance(task, len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ImdbEdgeError(f"could not download the IMDB dataset ({reason}); {hint}") from None
        if digest.hexdigest() != sha256:
            raise ImdbEdgeError(
                f"downloaded archive has sha256 {digest.hexdigest()}, expected {sha256}; "
                f"the download is damaged, try again or {hint}"
            )
    return dest
