"""The posting format of the analysed text fields: positions as packed integers.

Whoosh's own `Positions` format writes each posting's positions as a pickled list of deltas,
so every phrase check unpickles, and the posting pool pickles the pickle again while
indexing. This format writes a posting's positions as plain 4-byte integers; the codec
(`archive.index.codec`) repacks a whole block of them as small deltas on disk, and search
reads them back as arrays. Whoosh finds this class through the schema pickled in the index's
table of contents, so its module path must stay where it is.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

from whoosh import formats

from archive.index.analysis import plan_for

# array("I") is 4 bytes wide on every platform CPython supports; the bytes are little-endian
# on disk whatever the machine, as the codec reads them.
_SWAP = sys.byteorder == "big"


def encode_positions(positions: Iterable[int]) -> bytes:
    packed = array("I", positions)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def decode_positions(value: bytes) -> list[int]:
    packed = array("I")
    packed.frombytes(value)
    if _SWAP:
        packed.byteswap()
    return packed.tolist()


class PackedPositions(formats.Positions):
    """Whoosh's Positions (frequency, weight, positions) with the positions of a posting
    written as little-endian 4-byte integers instead of a pickled list."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any
                    ) -> Iterator[tuple[str, int, float, bytes]]:
        """(term, frequency, weight, positions) of each distinct term of a text, as Whoosh's
        Positions gives them; the schema's analysers run in bulk (archive.index.analysis)."""
        analyse = plan_for(analyzer) if isinstance(value, str) else None
        if analyse is None:
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        for term, positions in analyse(value).items():
            # Whoosh adds each token's boost (1.0) up: the same float as the count.
            yield term, len(positions), float(len(positions)) * boost, encode_positions(
                positions)

    def encode(self, poslist: list[int]) -> bytes:
        return encode_positions(poslist)

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return decode_positions(valuestring)

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 4

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost
