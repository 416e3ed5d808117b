"""What "one review" means in every speed figure: `imdb-edge bench` and benchmarks/peers.py use this.

A figure per review is only comparable when the texts are: a pool of `POOL_SIZE` real
IMDB test reviews drawn at random (seed 0) from the test split of the data, or, with no
data at hand, the 256 real test reviews shipped with the package. Cases cycle through
the whole pool in a fixed order, so a p50 is taken over hundreds of different texts of
every length, not over the same few.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imdb_edge.data.dataset import ENV_DATA, resolve_data_path
from imdb_edge.data.reviews import SAMPLE_SOURCE, load_test_reviews, sample_reviews
from imdb_edge.data.short_texts import first_sentence
from imdb_edge.errors import ImdbEdgeError

POOL_SIZE = 500
"""Reviews in a pool drawn from the data's test split (peers.py has drawn 500 since its first run)."""
POOL_SEED = 0
FULL, FIRST_SENTENCE = "full", "first-sentence"
TEXT_KINDS = {FULL: "full reviews", FIRST_SENTENCE: "first sentences"}
"""What a case times of each pool review (bench --text): the whole review, or its first sentence (what a
user types: `imdb-edge classify "..."`); a figure per review means little without saying which (issue 29)."""


@dataclass(frozen=True)
class ReviewPool:
    """The texts a benchmark times, with where they came from and how they were chosen."""

    texts: list[str]
    source: str
    """The data path, or "shipped sample"."""
    of: int
    """How many test reviews the pool was drawn from."""

    def describe(self) -> dict[str, Any]:
        """The pool as a report records it: enough to say what the text was."""
        chars = np.array([len(t) for t in self.texts])
        return {
            "reviews": len(self.texts),
            "source": self.source,
            "drawn_from": self.of,
            "seed": POOL_SEED,
            "mean_chars": float(chars.mean()),
            "median_chars": float(np.median(chars)),
            "min_chars": int(chars.min()),
            "max_chars": int(chars.max()),
        }


def describe_pool(pool: dict[str, Any]) -> str:
    """One line for people, e.g. '500 random test reviews (of 25,000) of PATH: mean 1,260 characters, ...'."""
    if pool["source"] == SAMPLE_SOURCE:
        which = f"the {pool['reviews']:,} shipped sample reviews (real test reviews)"
    elif pool["reviews"] < pool["drawn_from"]:
        which = f"{pool['reviews']:,} random test reviews (of {pool['drawn_from']:,}) of {pool['source']}"
    else:
        which = f"all {pool['reviews']:,} test reviews of {pool['source']}"
    return (
        f"{which}: mean {pool['mean_chars']:,.0f} characters, median {pool['median_chars']:,.0f}, "
        f"{pool['min_chars']:,}-{pool['max_chars']:,}"
    )


def bench_data(data: str | Path | None) -> Path | None:
    """The dataset to time on: `--data`, else $IMDB_EDGE_DATA, else the user cache's copy; None: the shipped
    sample. Never downloads (a benchmark must not start a 84 MB download), and a named path that does not
    exist is an error, not a silent fall-back to the sample."""
    if data is not None or os.environ.get(ENV_DATA):
        return resolve_data_path(data, allow_download=False)
    try:
        return resolve_data_path(None, allow_download=False)
    except ImdbEdgeError:
        return None  # no data anywhere: the shipped sample


def draw_pool(texts: list[str], source: str, size: int = POOL_SIZE) -> ReviewPool:
    """`size` reviews of `texts` drawn at random with the fixed seed (all of them when there are fewer)."""
    if size < 1:
        raise ImdbEdgeError(f"a pool needs at least one review, got {size}")
    if not texts:
        raise ImdbEdgeError(f"{source} has no test reviews to time")
    order = np.random.default_rng(POOL_SEED).permutation(len(texts))[:size]
    return ReviewPool([texts[i] for i in order], source, len(texts))


def review_pool(data: str | Path | None, size: int = POOL_SIZE) -> ReviewPool:
    """The pool `bench` times: from the data's test split when there is data (bench_data), else the sample."""
    path = bench_data(data)
    if path is None:
        return draw_pool(sample_reviews(), SAMPLE_SOURCE, size)
    return draw_pool(load_test_reviews(path), str(path), size)


def texts_of(texts: list[str], kind: str) -> list[str]:
    """The pool's texts as a case of `kind` times them: the reviews, or each one's first sentence (its whole text
    when it has no words)."""
    if kind == FULL:
        return texts
    if kind == FIRST_SENTENCE:
        return [first_sentence(text) or text for text in texts]
    raise ImdbEdgeError(f"text kinds are {', '.join(TEXT_KINDS)}, got {kind!r}")


def mean_chars(texts: list[str]) -> float:
    return float(np.mean([len(text) for text in texts]))


def batches(texts: list[str], size: int) -> list[list[str]]:
    """Consecutive batches of `size` texts, wrapping around, until every text is in one: a case cycles through
    the whole pool (batch 1: each review in turn)."""
    count = max(1, -(-len(texts) // size))
    return [[texts[(start * size + i) % len(texts)] for i in range(size)] for start in range(count)]
