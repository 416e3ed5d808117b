"""A minimal perfect hash of 64-bit term keys that an ONNX graph can evaluate with a few integer operators.

The text_fast graph must find a review's n-grams among 200,000 terms without a lookup
structure that onnxruntime builds when a session starts: a LabelEncoder of that size
takes 11-17 ms to create (its hash map), ten times a token-id model's whole session.
A hash-and-displace table is plain arrays instead, read as they are:

    bucket = key AND (r - 1);  slot = ((key >> log2 r) + displacement[bucket]) mod m

`m` is the number of keys (every slot holds one: the table is a permutation of them),
`r` a power of two near a quarter of it (bit operations instead of two 64-bit
divisions). The graph gathers the key stored at `slot` and compares:
equal means the n-gram is the term of that slot, anything else is not a term.
Building is a greedy search per bucket, largest buckets first; one-key buckets take
the free slots directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imdb_edge.export.errors import ExportError

KEYS_PER_BUCKET = 4
_CANDIDATES = 512  # displacements tried per numpy step


@dataclass(frozen=True)
class PerfectHash:
    buckets: int
    displacements: np.ndarray
    """int32 [buckets]."""
    order: np.ndarray
    """order[slot] = the index of the key stored in that slot."""

    @property
    def slots(self) -> int:
        return int(self.order.size)


def slot_of(keys: np.ndarray, buckets: int, displacements: np.ndarray, slots: int) -> np.ndarray:
    """Each key's slot, with the graph's arithmetic (uint64; nothing here wraps)."""
    keys = np.asarray(keys, dtype=np.uint64)
    bits = np.uint64(buckets.bit_length() - 1)
    shift = displacements.astype(np.uint64)[(keys & np.uint64(buckets - 1)).astype(np.int64)]
    return (((keys >> bits) + shift) % np.uint64(slots)).astype(np.int64)


def build(keys: np.ndarray) -> PerfectHash:
    """A table for `keys` (distinct uint64); raises ExportError when two keys cannot be told apart."""
    keys = np.asarray(keys, dtype=np.uint64)
    m = keys.size
    if m == 0 or np.unique(keys).size != m:
        raise ExportError("the term keys are empty or not distinct")
    bits = max(1, (m // KEYS_PER_BUCKET).bit_length() - 1)  # >= 1: key >> bits never wraps when added to
    for buckets in (2**bits, 2 ** (bits + 1), 2 ** (bits + 2)):
        table = _try_build(keys, buckets)
        if table is not None:
            return table
    raise ExportError("no perfect hash found for the terms (two keys fall in one bucket and slot)")


def _try_build(keys: np.ndarray, buckets: int) -> PerfectHash | None:
    m = keys.size
    bucket = (keys & np.uint64(buckets - 1)).astype(np.int64)
    base = ((keys >> np.uint64(buckets.bit_length() - 1)) % np.uint64(m)).astype(np.int64)
    by_bucket = np.argsort(bucket, kind="stable")
    starts = np.searchsorted(bucket[by_bucket], np.arange(buckets + 1))
    sizes = np.diff(starts)
    displacements = np.zeros(buckets, dtype=np.int64)
    taken = np.zeros(m, dtype=bool)
    order = np.full(m, -1, dtype=np.int64)
    for b in np.argsort(-sizes, kind="stable"):
        members = by_bucket[starts[b] : starts[b + 1]]
        if members.size < 2:
            break
        found = _displacement(base[members], taken, m)
        if found is None:
            return None
        slots = (base[members] + found) % m
        taken[slots], order[slots], displacements[b] = True, members, found
    singles = [b for b in range(buckets) if sizes[b] == 1]
    free = np.flatnonzero(~taken)
    for b, slot in zip(singles, free, strict=False):
        member = by_bucket[starts[b]]
        displacements[b] = (slot - base[member]) % m
        order[slot] = member
    if (order < 0).any():
        return None
    return PerfectHash(buckets, displacements.astype(np.int32), order)


def _displacement(base: np.ndarray, taken: np.ndarray, m: int) -> int | None:
    """The smallest shift that puts every one of a bucket's keys in its own free slot."""
    if np.unique(base).size != base.size:
        return None
    for start in range(0, m, _CANDIDATES):
        shifts = np.arange(start, min(start + _CANDIDATES, m))
        free = ~taken[(base[None, :] + shifts[:, None]) % m].any(axis=1)
        if free.any():
            return int(shifts[np.argmax(free)])
    return None
