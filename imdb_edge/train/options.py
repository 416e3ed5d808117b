"""`imdb-edge train` options -> one TrainConfig: the profile, then a TOML file, then flags.

The CLI declares the flags; this module knows which config field each one sets, so
the command body never copies flags into a dict by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.train.config import TrainConfig, config_from_dict, load_profile, load_toml, vectorizer_table

VECTORIZER_FLAGS = {
    "max_features": "max_features",
    "ngrams": "ngram_max",
    "min_df": "min_df",
    "weighting": "weighting",
    "hash_buckets": "hash_buckets",
    "negation": "negation",
}
"""Flags that set a vectorizer field, and that field's name."""


def config_from_options(profile: str | None, config_file: Path | None, flags: Mapping[str, Any]) -> TrainConfig:
    """Layer the settings: profile < TOML file < flags given on the command line.

    `flags` may hold every parameter of the command (e.g. Click's `ctx.params`):
    only the names of TrainConfig fields and VECTORIZER_FLAGS are read, and None
    means "not given".
    """
    config = config_from_dict(load_profile(profile)) if profile else TrainConfig()
    from_file = load_toml(config_file) if config_file else {}
    file_vectorizer = vectorizer_table(from_file.get("vectorizer", {}), f"{config_file}: ")
    given = {name: value.value if isinstance(value, Enum) else value for name, value in flags.items()}
    given = {name: value for name, value in given.items() if value is not None}
    # The file and the flags are checked together: a setting one needs may come from the other.
    changes: dict[str, Any] = {**from_file, **{f.name: given[f.name] for f in fields(TrainConfig) if f.name in given}}
    vectorizer = {
        **file_vectorizer,
        **{field: given[flag] for flag, field in VECTORIZER_FLAGS.items() if flag in given},
    }
    vocabulary_flags = sorted(flag for flag in ("max_features", "min_df") if flag in given)
    if given.get("hash_buckets") and vocabulary_flags:
        raise ImdbEdgeError(
            "--max-features and --min-df choose a vocabulary, and a model with --hash-buckets has none: give one or "
            "the other"
        )
    if vectorizer:
        changes["vectorizer"] = vectorizer
    result = config_from_dict(changes, base=config)
    if result.vectorizer.hashed and vocabulary_flags:  # hashing from the profile or the file: they would do nothing
        names = " and ".join(f"--{flag.replace('_', '-')}" for flag in vocabulary_flags)
        raise ImdbEdgeError(
            f"{names} choose a vocabulary, and this model hashes n-grams (no vocabulary): add --hash-buckets 0 "
            "for a vocabulary"
        )
    return result


def summary_line(document: Mapping[str, Any], out: Path) -> str:
    """What `train` prints when it is done (without --json)."""
    m = document["metrics"]
    return (
        f"test accuracy {m['test_accuracy']:.4f}  test loss {m['test_loss']:.4f}  "
        f"epoch {m['used_epoch']} of {m['epochs_run']}  ({m['train_seconds']:.1f}s training)\n"
        f"wrote {out}"
    )
