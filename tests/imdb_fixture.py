"""A tiny dataset in the official aclImdb layout, made up so unit tests run in seconds."""

from __future__ import annotations

import random
import tarfile
from pathlib import Path

POSITIVE = ["great", "wonderful", "excellent", "loved", "masterpiece", "superb", "brilliant", "moving"]
NEGATIVE = ["awful", "boring", "terrible", "waste", "worst", "dull", "horrible", "stupid"]
NEUTRAL = ["movie", "film", "plot", "actor", "scene", "story", "the", "a", "and", "was", "it", "this"]


def make_review(rng: random.Random, positive: bool) -> str:
    mood = POSITIVE if positive else NEGATIVE
    words = [rng.choice(NEUTRAL) for _ in range(rng.randint(8, 20))]
    for _ in range(rng.randint(2, 4)):
        words.insert(rng.randrange(len(words)), rng.choice(mood))
    text = " ".join(words).capitalize()
    return f"{text}.<br /><br />Café Überraschung, {rng.choice(mood).upper()}!"


def make_imdb_folder(root: Path, per_class: int = 40, seed: int = 0, unsup: int = 0) -> Path:
    """Write root/aclImdb with `per_class` reviews in each of train/test x pos/neg, and `unsup` unlabelled
    reviews in train/unsup (<id>_0.txt, half of them positive in tone; movies of their own in urls_unsup.txt)."""
    rng = random.Random(seed)
    base = root / "aclImdb"
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = base / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for review_id in range(per_class):
                rating = rng.randint(7, 10) if label == "pos" else rng.randint(1, 4)
                text = make_review(rng, label == "pos")
                (folder / f"{review_id}_{rating}.txt").write_text(text, encoding="utf-8")
            # line `id` names the review's movie: 4 reviews per movie, as the official urls files do
            titles = [f"http://www.imdb.com/title/tt{1000 + i // 4:07d}/usercomments\n" for i in range(per_class)]
            (base / split / f"urls_{label}.txt").write_text("".join(titles), encoding="ascii")
    if unsup:
        make_unsup_reviews(base, unsup, seed)
    (base / "README").write_text("synthetic test fixture\n")
    return base


def make_unsup_reviews(base: Path, count: int, seed: int = 0) -> Path:
    """Write base/train/unsup/<id>_0.txt for ids 0..count-1 and base/train/urls_unsup.txt (movies 9000+)."""
    rng = random.Random(seed + 1)
    folder = base / "train" / "unsup"
    folder.mkdir(parents=True, exist_ok=True)
    for review_id in range(count):
        (folder / f"{review_id}_0.txt").write_text(make_review(rng, review_id % 2 == 0), encoding="utf-8")
    titles = [f"http://www.imdb.com/title/tt{9000 + i // 4:07d}/usercomments\n" for i in range(count)]
    (base / "train" / "urls_unsup.txt").write_text("".join(titles), encoding="ascii")
    return folder


def make_unsup_archive(folder: Path, archive: Path) -> Path:
    """Pack only aclImdb/train/unsup and urls_unsup.txt of an aclImdb folder, as aclImdb_v1_unsup.tar.gz is."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "train" / "unsup", arcname="aclImdb/train/unsup")
        tar.add(folder / "train" / "urls_unsup.txt", arcname="aclImdb/train/urls_unsup.txt")
    return archive


def make_imdb_archive(folder: Path, archive: Path) -> Path:
    """Pack an aclImdb folder the way the official .tar.gz is packed."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="aclImdb")
    return archive


TOPICS = {
    "billing": ["invoice", "refund", "charged", "payment", "price", "receipt"],
    "bug": ["crash", "error", "broken", "freezes", "bug", "fails"],
    "praise": ["love", "thanks", "great", "awesome", "helpful", "perfect"],
}
"""Three labels of made-up support tickets, each with words of its own, for own-data and multi-label tests."""


def make_ticket(rng: random.Random, label: str) -> str:
    words = [rng.choice(NEUTRAL) for _ in range(rng.randint(6, 14))]
    for _ in range(rng.randint(2, 4)):
        words.insert(rng.randrange(len(words)), rng.choice(TOPICS[label]))
    return " ".join(words).capitalize() + "."


def ticket_rows(count: int, seed: int = 0, labels: tuple[str, ...] = tuple(TOPICS)) -> list[tuple[str, str]]:
    """`count` (text, label) rows, labels in turn."""
    rng = random.Random(seed)
    return [(make_ticket(rng, labels[i % len(labels)]), labels[i % len(labels)]) for i in range(count)]
