"""The Large Movie Review Dataset, read from its official layout (folder or archive).

Where the data comes from, in order: `--data PATH`, the IMDB_EDGE_DATA environment
variable, the user cache folder, and finally a verified download into that cache.
Empty or non-UTF-8 review files are skipped and counted, never fatal.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from imdb_edge.errors import ImdbEdgeError

ENV_DATA = "IMDB_EDGE_DATA"
ENV_CACHE = "IMDB_EDGE_CACHE"
SPLITS = ("train", "test")
LABEL_NAMES = ("neg", "pos")
_MEMBER = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
LAYOUT_HINT = "expected aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt"
_URLS = re.compile(r"(?:^|/)(train|test)/urls_(pos|neg)\.txt$")
_TITLE = re.compile(rb"/title/(tt\d{1,12})\b")


IMDB_LABELS = ("negative", "positive")
"""The IMDB archive's labels (its neg and pos folders), as the shipped model names them."""


@dataclass
class Split:
    """Texts of one split in a fixed order (IMDB: label, neg first, then id; a user's file: file order), and
    each one's label as an index into the dataset's `labels`."""

    texts: list[str]
    labels: np.ndarray
    ratings: np.ndarray | None = None
    """IMDB only: each review's star rating (1-4, 7-10)."""
    ids: np.ndarray | None = None
    movies: np.ndarray | None = None
    """Each review's IMDB title ("tt0453418", from urls_{pos,neg}.txt), or None when they are not all there."""
    movies_missing: str = "the data is not the IMDB archive"
    """Why `movies` is None: the urls file or line that is missing."""
    validation: np.ndarray | None = None
    """Rows given as the validation set (a --validation file, appended to the training rows); None: held out
    at random as the training config says."""

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Dataset:
    train: Split
    test: Split
    source: str
    fingerprint: str
    skipped: list[str] = field(default_factory=list)
    labels: tuple[str, ...] = IMDB_LABELS
    """The label names, in the order the model's outputs follow."""
    summary: dict[str, Any] = field(default_factory=dict)
    """How a user's file was read (label counts, bad rows, where the test rows came from) for metrics.json."""


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "imdb-edge"


def resolve_data_path(data: str | Path | None = None, allow_download: bool = True) -> Path:
    """Find the dataset: explicit path, env var, cache, else download into the cache."""
    from imdb_edge.data.download import OFFICIAL_NAME, download_archive

    for given, origin in ((data, "--data"), (os.environ.get(ENV_DATA), ENV_DATA)):
        if given:
            path = Path(given).expanduser()
            if not path.exists():
                raise ImdbEdgeError(f"{origin} points at {path}, which does not exist")
            return path
    cache = cache_dir()
    for candidate in (cache / "aclImdb", cache / OFFICIAL_NAME):
        if candidate.exists():
            return candidate
    if not allow_download:
        raise ImdbEdgeError(
            f"no IMDB dataset found: pass --data PATH or set {ENV_DATA} (an aclImdb/ folder or {OFFICIAL_NAME})"
        )
    return download_archive(cache / OFFICIAL_NAME)


def _iter_folder(root: Path) -> Iterator[tuple[str, bytes]]:
    if (root / "aclImdb").is_dir():
        root = root / "aclImdb"
    for split in SPLITS:
        for label in LABEL_NAMES:
            folder = root / split / label
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                yield f"{split}/{label}/{path.name}", path.read_bytes()
            urls = root / split / f"urls_{label}.txt"
            if urls.is_file():
                yield f"{split}/urls_{label}.txt", urls.read_bytes()


_DECOMPRESSORS: dict[bytes, Callable[[BinaryIO], BinaryIO]] = {
    b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw),
    b"BZh": bz2.BZ2File,
    b"\xfd7zXZ\x00": lzma.LZMAFile,
}
_TAR_BLOCK = 512


def _iter_archive(path: Path) -> Iterator[tuple[str, bytes]]:
    """The archive's members, then a check that it was whole.

    tarfile ends quietly where a cut falls between two members, as if the archive ended
    there: a download cut at 90% would load with reviews missing. So the compressed
    stream is read to its end (gzip, bzip2 and xz then check their own length and CRC),
    and a plain tar must end with its zero block.
    """
    try:
        with ExitStack() as stack:
            raw = stack.enter_context(open(path, "rb"))
            magic = raw.read(6)
            raw.seek(0)
            decompressor = next((d for m, d in _DECOMPRESSORS.items() if magic.startswith(m)), None)
            stream = stack.enter_context(decompressor(raw)) if decompressor else raw
            archive = stack.enter_context(tarfile.open(fileobj=stream, mode="r|"))
            for member in archive:
                if member.isfile() and (_MEMBER.search(member.name) or _URLS.search(member.name)):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        yield member.name, handle.read()
            if decompressor:
                while stream.read(1 << 20):  # to the end: a cut stream raises EOFError here
                    pass
            else:
                raw.seek(archive.offset)
                if raw.read(_TAR_BLOCK) != bytes(_TAR_BLOCK):
                    raise EOFError("the archive ends without its end-of-archive block")
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
        raise ImdbEdgeError(
            f"{path} is not a readable IMDB archive ({exc.__class__.__name__}: {exc}); "
            f"it may be truncated or corrupt: download it again or set {ENV_DATA} to a good copy"
        ) from None


def load_dataset(path: str | Path) -> Dataset:
    """Read every labeled review from an aclImdb folder or a .tar(.gz) archive."""
    path = Path(path)
    if path.is_dir():
        members = _iter_folder(path)
    elif path.is_file():
        members = _iter_archive(path)
    else:
        raise ImdbEdgeError(f"{path} is neither a folder nor an archive")

    rows: dict[str, list[tuple[int, int, int, str]]] = {s: [] for s in SPLITS}
    urls: dict[tuple[str, int], list[bytes]] = {}
    skipped: list[str] = []
    for name, raw in members:
        url_match = _URLS.search(name)
        if url_match:
            urls[(url_match.group(1), LABEL_NAMES.index(url_match.group(2)))] = raw.splitlines()
            continue
        match = _MEMBER.search(name)
        if not match:
            continue
        split, label, review_id, rating = match.groups()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(f"{name}: not UTF-8")
            continue
        if not text.strip():
            skipped.append(f"{name}: empty")
            continue
        rows[split].append((LABEL_NAMES.index(label), int(review_id), int(rating), text))

    for split in SPLITS:
        for label_index, label in enumerate(LABEL_NAMES):
            if not any(row[0] == label_index for row in rows[split]):
                raise ImdbEdgeError(f"{path}: no reviews found in {split}/{label}; {LAYOUT_HINT}")

    digest = hashlib.sha256()
    splits = {}
    for split in SPLITS:
        ordered = sorted(rows[split])
        for label, review_id, rating, text in ordered:
            digest.update(f"{split}/{label}/{review_id}_{rating}\n".encode())
            digest.update(hashlib.sha256(text.encode("utf-8")).digest())
        splits[split] = Split(
            texts=[row[3] for row in ordered],
            labels=np.array([row[0] for row in ordered], dtype=np.int8),
            ratings=np.array([row[2] for row in ordered], dtype=np.int8),
            ids=np.array([row[1] for row in ordered], dtype=np.int32),
            **_movies(split, ordered, urls),
        )
    return Dataset(
        train=splits["train"],
        test=splits["test"],
        source=str(path),
        fingerprint=digest.hexdigest(),
        skipped=sorted(skipped),
    )


def _movies(
    split: str, ordered: list[tuple[int, int, int, str]], urls: dict[tuple[str, int], list[bytes]]
) -> dict[str, Any]:
    """Each review's title: line `id` of its label's urls file names the movie it is about. Only movie-grouped
    validation needs them, so a missing or odd file is a reason kept for that, never a load error."""
    titles = []
    for label, review_id, _, _ in ordered:
        name = f"{split}/urls_{LABEL_NAMES[label]}.txt"
        lines = urls.get((split, label))
        if lines is None:
            return {"movies": None, "movies_missing": f"{name} is missing"}
        if review_id >= len(lines):
            return {"movies": None, "movies_missing": f"{name} has {len(lines)} lines; review {review_id} needs more"}
        found = _TITLE.search(lines[review_id])
        if found is None:
            return {"movies": None, "movies_missing": f"{name} line {review_id + 1} names no IMDB title (tt...)"}
        titles.append(found.group(1).decode("ascii"))
    return {"movies": np.array(titles), "movies_missing": ""}


def movies_fingerprint(split: Split) -> str | None:
    """sha256 of the reviews' movies, in order: the data fingerprint covers reviews only, and a movie-grouped
    split also depends on these."""
    if split.movies is None:
        return None
    return hashlib.sha256("\n".join(split.movies.tolist()).encode("ascii")).hexdigest()


def holdout_split(n: int, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle indices once with `seed`; the first `validation_size` are validation."""
    if not 0 < validation_size < n:
        raise ImdbEdgeError(f"validation size must be between 1 and {n - 1}, got {validation_size}")
    order = np.random.default_rng(seed).permutation(n)
    return order[validation_size:], order[:validation_size]


def holdout_by_group(groups: np.ndarray, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole groups (movies) to validation, in a shuffled order, until it holds at least `validation_size` rows.

    Test reviews are about other movies than training reviews; a validation split that shares
    movies with the fit rows rewards n-grams that name their actors and titles.
    """
    n = len(groups)
    if not 0 < validation_size < n:
        raise ImdbEdgeError(f"validation size must be between 1 and {n - 1}, got {validation_size}")
    rng = np.random.default_rng(seed)
    names, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    order = rng.permutation(len(names))
    taken = order[: int(np.searchsorted(np.cumsum(counts[order]), validation_size)) + 1]
    held = np.isin(inverse, taken)
    if held.all():
        raise ImdbEdgeError(f"validation size {validation_size} leaves no movie to train on")
    rows = rng.permutation(n)
    return rows[~held[rows]], rows[held[rows]]
