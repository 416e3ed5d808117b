from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from imdb_edge.data import dataset as data_module
from imdb_edge.data.dataset import holdout_split, load_dataset, resolve_data_path
from imdb_edge.data.download import download_archive, sha256_file
from imdb_edge.errors import ImdbEdgeError


def test_folder_and_archive_give_the_same_dataset(imdb_folder: Path, imdb_archive: Path) -> None:
    from_folder = load_dataset(imdb_folder)
    from_parent = load_dataset(imdb_folder.parent)
    from_archive = load_dataset(imdb_archive)
    assert len(from_folder.train) == len(from_folder.test) == 80
    assert from_folder.fingerprint == from_archive.fingerprint == from_parent.fingerprint
    assert from_folder.train.texts == from_archive.train.texts
    np.testing.assert_array_equal(from_folder.test.labels, from_archive.test.labels)


def test_labels_and_ratings_follow_the_folders(imdb_folder: Path) -> None:
    dataset = load_dataset(imdb_folder)
    labels, ratings = dataset.train.labels, dataset.train.ratings
    assert set(np.unique(labels)) == {0, 1}
    assert (ratings[labels == 1] >= 7).all() and (ratings[labels == 0] <= 4).all()
    assert (labels == 1).sum() == (labels == 0).sum() == 40


def test_missing_path_is_a_clear_error(no_data_env: Path) -> None:
    with pytest.raises(ImdbEdgeError, match="does not exist"):
        resolve_data_path("/nonexistent/aclImdb")


def test_env_var_is_used_when_no_flag(monkeypatch: pytest.MonkeyPatch, imdb_archive: Path) -> None:
    monkeypatch.setenv("IMDB_EDGE_DATA", str(imdb_archive))
    assert resolve_data_path(None) == imdb_archive


def test_cache_is_used_before_download(no_data_env: Path, imdb_folder: Path) -> None:
    shutil.copytree(imdb_folder, no_data_env / "aclImdb")
    assert resolve_data_path(None) == no_data_env / "aclImdb"


def test_an_archive_cut_anywhere_is_a_clear_error_never_fewer_reviews(imdb_archive: Path, tmp_path: Path) -> None:
    """tarfile alone ends quietly where a cut falls between two members (it did: 143 reviews loaded)."""
    data = imdb_archive.read_bytes()
    for cut in range(len(data) // 40, len(data), len(data) // 40):
        broken = tmp_path / f"cut-{cut}.tar.gz"
        broken.write_bytes(data[:cut])
        with pytest.raises(ImdbEdgeError, match="truncated or corrupt"):
            load_dataset(broken)


def _plain_tar(folder: Path, path: Path) -> bytes:
    with tarfile.open(path, "w") as tar:
        tar.add(folder, arcname="aclImdb")
    return path.read_bytes()


def test_a_plain_tar_cut_between_members_is_refused(imdb_folder: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole.tar"
    data = _plain_tar(imdb_folder, whole)
    reference = load_dataset(imdb_folder)
    assert load_dataset(whole).fingerprint == reference.fingerprint
    with tarfile.open(whole) as tar:
        last = tar.getmembers()[-1]
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: last.offset])  # exactly at the last member's header: no error from tarfile
    with pytest.raises(ImdbEdgeError, match="truncated or corrupt"):
        load_dataset(cut)


@pytest.mark.parametrize("compression", ["bz2", "xz"])
def test_bzip2_and_xz_archives_load_like_the_folder(imdb_folder: Path, tmp_path: Path, compression: str) -> None:
    path = tmp_path / f"aclImdb.tar.{compression}"
    with tarfile.open(path, f"w:{compression}") as tar:
        tar.add(imdb_folder, arcname="aclImdb")
    assert load_dataset(path).fingerprint == load_dataset(imdb_folder).fingerprint
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ImdbEdgeError, match="truncated or corrupt"):
        load_dataset(path)


def test_not_an_archive_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a tarball at all" * 100)
    with pytest.raises(ImdbEdgeError, match="not a readable IMDB archive"):
        load_dataset(junk)


def test_wrong_layout_names_the_missing_folder(imdb_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "aclImdb"
    shutil.copytree(imdb_folder, copy)
    shutil.rmtree(copy / "test" / "neg")
    with pytest.raises(ImdbEdgeError, match="test/neg"):
        load_dataset(copy)


def test_unreadable_reviews_are_skipped_and_counted(imdb_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "aclImdb"
    shutil.copytree(imdb_folder, copy)
    (copy / "train" / "pos" / "900_9.txt").write_bytes(b"\xff\xfe not utf-8 \xc3")
    (copy / "train" / "neg" / "901_1.txt").write_bytes(b"   \n")
    dataset = load_dataset(copy)
    assert len(dataset.train) == 80
    assert len(dataset.skipped) == 2
    assert any("not UTF-8" in s for s in dataset.skipped) and any("empty" in s for s in dataset.skipped)


def test_offline_download_names_the_env_var(no_data_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_module, "cache_dir", lambda: no_data_env)
    from imdb_edge.data import download

    monkeypatch.setattr(download, "OFFICIAL_URL", "http://127.0.0.1:9/aclImdb_v1.tar.gz")
    monkeypatch.setattr(
        download, "download_archive", lambda dest: download_archive(dest, url=download.OFFICIAL_URL, timeout=5)
    )
    with pytest.raises(ImdbEdgeError, match="IMDB_EDGE_DATA"):
        resolve_data_path(None)
    assert not list(no_data_env.glob("*.tar.gz")), "a failed download must not leave a file behind"


def test_download_verifies_the_checksum(imdb_archive: Path, tmp_path: Path) -> None:
    url = imdb_archive.as_uri()
    good = download_archive(tmp_path / "ok.tar.gz", url=url, sha256=sha256_file(imdb_archive), show_progress=False)
    assert good.read_bytes() == imdb_archive.read_bytes()
    with pytest.raises(ImdbEdgeError, match="sha256"):
        download_archive(tmp_path / "bad.tar.gz", url=url, sha256="0" * 64, show_progress=False)
    assert not (tmp_path / "bad.tar.gz").exists()


def test_holdout_split_is_a_seeded_partition() -> None:
    fit, val = holdout_split(100, 30, seed=5)
    assert len(val) == 30 and len(fit) == 70
    assert sorted(np.concatenate([fit, val]).tolist()) == list(range(100))
    _, again_val = holdout_split(100, 30, seed=5)
    np.testing.assert_array_equal(val, again_val)
    with pytest.raises(ImdbEdgeError):
        holdout_split(100, 100, seed=0)
