"""The checksum entry of a model file: damage is found at every load, and named, without hashing a byte twice.

Schema 3 files carry CRC-32 (zlib's): it catches every burst of damage up to 32 bits
and anything else but once in 4 billion, at several GB/s. sha256 (schema 2) took 1.5 ms
for the shipped model on the project's machine, twice onnxruntime's whole session, and
would take about 15 ms on a Raspberry Pi 4, whose CPU has no SHA instructions. Neither
is a signature: whoever can change the file can rewrite its checksum entry too.

Four digests, each named ``<part>_<algorithm>``: the graph (all weights), the structure
(the ONNX model without its metadata: header and graph), the vectorizer entry, and every
imdb_edge entry but the checksum itself. A load verifies the structure and the metadata
digests, which cover everything; the other two only say which part is damaged.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable
from typing import Any, Protocol

from imdb_edge.errors import ImdbEdgeError
from imdb_edge.runtime.modelfile.schema import METADATA_KEY_PREFIX

ALGORITHM_OF_SCHEMA = {"2": "sha256", "3": "crc32", "4": "crc32"}
PARTS = ("graph", "structure", "vectorizer", "metadata")


class Digest(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


class _Crc32:
    """zlib.crc32 with hashlib's update/hexdigest (zlib releases the GIL on big buffers, as hashlib does)."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes | memoryview) -> None:
        self.value = zlib.crc32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value:08x}"


def new_digest(algorithm: str) -> Digest:
    return _Crc32() if algorithm == "crc32" else hashlib.new(algorithm)


def digest_of(algorithm: str, parts: Iterable[bytes | memoryview]) -> str:
    digest = new_digest(algorithm)
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def metadata_digest(algorithm: str, entries: dict[str, bytes], checksum_key: str) -> str:
    """The digest of every imdb_edge entry except the checksum itself: sorted by key, each length-prefixed."""
    digest = new_digest(algorithm)
    for key in sorted(k for k in entries if k.startswith(METADATA_KEY_PREFIX) and k != checksum_key):
        for encoded in (key.encode("utf-8"), entries[key]):
            digest.update(len(encoded).to_bytes(8, "big"))
            digest.update(encoded)
    return digest.hexdigest()


def checksum_entry(
    algorithm: str, graph: bytes, structure: bytes, entries: dict[str, bytes], keys: tuple[str, str]
) -> dict[str, str]:
    """What the exporter writes. `keys`: the vectorizer's and the checksum's entry keys."""
    vectorizer_key, checksum_key = keys
    return {
        f"graph_{algorithm}": digest_of(algorithm, [graph]),
        f"structure_{algorithm}": digest_of(algorithm, [structure]),
        f"vectorizer_{algorithm}": digest_of(algorithm, [entries[vectorizer_key]]),
        f"metadata_{algorithm}": metadata_digest(algorithm, entries, checksum_key),
    }


def _is_digest(value: Any, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and not value.strip("0123456789abcdef")


def verify(
    checksum: dict[str, Any],
    algorithm: str,
    graph: memoryview,
    structure: list[memoryview],
    entries: dict[str, bytes],
    keys: tuple[str, str],
    where: str,
) -> None:
    """Raise ImdbEdgeError naming the damaged part. `keys`: the vectorizer's and the checksum's entry keys."""
    vectorizer_key, checksum_key = keys
    digest_length = len(new_digest(algorithm).hexdigest())
    names = {part: f"{part}_{algorithm}" for part in PARTS}
    # Lowercase hex, as written: the graph and vectorizer digests are only compared when something is damaged.
    if not all(_is_digest(checksum.get(n), digest_length) for n in names.values()):
        raise ImdbEdgeError(
            f"{where} is damaged: its checksum entry lacks one of {', '.join(names.values())} "
            f"({digest_length} lowercase hex digits each)"
        )
    if checksum[names["structure"]] != digest_of(algorithm, structure):
        if checksum[names["graph"]] != digest_of(algorithm, [graph]):
            raise ImdbEdgeError(
                f"{where} is damaged: its weights or vocabulary arrays do not match the checksum stored at export"
            )
        raise ImdbEdgeError(
            f"{where} is damaged: its ONNX header (opset, IR version) does not match the checksum stored at export"
        )
    if vectorizer_key not in entries:
        raise ImdbEdgeError(f"{where}: metadata entry {vectorizer_key} (the vocabulary) is missing")
    if checksum[names["metadata"]] != metadata_digest(algorithm, entries, checksum_key):
        if checksum[names["vectorizer"]] != digest_of(algorithm, [entries[vectorizer_key]]):
            raise ImdbEdgeError(f"{where} is damaged: its vocabulary does not match the checksum stored at export")
        raise ImdbEdgeError(
            f"{where} is damaged: its metadata (labels, threshold, input form) does not match the checksum "
            "stored at export"
        )
