from __future__ import annotations

from pathlib import Path

import pytest

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.train.config import TrainConfig, config_from_dict, load_toml, parse_hidden


@pytest.mark.parametrize(
    ("value", "expected"),
    [("16", (16,)), ("16,32", (16, 32)), (" 8, 16 ", (8, 16)), ([4, 4], (4, 4)), ("none", ())],
)
def test_parse_hidden(value: object, expected: tuple[int, ...]) -> None:
    assert parse_hidden(value) == expected  # type: ignore[arg-type]


def test_parse_hidden_rejects_words() -> None:
    with pytest.raises(ImdbEdgeError, match="integers"):
        parse_hidden("sixteen")


def test_overlay_keeps_base_and_ignores_none() -> None:
    base = TrainConfig(epochs=7)
    merged = config_from_dict({"hidden": "32", "seed": None, "vectorizer": {"ngram_max": 2}}, base=base)
    assert merged.hidden == (32,) and merged.epochs == 7 and merged.seed == 0
    assert merged.vectorizer.ngram_max == 2 and merged.vectorizer.max_features == 10_000


@pytest.mark.parametrize(
    "changes",
    [{"optimizer": "lbfgs"}, {"loss": "hinge"}, {"epochs": 0}, {"hidden": [16, -1]}, {"dropout": 1.5}, {"nope": 1}],
)
def test_invalid_settings_are_refused(changes: dict) -> None:
    with pytest.raises(ImdbEdgeError):
        config_from_dict(changes)


def test_toml_config_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('hidden = [16]\nepochs = 4\nloss = "mse"\n[vectorizer]\nmax_features = 500\n')
    config = config_from_dict(load_toml(good))
    assert (config.hidden, config.epochs, config.loss, config.vectorizer.max_features) == ((16,), 4, "mse", 500)
    bad = tmp_path / "bad.toml"
    bad.write_text("hidden = [16\n")
    with pytest.raises(ImdbEdgeError, match="not valid TOML"):
        load_toml(bad)
    with pytest.raises(ImdbEdgeError, match="does not exist"):
        load_toml(tmp_path / "missing.toml")


def test_to_dict_round_trips() -> None:
    config = TrainConfig(hidden=(8, 4), loss="mse", learning_rate=0.01)
    assert config_from_dict(config.to_dict()) == config


def test_profiles_are_shipped_and_valid() -> None:
    from imdb_edge.train.config import load_profile, profile_names

    assert "reference" in profile_names()
    for name in profile_names():
        config = config_from_dict(load_profile(name))  # raises on any invalid setting
        assert config_from_dict(config.to_dict()) == config, f"profile {name} does not survive metrics.json"
    reference = config_from_dict(load_profile("reference"))
    assert (reference.hidden, reference.epochs, reference.vectorizer.max_features) == ((16,), 4, 10_000)
    with pytest.raises(ImdbEdgeError, match="unknown profile"):
        load_profile("nope")


def test_sweep_runs_can_name_a_profile(tmp_path: Path) -> None:
    from imdb_edge.train.sweep import load_plan

    grid = tmp_path / "grid.toml"
    grid.write_text('seeds = [0]\n[[runs]]\nname = "r"\nprofile = "best"\nepochs = 3\n')
    config = load_plan(grid).runs[0].config
    assert config.architecture == "bag" and config.vectorizer.ngram_max == 3 and config.epochs == 3
    grid.write_text('[[runs]]\nname = "r"\nprofile = "nope"\n')
    with pytest.raises(ImdbEdgeError, match="unknown profile"):
        load_plan(grid)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('epochs = "4"', "epochs must be a whole number, got '4' (str)"),
        ("learning_rate = true", "learning_rate must be a number or none, got True (bool)"),
        ('early_stopping = "yes"', "early_stopping must be true or false, got 'yes' (str)"),
        ('[vectorizer]\nmax_features = "10k"', "max_features must be a whole number, got '10k' (str)"),
        ("[vectorizer]\nngram_max = 2.5", "ngram_max must be a whole number, got 2.5 (float)"),
    ],
)
def test_settings_of_the_wrong_type_are_named_in_one_line(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ImdbEdgeError) as caught:
        config_from_dict(load_toml(path))
    assert str(caught.value) == message


def test_a_float_setting_accepts_a_whole_number(tmp_path: Path) -> None:
    assert config_from_dict({"dropout": 0, "learning_rate": 1}).learning_rate == 1


def test_sweep_rows_are_reused_only_for_unchanged_settings(tmp_path: Path) -> None:
    from imdb_edge.train.sweep import load_plan, summarize

    grid = tmp_path / "grid.toml"
    grid.write_text('seeds = [0]\n[[runs]]\nname = "r"\nhidden = [8]\nepochs = 3\n')
    old_plan = load_plan(grid)
    old_row = {
        "name": "r",
        "seed": 0,
        "validation_only": False,
        "config": old_plan.runs[0].config.updated(seed=0).to_dict(),  # as the sweep writes it
        "test_accuracy": 0.9,
        "test_loss": 0.3,
        "val_accuracy": 0.9,
        "val_loss": 0.3,
        "best_epoch": 3,
        "train_seconds": 1.0,
    }
    assert summarize(old_plan, [old_row])[0]["seeds"] == 1
    grid.write_text('seeds = [0]\n[[runs]]\nname = "r"\nhidden = [8]\nepochs = 4\n')  # edited: one more epoch
    assert summarize(load_plan(grid), [old_row])[0]["seeds"] == 0
    assert summarize(old_plan, [old_row], validation_only=True)[0]["seeds"] == 0  # test was evaluated there


def test_sweep_table_names_the_activations_a_model_really_has(tmp_path: Path) -> None:
    from imdb_edge.train.sweep import load_plan, summarize

    grid = tmp_path / "grid.toml"
    runs = '[[runs]]\nname = "linear"\narchitecture = "bag"\nhidden = []\n[[runs]]\nname = "mlp"\n'
    grid.write_text("seeds = [0]\n" + runs)
    linear, mlp = summarize(load_plan(grid), [])
    assert linear["activation"] == "sigmoid" and mlp["activation"] == "relu, sigmoid"


def test_seed_splits_refuse_a_fixed_split_seed(tmp_path: Path) -> None:
    from imdb_edge.train.sweep import load_plan

    grid = tmp_path / "grid.toml"
    grid.write_text('seed_splits = true\n[[runs]]\nname = "a"\nsplit_seed = 7\n')
    with pytest.raises(ImdbEdgeError, match="seed_splits = true sets each run's split_seed to its seed"):
        load_plan(grid)
    grid.write_text('seed_splits = true\nseeds = [4, 5]\n[[runs]]\nname = "a"\n')
    plan = load_plan(grid)
    assert [plan.seed_config(plan.runs[0], seed).split_seed for seed in plan.seeds] == [4, 5]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("seeds = 3\n", "seeds must be a list of whole numbers"),
        ('seeds = ["a"]\n', "seeds must be a list of whole numbers"),
        ("seeds = [1.7]\n", "seeds must be a list of whole numbers"),
        ("seeds = [true]\n", "seeds must be a list of whole numbers"),
        ("seeds = [-1]\n", "seeds must be a list of whole numbers"),
        ("seeds = [1, 1]\n", "seeds repeat"),
        ('seed_splits = "yes"\n', "seed_splits must be true or false, got 'yes'"),
        ("[defaults]\nseed_splits = true\n", "seed_splits belongs at the top of the file, not in \\[defaults\\]"),
        ("[defaults]\nepochs = 0\n", "grid.toml, \\[defaults\\]: epochs must be >= 1"),
    ],
)
def test_bad_sweep_plans_are_refused_in_one_line(tmp_path: Path, toml: str, message: str) -> None:
    from imdb_edge.train.sweep import load_plan

    grid = tmp_path / "grid.toml"
    grid.write_text(toml + '[[runs]]\nname = "a"\n')
    with pytest.raises(ImdbEdgeError, match=message):
        load_plan(grid)


def test_a_result_after_a_cut_line_starts_a_line_of_its_own(tmp_path: Path) -> None:
    from imdb_edge.train.sweep import _append_row, read_results

    results = tmp_path / "results.jsonl"
    results.write_text('{"name": "a", "seed": 0}\n{}\nnull\n[1]\n{"name": "a", "se')  # junk, then a cut line
    _append_row(results, {"name": "a", "seed": 1})
    _append_row(results, {"name": "a", "seed": 2})
    assert [row["seed"] for row in read_results(results)] == [0, 1, 2]
