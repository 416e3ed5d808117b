"""`imdb-edge train` options become one TrainConfig: profile < TOML file < flags."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from imdb_edge.train.options import config_from_options


class _Choice(str, Enum):
    adam = "adam"


def test_flags_override_the_file_which_overrides_the_profile(tmp_path: Path) -> None:
    toml = tmp_path / "settings.toml"
    toml.write_text('epochs = 7\noptimizer = "sgd"\n[vectorizer]\nmin_df = 3\n')
    flags = {
        "optimizer": _Choice.adam,  # Typer hands choices over as enum members
        "ngrams": 2,
        "max_features": 500,
        "seed": None,  # not given
        "output": tmp_path / "run",  # not a training setting
        "as_json": True,
    }
    config = config_from_options("reference", toml, flags)
    assert config.hidden == (16,)  # from the profile
    assert config.epochs == 7  # from the file
    assert config.optimizer == "adam"  # the flag beats the file
    assert (config.vectorizer.ngram_max, config.vectorizer.max_features, config.vectorizer.min_df) == (2, 500, 3)
    assert config.seed == 0


def test_no_options_give_the_defaults() -> None:
    assert config_from_options(None, None, {}) == config_from_options(None, None, {"epochs": None})


def test_vocabulary_flags_with_hash_buckets_are_refused() -> None:
    import pytest

    from imdb_edge.errors import ImdbEdgeError

    config = config_from_options(None, None, {"hash_buckets": 1000, "architecture": "bag"})
    assert config.vectorizer.hash_buckets == 1000
    for flag in ("max_features", "min_df"):
        with pytest.raises(ImdbEdgeError, match="--hash-buckets has none"):
            config_from_options(None, None, {"hash_buckets": 1000, "architecture": "bag", flag: 5})
