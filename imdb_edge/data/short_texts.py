"""Short pieces of reviews: what users type, made from the labelled reviews.

Each review gives its first sentence, its first 20 words and its last 30 words,
labelled like the review. Selection reports validation accuracy on them next to the
full reviews (sweep), and benchmarks/short_reviews.py does the same on the test
reviews with exported models, so a model choice cannot trade short-text accuracy
away silently. Pure Python: the benchmark runs without TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_MARKUP = re.compile(r"<[^>]{0,20}>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def plain_words(text: str) -> list[str]:
    """Whitespace words of `text` with HTML markup (IMDB's `<br />`) removed."""
    return _MARKUP.sub(" ", text).split()


def first_sentence(text: str) -> str:
    """Up to the first `.`, `!` or `?` followed by a space (or the whole text)."""
    return _SENTENCE_END.split(" ".join(plain_words(text)), maxsplit=1)[0]


def first_words(text: str, count: int = 20) -> str:
    return " ".join(plain_words(text)[:count])


def last_words(text: str, count: int = 30) -> str:
    return " ".join(plain_words(text)[-count:])


PIECES: dict[str, Callable[[str], str]] = {
    "first sentence": first_sentence,
    "first 20 words": first_words,
    "last 30 words": last_words,
}


def review_pieces(texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """Every piece of every review, grouped by kind: (pieces, kind of each piece)."""
    pieces: list[str] = []
    kinds: list[str] = []
    for name, make in PIECES.items():
        pieces.extend(make(text) for text in texts)
        kinds.extend([name] * len(texts))
    return pieces, kinds
