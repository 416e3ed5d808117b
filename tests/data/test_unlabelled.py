"""Unlabelled reviews (train/unsup): read when present, reported apart, never labelled rows (issue 30)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imdb_edge.data.dataset import load_dataset, load_unlabelled
from imdb_edge.data.sources import DataSpec, load_training_data
from imdb_edge.errors import ImdbEdgeError
from tests.imdb_fixture import make_imdb_archive, make_imdb_folder, make_unsup_archive

UNSUP = 30


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An aclImdb folder with train/unsup, as the official archive extracts."""
    return make_imdb_folder(tmp_path_factory.mktemp("official"), per_class=20, unsup=UNSUP)


@pytest.fixture(scope="module")
def official_archive(official: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imdb_archive(official, tmp_path_factory.mktemp("a") / "aclImdb_v1.tar.gz")


@pytest.fixture(scope="module")
def labelled_only(official: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The labelled archive: the same folder without train/unsup."""
    copy = shutil.copytree(official, tmp_path_factory.mktemp("labelled") / "aclImdb")
    shutil.rmtree(copy / "train" / "unsup")
    (copy / "train" / "urls_unsup.txt").unlink()
    return make_imdb_archive(copy, copy.parent / "aclImdb_v1_labeled.tar.gz")


@pytest.fixture(scope="module")
def unsup_archive(official: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_unsup_archive(official, tmp_path_factory.mktemp("u") / "aclImdb_v1_unsup.tar.gz")


def test_official_archive_and_folder_give_the_unlabelled_reviews_apart(
    official: Path, official_archive: Path, labelled_only: Path
) -> None:
    plain = load_dataset(labelled_only, unlabelled=True)
    assert plain.unlabelled is None
    for source in (official, official.parent, official_archive):
        dataset = load_dataset(source, unlabelled=True)
        assert dataset.unlabelled is not None and len(dataset.unlabelled) == UNSUP
        # the labelled rows are exactly those of the labelled archive: nothing mixed in
        assert dataset.fingerprint == plain.fingerprint
        assert dataset.train.texts == plain.train.texts and len(dataset.train) == 40
        assert not set(dataset.unlabelled.texts) & set(dataset.train.texts + dataset.test.texts)
    folder, archive = load_dataset(official, unlabelled=True), load_dataset(official_archive, unlabelled=True)
    assert folder.unlabelled and archive.unlabelled
    assert folder.unlabelled.fingerprint == archive.unlabelled.fingerprint
    assert folder.unlabelled.ids is not None and folder.unlabelled.ids.tolist() == list(range(UNSUP))
    assert folder.unlabelled.movies is not None and folder.unlabelled.movies[0] == "tt0009000"
    assert folder.unlabelled.summary()["reviews"] == UNSUP


def test_unlabelled_reviews_are_read_only_when_asked(official_archive: Path) -> None:
    assert load_dataset(official_archive).unlabelled is None
    assert load_training_data(DataSpec(path=str(official_archive))).unlabelled is None
    dataset = load_training_data(DataSpec(path=str(official_archive)), unlabelled_reviews=True)
    assert dataset.unlabelled is not None and dataset.summary["unlabelled"]["reviews"] == UNSUP


def test_the_labelled_archive_plus_the_unsup_archive(labelled_only: Path, unsup_archive: Path) -> None:
    spec = DataSpec(path=str(labelled_only), unlabelled=str(unsup_archive))
    dataset = load_training_data(spec, unlabelled_reviews=True)
    assert dataset.unlabelled is not None and len(dataset.unlabelled) == UNSUP
    assert dataset.summary["spec"]["unlabelled"] == str(unsup_archive.resolve())
    assert dataset.summary["unlabelled"]["source"] == str(unsup_archive)
    alone = load_unlabelled(unsup_archive)
    assert alone.fingerprint == dataset.unlabelled.fingerprint
    # without unlabelled_reviews (export reading a run's labelled rows) the path is not even opened
    moved = DataSpec(path=str(labelled_only), unlabelled=str(unsup_archive.parent / "moved.tar.gz"))
    assert load_training_data(moved).unlabelled is None


def test_a_missing_or_wrong_unlabelled_path_is_a_one_line_error(
    labelled_only: Path, tmp_path: Path, imdb_folder: Path
) -> None:
    missing = DataSpec(path=str(labelled_only), unlabelled=str(tmp_path / "nope.tar.gz"))
    with pytest.raises(ImdbEdgeError, match=r"--unlabelled points at .*nope\.tar\.gz, which does not exist"):
        load_training_data(missing, unlabelled_reviews=True)
    with pytest.raises(ImdbEdgeError, match=r"holds no unlabelled reviews; expected aclImdb/train/unsup/<id>_0\.txt"):
        load_unlabelled(labelled_only)
    with pytest.raises(ImdbEdgeError, match="holds no unlabelled reviews"):
        load_unlabelled(imdb_folder)
    not_archive = tmp_path / "notes.txt"
    not_archive.write_text("hello")
    with pytest.raises(ImdbEdgeError, match="not a readable IMDB archive"):
        load_unlabelled(not_archive)
    for error in ("does not exist", "holds no"):
        assert "\n" not in error


def test_unreadable_unlabelled_files_are_skipped_and_counted(official: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(official, tmp_path / "aclImdb")
    (copy / "train" / "unsup" / "3_0.txt").write_bytes(b"\xff\xfe bad")
    (copy / "train" / "unsup" / "4_0.txt").write_text("  ")
    found = load_unlabelled(copy)
    assert len(found) == UNSUP - 2 and len(found.skipped) == 2
    assert found.skipped[0].endswith("3_0.txt: not UTF-8")
