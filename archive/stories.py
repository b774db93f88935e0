"""Stories: syndicated and lightly edited copies of one article, grouped at ingest.

Each body gets a MinHash signature (datasketch) over its word 4-grams, cut into bands; each
band is hashed to one 32-bit key stored in `story_keys`. Articles sharing a key are
candidates; a candidate joins the story when the two bodies' 4-gram sets really overlap
(Jaccard >= MIN_SIMILARITY), so hash collisions never merge unrelated articles.

Keys were 64 bits until migration 0008, which keeps the top 32 bits of each (`key >> 32`,
the value `story_keys` gives now). At a million articles (12 million keys) each key of a new
article matches another article's by chance with a probability of 12 million in 2**32
(0.3%), so about one new article in 30 gets a candidate that is no copy, which costs one
comparison of texts; the 8-byte keys made the table and its index on article_id a third
larger (docs/performance.md).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache
from itertools import accumulate

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
# Keys are stored: the signature scheme and seed must never change for an existing archive.
_SCHEME = "affine32"
_SEED = 20241127
_WORD = re.compile(r"\w+", re.UNICODE)
# SQLite allows a limited number of parameters per statement.
_CHUNK = 500

# Where a new article's story is: ("stored", an article id) or ("batch", its position in
# the batch being written); None starts a new story.
Match = tuple[str, int] | None


def shingles(body: str) -> set[bytes]:
    """The body's distinct word 4-grams, each as the UTF-8 of its words joined by a space."""
    words = _WORD.findall(body.lower())
    if len(words) < SHINGLE:
        return set()
    # One string of the words, sliced: cheaper than joining and encoding every 4-gram.
    text = " ".join(words)
    data = text.encode("utf-8")
    if text.isascii():  # characters are bytes
        lengths: Iterable[int] = map(len, words)
    else:
        lengths = (len(word.encode("utf-8")) for word in words)
    starts = [0, *accumulate(length + 1 for length in lengths)]
    return {data[starts[i]:starts[i + SHINGLE] - 1] for i in range(len(words) - SHINGLE + 1)}


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # datasketch's own, from the stored seed: the keys must stay those it made.
    a, b = MinHash(num_perm=BANDS * ROWS, seed=_SEED, scheme=_SCHEME).permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer, which datasketch's affine32 scheme applies to every hash."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def signature(grams: Collection[bytes]) -> np.ndarray:
    """The MinHash signature datasketch's MinHash(num_perm=60, seed, scheme="affine32") gives
    after update_batch(grams), bit for bit, at a fraction of the cost: its per-gram hash
    function (the first 4 bytes of SHA-1, little-endian, through struct) was most of an
    article's extraction time. The SHA-1 per gram stays: stored keys depend on it."""
    sha1 = hashlib.sha1
    digests = np.frombuffer(b"".join([sha1(gram).digest() for gram in grams]), dtype="<u4")
    hashes = _fmix32(digests.reshape(-1, 5)[:, 0].astype(np.uint32))
    a, b = _permutations()
    # uint32 arithmetic wraps around: that is the scheme's modulo 2**32.
    return (hashes[:, None] * a + b).min(axis=0)


def story_keys(body: str) -> tuple[int, ...]:
    """The band keys of a body; () when it is too short to compare."""
    grams = shingles(body)
    if len(grams) < MIN_SHINGLES:
        return ()
    return tuple(int.from_bytes(digest[:4], "big", signed=True) for digest in band_digests(grams))


def band_digests(grams: Collection[bytes]) -> list[bytes]:
    """The 8-byte hash of each band of the signature of these 4-grams. The stored key is its
    first 4 bytes, signed (before migration 0008 it was all 8): keep the hash as it is."""
    values = signature(grams)
    return [hashlib.blake2b(values[band * ROWS:(band + 1) * ROWS].tobytes() + bytes([band]),
                            digest_size=8).digest() for band in range(BANDS)]


def similarity(first: set[bytes], second: set[bytes]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def match_batch(session: Session, articles: Sequence[tuple[str, Sequence[int]]],
                compared: set[int] | None = None) -> list[Match]:
    """For each (body, keys) of a batch, in order, the copy of its story found among stored
    articles and the batch's earlier articles; one query for the whole batch's keys.
    `compared` collects the stored articles looked at."""
    stored_by_key = _stored_by_key(session, list({key for _, keys in articles for key in keys}))
    candidate_ids = sorted({i for ids in stored_by_key.values() for i in ids})
    if compared is not None:
        compared.update(candidate_ids)
    stored_grams = _stored_grams(session, candidate_ids)
    batch_by_key: dict[int, list[int]] = defaultdict(list)
    batch_grams: dict[int, set[bytes]] = {}

    def grams_of(position: int) -> set[bytes]:
        # Only articles with a candidate are compared: most have none, and shingling every
        # body was a tenth of an ingest's main thread.
        if position not in batch_grams:
            batch_grams[position] = shingles(articles[position][0])
        return batch_grams[position]

    matches: list[Match] = []
    for position, (_, keys) in enumerate(articles):
        best: tuple[float, Match] = (MIN_SIMILARITY, None)
        for article_id in {i for key in keys for i in stored_by_key.get(key, ())}:
            score = similarity(grams_of(position), stored_grams.get(article_id, set()))
            if score >= best[0]:
                best = (score, ("stored", article_id))
        for other in {p for key in keys for p in batch_by_key.get(key, ())}:
            score = similarity(grams_of(position), grams_of(other))
            if score >= best[0]:
                best = (score, ("batch", other))
        matches.append(best[1])
        for key in keys:
            batch_by_key[key].append(position)
    return matches


def late_matches(session: Session, roots: Sequence[tuple[int, str, Sequence[int]]],
                 skip: set[int]) -> dict[int, int]:
    """For articles of a batch that began stories of their own, (id, body, keys), the copy
    each has among stored articles other than `skip` (the batch's own and those it was
    compared with already): what another writer committed while the batch was written."""
    stored_by_key = _stored_by_key(session, list({key for _, _, keys in roots for key in keys}))
    candidates = {key: [i for i in ids if i not in skip] for key, ids in stored_by_key.items()}
    stored_grams = _stored_grams(session, sorted({i for ids in candidates.values() for i in ids}))
    found: dict[int, int] = {}
    for article_id, body, keys in roots:
        others = {i for key in keys for i in candidates.get(key, ())}
        if not others:
            continue
        grams = shingles(body)
        score, best = max((similarity(grams, stored_grams.get(i, set())), i) for i in others)
        if score >= MIN_SIMILARITY:
            found[article_id] = best
    return found


def _stored_by_key(session: Session, keys: list[int]) -> dict[int, list[int]]:
    stored_by_key: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(keys), _CHUNK):
        for key, article_id in session.execute(
                select(StoryKey.key, StoryKey.article_id)
                .where(StoryKey.key.in_(keys[start:start + _CHUNK]))):
            stored_by_key[key].append(article_id)
    return stored_by_key


def _stored_grams(session: Session, article_ids: list[int]) -> dict[int, set[bytes]]:
    stored_grams: dict[int, set[bytes]] = {}
    for start in range(0, len(article_ids), _CHUNK):
        for article_id, body in session.execute(
                select(Article.id, Article.body)
                .where(Article.id.in_(article_ids[start:start + _CHUNK]))):
            stored_grams[article_id] = shingles(body)
    return stored_grams


def stories_of(session: Session, article_ids: Sequence[int]) -> dict[int, int]:
    """The story id of each stored article (its own id when it has none yet)."""
    found: dict[int, int | None] = {}
    ids = list(dict.fromkeys(article_ids))
    for start in range(0, len(ids), _CHUNK):
        found.update(session.execute(select(Article.id, Article.story_id)
                                     .where(Article.id.in_(ids[start:start + _CHUNK]))).all())
    return {article_id: found.get(article_id) or article_id for article_id in ids}


def resolve(matches: Sequence[Match], ids: Sequence[int], stored: dict[int, int]) -> list[int]:
    """Story ids for a batch whose rows got `ids`, given its matches and the stored stories."""
    stories: list[int] = []
    for match, article_id in zip(matches, ids, strict=True):
        if match is None:
            stories.append(article_id)
        elif match[0] == "batch":
            stories.append(stories[match[1]])
        else:
            stories.append(stored[match[1]])
    return stories


def key_rows(article_id: int, keys: Sequence[int]) -> list[dict[str, int]]:
    return [{"key": key, "article_id": article_id} for key in dict.fromkeys(keys)]
