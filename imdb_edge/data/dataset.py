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
_UNSUP = re.compile(r"(?:^|/)train/unsup/(\d+)_(\d+)\.txt$")
_UNSUP_URLS = re.compile(r"(?:^|/)train/urls_unsup\.txt$")
UNSUP_HINT = "expected aclImdb/train/unsup/<id>_0.txt (the official archive, or aclImdb_v1_unsup.tar.gz)"
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
class Unlabelled:
    """Reviews without a label (the archive's train/unsup), by id: never rows of a split, only texts that
    semi-supervised settings may read at training time."""

    texts: list[str]
    source: str
    fingerprint: str
    ids: np.ndarray | None = None
    movies: np.ndarray | None = None
    """Each review's IMDB title (from train/urls_unsup.txt), or None when that file is missing or short."""
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "reviews": len(self.texts),
            "fingerprint": self.fingerprint,
            "skipped_files": len(self.skipped),
            "movies": None if self.movies is None else len(set(self.movies.tolist())),
        }


@dataclass
class Dataset:
    train: Split
    test: Split
    source: str
    fingerprint: str
    """sha256 of the labelled reviews only: unlabelled reviews are fingerprinted on their own."""
    skipped: list[str] = field(default_factory=list)
    labels: tuple[str, ...] = IMDB_LABELS
    """The label names, in the order the model's outputs follow."""
    summary: dict[str, Any] = field(default_factory=dict)
    """How a user's file was read (label counts, bad rows, where the test rows came from) for metrics.json."""
    unlabelled: Unlabelled | None = None
    """The archive's train/unsup reviews when it has them (or --unlabelled names them); None: none found."""


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


def _iter_folder(root: Path, labelled: bool = True, unlabelled: bool = True) -> Iterator[tuple[str, bytes]]:
    if (root / "aclImdb").is_dir():
        root = root / "aclImdb"
    folders = [(split, label) for split in SPLITS for label in LABEL_NAMES] if labelled else []
    if unlabelled:
        folders.append(("train", "unsup"))
    for split, label in folders:
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


def _wanted(name: str, labelled: bool, unlabelled: bool) -> bool:
    return bool(
        (labelled and (_MEMBER.search(name) or _URLS.search(name)))
        or (unlabelled and (_UNSUP.search(name) or _UNSUP_URLS.search(name)))
    )


def _iter_archive(path: Path, labelled: bool = True, unlabelled: bool = True) -> Iterator[tuple[str, bytes]]:
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
                if member.isfile() and _wanted(member.name, labelled, unlabelled):
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


def _members(path: Path, labelled: bool, unlabelled: bool) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        return _iter_folder(path, labelled, unlabelled)
    if path.is_file():
        return _iter_archive(path, labelled, unlabelled)
    raise ImdbEdgeError(f"{path} is neither a folder nor an archive")


def _review_text(name: str, raw: bytes, skipped: list[str]) -> str | None:
    """The review's text, or None (and a line in `skipped`) for a file that is not UTF-8 or is empty."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        skipped.append(f"{name}: not UTF-8")
        return None
    if not text.strip():
        skipped.append(f"{name}: empty")
        return None
    return text


class _UnsupReader:
    """Collects train/unsup reviews and urls_unsup.txt from a stream of members."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str]] = []
        self.urls: list[bytes] | None = None
        self.skipped: list[str] = []

    def take(self, name: str, raw: bytes) -> bool:
        """True if `name` was an unlabelled member (kept here, never a labelled row)."""
        if _UNSUP_URLS.search(name):
            self.urls = raw.splitlines()
            return True
        match = _UNSUP.search(name)
        if not match:
            return False
        text = _review_text(name, raw, self.skipped)
        if text is not None:
            self.rows.append((int(match.group(1)), text))
        return True

    def result(self, source: Path) -> Unlabelled | None:
        if not self.rows:
            return None
        ordered = sorted(self.rows)
        digest = hashlib.sha256()
        for review_id, text in ordered:
            digest.update(f"train/unsup/{review_id}\n".encode())
            digest.update(hashlib.sha256(text.encode("utf-8")).digest())
        ids = np.array([row[0] for row in ordered], dtype=np.int32)
        movies = None
        if self.urls is not None and int(ids.max()) < len(self.urls):
            found = [_TITLE.search(self.urls[i]) for i in ids.tolist()]
            if all(found):
                movies = np.array([match.group(1).decode("ascii") for match in found if match])
        return Unlabelled(
            texts=[row[1] for row in ordered],
            source=str(source),
            fingerprint=digest.hexdigest(),
            ids=ids,
            movies=movies,
            skipped=sorted(self.skipped),
        )


def load_unlabelled(path: str | Path, origin: str = "--unlabelled") -> Unlabelled:
    """The train/unsup reviews of an archive or folder in the official layout (aclImdb_v1_unsup.tar.gz, the
    official aclImdb_v1.tar.gz, or its extracted folder); labelled reviews there are not read."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ImdbEdgeError(f"{origin} points at {path}, which does not exist")
    reader = _UnsupReader()
    for name, raw in _members(path, labelled=False, unlabelled=True):
        reader.take(name, raw)
    found = reader.result(path)
    if found is None:
        raise ImdbEdgeError(f"{origin}: {path} holds no unlabelled reviews; {UNSUP_HINT}")
    return found


def load_dataset(path: str | Path, unlabelled: bool = False) -> Dataset:
    """Read every labeled review from an aclImdb folder or a .tar(.gz) archive; with `unlabelled`, also its
    train/unsup reviews when it has them (Dataset.unlabelled, apart from the labelled rows)."""
    path = Path(path)
    members = _members(path, labelled=True, unlabelled=unlabelled)

    rows: dict[str, list[tuple[int, int, int, str]]] = {s: [] for s in SPLITS}
    urls: dict[tuple[str, int], list[bytes]] = {}
    skipped: list[str] = []
    unsup = _UnsupReader()
    for name, raw in members:
        if unsup.take(name, raw):
            continue
        url_match = _URLS.search(name)
        if url_match:
            urls[(url_match.group(1), LABEL_NAMES.index(url_match.group(2)))] = raw.splitlines()
            continue
        match = _MEMBER.search(name)
        if not match:
            continue
        split, label, review_id, rating = match.groups()
        text = _review_text(name, raw, skipped)
        if text is None:
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
        unlabelled=unsup.result(path),
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
