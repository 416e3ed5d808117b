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


def test_the_file_and_the_flags_are_checked_together(tmp_path: Path) -> None:
    """A file asking for hashed n-grams is valid once the flag gives the architecture that needs."""
    toml = tmp_path / "hashed.toml"
    toml.write_text("[vectorizer]\nhash_buckets = 4096\n")
    config = config_from_options(None, toml, {"architecture": "bag"})
    assert config.architecture == "bag" and config.vectorizer.hash_buckets == 4096


def test_vocabulary_flags_on_a_hashed_profile_are_refused_not_ignored() -> None:
    import pytest

    from imdb_edge.errors import ImdbEdgeError

    with pytest.raises(ImdbEdgeError, match="--max-features choose a vocabulary, and this model hashes n-grams"):
        config_from_options("hashed", None, {"max_features": 50})
    assert config_from_options("hashed", None, {"max_features": 50, "hash_buckets": 0}).vectorizer.max_features == 50


def test_bad_shapes_and_seeds_are_one_line_errors(tmp_path: Path) -> None:
    import pytest

    from imdb_edge.errors import ImdbEdgeError

    toml = tmp_path / "bad.toml"
    toml.write_text('vectorizer = "neg"\n')
    with pytest.raises(ImdbEdgeError, match="vectorizer must be a table"):
        config_from_options(None, toml, {})
    with pytest.raises(ImdbEdgeError, match="seed must be between 0 and 2\\*\\*32 - 1, got -1"):
        config_from_options(None, None, {"seed": -1})
    with pytest.raises(ImdbEdgeError, match="split_seed must be between"):
        config_from_options(None, None, {"split_seed": -5})
