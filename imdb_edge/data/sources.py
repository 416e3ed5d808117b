"""Where training data comes from: the IMDB archive, or a user's own labelled file(s), as one Dataset.

`DataSpec` says where and how to read it (the --data path, its columns, where the test and
validation rows come from); it is recorded in the run's metrics.json, so `export` reads
the very same test rows, and `evaluate` the same file.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from imdb_edge.choices import DEFAULT_TEST_SIZE
from imdb_edge.data.dataset import Dataset, Split, load_dataset, load_unlabelled, resolve_data_path
from imdb_edge.data.labelled import LabelledRows, file_format, natural_order, read_labelled
from imdb_edge.errors import ImdbEdgeError

DEFAULT_SPLIT_SEED = 2026
IMBALANCE_WARNING = 3.0
"""A label this many times more common than another is worth a word (and --class-weight balanced)."""


@dataclass(frozen=True)
class DataSpec:
    """Where the data is and how to read it (the train/sweep/export --data options)."""

    path: str | None = None
    """--data: an IMDB archive or folder, a .csv/.tsv/.jsonl file, or a folder of label sub-folders; None:
    $IMDB_EDGE_DATA, the cache, or a verified download of the IMDB archive."""
    text_column: str = "text"
    label_column: str = "label"
    validation: str | None = None
    """A file of validation rows (else they are held out of the training rows, as the config says)."""
    test: str | None = None
    """A file of test rows (else `test_size` of the rows are held out)."""
    test_size: float = DEFAULT_TEST_SIZE
    """Rows held out for test when there is no test file: a fraction in (0, 1), or a count (>= 1)."""
    split_seed: int = DEFAULT_SPLIT_SEED
    unlabelled: str | None = None
    """--unlabelled: an archive or folder holding train/unsup reviews (aclImdb_v1_unsup.tar.gz); None: those of
    --data, if it has them."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: Any) -> DataSpec:
        """The spec a run recorded (older runs recorded none: the IMDB data found as `train` finds it)."""
        if not isinstance(document, dict):
            return cls()
        known = {name: document[name] for name in cls.__dataclass_fields__ if name in document}
        return cls(**known)


def is_imdb(path: Path) -> bool:
    """The IMDB archive (any .tar, possibly compressed) or its extracted aclImdb folder."""
    if path.is_dir():
        return (path / "train" / "pos").is_dir() or (path / "aclImdb" / "train" / "pos").is_dir()
    return file_format(path) is None


def load_training_data(spec: DataSpec, allow_download: bool = True, unlabelled_reviews: bool = False) -> Dataset:
    """The Dataset `spec` names: the IMDB archive's train and test splits, or a user's labelled rows.

    unlabelled_reviews: also read unlabelled reviews (Dataset.unlabelled), from spec.unlabelled, else from the
    archive's train/unsup if it has them (without it, spec.unlabelled is not read at all: export reads the
    labelled rows of a run again, wherever its unlabelled reviews are now).
    """
    path = resolve_data_path(spec.path, allow_download=allow_download)
    # a bad --unlabelled fails before the labelled reviews are read
    unlabelled = load_unlabelled(spec.unlabelled) if spec.unlabelled and unlabelled_reviews else None
    if unlabelled is not None:
        spec = replace(spec, unlabelled=str(Path(spec.unlabelled or "").expanduser().resolve()))
    if is_imdb(path):
        if spec.validation or spec.test:
            raise ImdbEdgeError("--validation and --test name files of your own; the IMDB archive has its test split")
        dataset = load_dataset(path, unlabelled=unlabelled_reviews and unlabelled is None)
        dataset.summary = {"kind": "imdb", "spec": replace(spec, path=str(path.resolve())).to_dict()}
    else:
        absolute = {
            name: str(Path(value).resolve()) for name in ("validation", "test") if (value := getattr(spec, name))
        }
        dataset = _labelled_dataset(path, replace(spec, path=str(path.resolve()), **absolute))
    if unlabelled is not None:
        dataset.unlabelled = unlabelled
    if dataset.unlabelled is not None:
        dataset.summary["unlabelled"] = dataset.unlabelled.summary()
    return dataset


def _labelled_dataset(path: Path, spec: DataSpec) -> Dataset:
    train_rows = read_labelled(path, spec.text_column, spec.label_column)
    labels = natural_order(sorted(set(train_rows.labels)))
    if len(labels) < 2:
        found = f"only {labels[0]!r}" if labels else "none"
        raise ImdbEdgeError(f"{path}: a classifier needs at least two labels, and the usable rows have {found}")
    index = {label: i for i, label in enumerate(labels)}
    bad = train_rows.bad
    if spec.test:
        test_rows = _known(read_labelled(Path(spec.test), spec.text_column, spec.label_column), index)
        bad.merge(test_rows.bad)
        train_part, test_from = train_rows, spec.test
    else:
        train_part, test_rows, test_from = _hold_out_test(train_rows, spec)
    validation = None
    train_texts, train_labels = list(train_part.texts), list(train_part.labels)
    if spec.validation:
        validation_rows = _known(read_labelled(Path(spec.validation), spec.text_column, spec.label_column), index)
        bad.merge(validation_rows.bad)
        validation = np.arange(len(train_texts), len(train_texts) + len(validation_rows.texts))
        train_texts += validation_rows.texts
        train_labels += validation_rows.labels
    train = Split(train_texts, np.array([index[x] for x in train_labels], dtype=np.int32), validation=validation)
    test = Split(test_rows.texts, np.array([index[x] for x in test_rows.labels], dtype=np.int32))
    for name, split in (("training", train), ("test", test)):
        if len(split) == 0:
            raise ImdbEdgeError(f"{path}: no usable {name} rows are left ({bad.count} bad rows)")
    counts = {name: _counts(split, labels) for name, split in (("train", train), ("test", test))}
    present = [count for count in counts["train"].values() if count]
    summary = {
        "kind": "labelled",
        "format": file_format(path),
        "labels": list(labels),
        "label_counts": counts,
        "imbalance": round(max(present) / min(present), 3),
        "test_from": test_from,
        "validation_from": spec.validation,
        "bad_rows": bad.to_dict(),
        "spec": spec.to_dict(),
    }
    return Dataset(
        train=train,
        test=test,
        source=str(path),
        fingerprint=_fingerprint(labels, train, test),
        skipped=bad.examples,
        labels=tuple(labels),
        summary=summary,
    )


def _known(rows: LabelledRows, index: dict[str, int]) -> LabelledRows:
    """`rows` without those whose label the training rows never have (each a bad row)."""
    kept = LabelledRows(rows.source, bad=rows.bad)
    for number, (text, label) in enumerate(zip(rows.texts, rows.labels, strict=True)):
        if label in index:
            kept.texts.append(text)
            kept.labels.append(label)
        else:
            kept.bad.add(f"{Path(rows.source).name} row {number + 1}", f"label {label!r} is not in the training rows")
    return kept


def _hold_out_test(rows: LabelledRows, spec: DataSpec) -> tuple[LabelledRows, LabelledRows, str]:
    """(training rows, test rows, how): `test_size` of the rows at random (seeded), each part in file order."""
    n = len(rows.texts)
    size = round(spec.test_size * n) if 0 < spec.test_size < 1 else int(spec.test_size)
    if not 1 <= size < n:
        raise ImdbEdgeError(
            f"{rows.source}: a test set of {spec.test_size} leaves {n - size} of {n} rows to train on: give another "
            "--test-size (a fraction like 0.2, or a count) or a --test file"
        )
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(spec.split_seed).permutation(n)[:size]] = True
    parts = [LabelledRows(rows.source, bad=rows.bad), LabelledRows(rows.source)]
    for text, label, is_test in zip(rows.texts, rows.labels, held, strict=True):
        parts[int(is_test)].texts.append(text)
        parts[int(is_test)].labels.append(label)
    return parts[0], parts[1], f"{size} rows held out at random (seed {spec.split_seed})"


def _counts(split: Split, labels: list[str]) -> dict[str, int]:
    found = Counter(split.labels.tolist())
    return {label: found.get(i, 0) for i, label in enumerate(labels)}


def _fingerprint(labels: list[str], train: Split, test: Split) -> str:
    digest = hashlib.sha256("\0".join(labels).encode("utf-8"))
    for name, split in (("train", train), ("test", test)):
        for text, label in zip(split.texts, split.labels.tolist(), strict=True):
            digest.update(f"{name}\0{label}\0".encode())
            digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()
