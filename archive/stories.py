"""Stories: syndicated and lightly edited copies of one article, grouped at ingest.

Each body gets a MinHash signature (datasketch) over its word 4-grams, cut into bands; each
band is hashed to one 64-bit key stored in `story_keys`. Articles sharing a key are
candidates; a candidate joins the story when the two bodies' 4-gram sets really overlap
(Jaccard >= MIN_SIMILARITY), so hash collisions never merge unrelated articles.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from datasketch import MinHash
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Article, StoryKey

BANDS, ROWS = 12, 5  # 60 permutations; pairs above ~0.6 similarity usually share a band
SHINGLE = 4
MIN_SIMILARITY = 0.5
# Shorter bodies (a caption, a brief) share too little text to tell copies from coincidences.
MIN_SHINGLES = 20
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(body: str) -> set[str]:
    words = _WORD.findall(body.lower())
    return {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


# Keys are stored: the signature scheme and seed must never change for an existing archive.
_SCHEME = "affine32"
_SEED = 20241127


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # Made once: generating them is most of the cost of a fresh MinHash.
    return MinHash(num_perm=BANDS * ROWS, seed=_SEED, scheme=_SCHEME).permutations


def story_keys(body: str) -> tuple[int, ...]:
    """The band keys of a body; () when it is too short to compare."""
    grams = shingles(body)
    if len(grams) < MIN_SHINGLES:
        return ()
    signature = MinHash(num_perm=BANDS * ROWS, seed=_SEED, permutations=_permutations(),
                        scheme=_SCHEME)
    signature.update_batch([gram.encode("utf-8") for gram in grams])
    values = signature.hashvalues
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(values[band * ROWS:(band + 1) * ROWS].tobytes()
                                 + bytes([band]), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return tuple(keys)


def similarity(first: set[str], second: set[str]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


class StoryFinder:
    """Finds the story of each new article among stored ones and those of the same batch."""

    def __init__(self) -> None:
        self._pending: dict[int, list[tuple[int, set[str]]]] = {}

    def find(self, session: Session, body: str, keys: Sequence[int], position: int
             ) -> tuple[str, int] | None:
        """("stored", article id) or ("pending", batch position) of the best match, or None."""
        if not keys:
            return None
        grams = shingles(body)
        best: tuple[float, tuple[str, int]] | None = None
        for stored_id, stored_body in _stored_candidates(session, keys):
            score = similarity(grams, shingles(stored_body))
            if score >= MIN_SIMILARITY and (best is None or score > best[0]):
                best = (score, ("stored", stored_id))
        for key in keys:
            for other, other_grams in self._pending.get(key, ()):
                score = similarity(grams, other_grams)
                if score >= MIN_SIMILARITY and (best is None or score > best[0]):
                    best = (score, ("pending", other))
        for key in keys:
            self._pending.setdefault(key, []).append((position, grams))
        return best[1] if best else None

    def clear(self) -> None:
        """A new batch: pending articles are now stored and found through the table."""
        self._pending.clear()


def _stored_candidates(session: Session, keys: Sequence[int]) -> list[tuple[int, str]]:
    ids = select(StoryKey.article_id).where(StoryKey.key.in_(list(keys))).distinct()
    return list(session.execute(select(Article.id, Article.body).where(Article.id.in_(ids))
                                .limit(50)))


def story_of(session: Session, article_id: int) -> int:
    return session.scalar(select(Article.story_id).where(Article.id == article_id)) or article_id


def key_rows(article_id: int, keys: Iterable[int]) -> list[StoryKey]:
    return [StoryKey(key=key, article_id=article_id) for key in dict.fromkeys(keys)]
