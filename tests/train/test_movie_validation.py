"""validation_groups "movie": validation reviews are about movies the model never trained on, as test reviews are."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.data.dataset import holdout_by_group, load_dataset
from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.vectorizer import VectorizerConfig
from imdb_edge.train.config import TrainConfig, config_from_dict
from imdb_edge.train.features import build_features, split_rows


def test_each_review_gets_the_movie_of_its_urls_line(imdb_folder: Path, imdb_archive: Path) -> None:
    for source in (imdb_folder, imdb_archive):
        train = load_dataset(source).train
        assert train.movies is not None and len(train.movies) == len(train)
        expected = [f"tt{1000 + i // 4:07d}" for i in train.ids]  # the fixture: 4 reviews per movie
        assert train.movies.tolist() == expected


def test_without_urls_files_there_are_no_movies(imdb_folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = shutil.copytree(imdb_folder, tmp_path / "aclImdb")
    (copy / "train" / "urls_neg.txt").unlink()
    dataset = load_dataset(copy)
    assert dataset.train.movies is None and dataset.test.movies is not None
    assert dataset.fingerprint == load_dataset(imdb_folder).fingerprint  # the reviews alone name the data
    with pytest.raises(
        ImdbEdgeError, match=r"needs the movie of each training review .*: train/urls_neg.txt is missing"
    ):
        split_rows(dataset.train, TrainConfig(validation_size=10, validation_groups="movie"))


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["http://www.imdb.com/title/tt99999999999999999999999/usercomments"] * 40, "line 1 names no IMDB title (tt"),
        (["no url here"] * 40, "line 1 names no IMDB title (tt"),
        (["http://www.imdb.com/title/tt0000001/usercomments"] * 3, "has 3 lines; review 3 needs more"),
    ],
)
def test_odd_urls_files_never_stop_a_load_and_say_what_is_wrong(
    imdb_folder: Path, tmp_path: Path, lines: list[str], reason: str
) -> None:
    import shutil

    copy = shutil.copytree(imdb_folder, tmp_path / "aclImdb")
    (copy / "train" / "urls_pos.txt").write_text("\n".join(lines) + "\n")
    dataset = load_dataset(copy)  # only movie-grouped validation needs them
    assert dataset.train.movies is None and dataset.train.movies_missing.startswith(f"train/urls_pos.txt {reason}")
    with pytest.raises(ImdbEdgeError, match=re.escape(f"train/urls_pos.txt {reason}")):
        split_rows(dataset.train, TrainConfig(validation_size=10, validation_groups="movie"))


def test_runs_record_which_movies_the_reviews_belong_to(imdb_folder: Path, tmp_path: Path) -> None:
    import shutil

    from imdb_edge.train.run import data_summary

    copy = shutil.copytree(imdb_folder, tmp_path / "aclImdb")
    urls = copy / "train" / "urls_pos.txt"
    urls.write_text(urls.read_text().replace("tt0001000", "tt0001001"))  # the same reviews, other movies
    first, regrouped = data_summary(load_dataset(imdb_folder)), data_summary(load_dataset(copy))
    assert first["fingerprint"] == regrouped["fingerprint"]
    assert None is not first["train_movies_fingerprint"] != regrouped["train_movies_fingerprint"]


def test_whole_movies_go_to_validation() -> None:
    movies = np.repeat(np.arange(50), np.arange(1, 51) % 7 + 1)  # 50 movies of 1 to 7 reviews
    fit, held_out = holdout_by_group(movies, 40, seed=3)
    assert len(fit) + len(held_out) == len(movies) and len(held_out) >= 40
    assert not set(movies[fit]) & set(movies[held_out])
    assert len(held_out) - 40 < 7  # stops at the movie that crosses the size
    again = holdout_by_group(movies, 40, seed=3)
    assert np.array_equal(again[0], fit) and np.array_equal(again[1], held_out)
    assert not np.array_equal(holdout_by_group(movies, 40, seed=4)[1], held_out)
    with pytest.raises(ImdbEdgeError, match="leaves no movie to train on"):
        holdout_by_group(np.zeros(10, dtype=np.int64), 5, seed=0)


def test_training_features_hold_out_whole_movies(imdb_archive: Path) -> None:
    dataset = load_dataset(imdb_archive)
    config = TrainConfig(architecture="bag", hidden=(), validation_size=20, validation_groups="movie")
    features = build_features(dataset, config.updated(vectorizer=VectorizerConfig(max_features=50)))
    assert features.fit_rows is not None and features.val_rows is not None and len(features.val_rows) >= 20
    movies = dataset.train.movies
    assert movies is not None and not set(movies[features.fit_rows]) & set(movies[features.val_rows])
    by_review = build_features(dataset, config.updated(validation_groups="review"))
    assert by_review.val_rows is not None and set(movies[by_review.fit_rows]) & set(movies[by_review.val_rows])


def test_unknown_grouping_is_refused() -> None:
    with pytest.raises(ImdbEdgeError, match="validation_groups must be one of review, movie"):
        config_from_dict({"validation_groups": "actor"})
