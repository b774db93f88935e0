"""Phrase and proximity matching over position arrays, many documents at a time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archive.index import bounds
from archive.index.blocks import ranges

# Candidates checked per step: bounds the memory of the position keys (a phrase of two
# common words has dozens of positions per document) and lets a deadline stop the work.
CHUNK_DOCS = 20_000


@dataclass(slots=True)
class TermPositions:
    """A term's positions in some documents: those of `docs[i]` (sorted document numbers)
    are positions[starts[i]:starts[i] + counts[i]], in increasing order."""

    docs: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    positions: np.ndarray


def in_sequence(candidates: np.ndarray, words: list[TermPositions], slop: int) -> np.ndarray:
    """Those of `candidates` (sorted; each in every word's `docs`) where, from some position
    of the first word, each next word's first position after the last word's is 1..slop
    further on (slop 1: the words side by side)."""
    kept = []
    for start in range(0, len(candidates), CHUNK_DOCS):
        bounds.check()
        chunk = candidates[start:start + CHUNK_DOCS]
        # Document (its place in the chunk) and position in one sortable number.
        current = _keys(words[0], chunk)
        for word in words[1:]:
            following = _keys(word, chunk)
            if not len(current) or not len(following):
                current = current[:0]
                break
            at = np.searchsorted(following, current, side="right")
            found = following[np.minimum(at, len(following) - 1)]
            # A key of the next document is 2**32 - position away: never within slop.
            near = (at < len(following)) & (found - current <= slop)
            current = found[near]
        kept.append(chunk[np.unique(current >> 32)])
    return np.concatenate(kept) if kept else candidates[:0]


def _keys(word: TermPositions, chunk: np.ndarray) -> np.ndarray:
    rows = np.searchsorted(word.docs, chunk)
    counts = word.counts[rows]
    places = ranges(word.starts[rows], counts)
    owners = np.repeat(np.arange(len(chunk), dtype=np.int64), counts)
    return (owners << 32) | word.positions[places].astype(np.int64)
