"""Matching and ranking over posting lists read straight into arrays."""

from __future__ import annotations

import itertools
import math
import pickle
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from whoosh import formats, query
from whoosh.codec import whoosh3
from whoosh.searching import Searcher
from whoosh.system import _INT_SIZE

from archive.facets import DocColumns
from archive.index import bounds
from archive.index.blocks import Postings, among
from archive.index.cache import Generation, generation_of
from archive.index.codec import is_packed, read_term
from archive.index.columns import numeric_column
from archive.index.parsing import _clauses
from archive.index.phrases import TermPositions, in_sequence

# Posting lists kept between searches: the common words of phrases ("the", "of") recur in
# query after query, and reading theirs is most of such a query's time.
POSTINGS_CACHE_BYTES = 64 * 1024 * 1024
# A phrase word in this many times more documents than the phrase's candidates has only
# the blocks holding them unpacked (and its positions are not kept): "experienced in".
SELECTIVE_SHARE = 4


class PostingsCache:
    """The most recently used posting lists of one index generation, shared by the readers
    of all requests (each request has its own searcher, but the same document numbers)."""

    def __init__(self, budget: int = POSTINGS_CACHE_BYTES) -> None:
        self._lock = threading.Lock()
        self._budget = budget
        self._generation: Generation | None = None
        self._lists: OrderedDict[tuple, object] = OrderedDict()
        self._used = 0

    def get(self, generation: Generation, key: tuple) -> Any:
        with self._lock:
            if generation != self._generation or key not in self._lists:
                return None
            self._lists.move_to_end(key)
            return self._lists[key]

    def put(self, generation: Generation, key: tuple, value: object) -> None:
        with self._lock:
            if generation != self._generation:  # a commit (or a rebuilt index) since
                self._generation, self._lists, self._used = generation, OrderedDict(), 0
            if key in self._lists:
                return
            self._lists[key] = value
            self._used += _footprint(value)
            # A list larger than the whole cache is not kept: its reader uses it once.
            while self._used > self._budget and self._lists:
                _, dropped = self._lists.popitem(last=False)
                self._used -= _footprint(dropped)


class _Postings:
    """Term posting lists of one searcher as arrays (document numbers and weights), read
    straight from Whoosh's posting blocks; kept in a cache shared with other readers."""

    def __init__(self, searcher: Searcher, cache: PostingsCache | None = None,
                 generation: Generation | None = None) -> None:
        self.searcher = searcher
        self._cache = cache or PostingsCache()
        self._generation = generation or generation_of(searcher)

    def docs(self, fieldname: str, text: str | bytes) -> np.ndarray:
        return self.get(fieldname, text)[0]

    def positions(self, fieldname: str, text: str | bytes, wanted: np.ndarray
                  ) -> TermPositions:
        """The term's word positions in (at least) `wanted`, sorted documents that all
        contain it. A term in many more documents than wanted has only the blocks that hold
        them unpacked, and is not kept; otherwise its positions in every document are."""
        key = ("positions", fieldname, _bytes(text))
        known = self._cache.get(self._generation, key)
        if known is not None:
            return known
        everywhere = len(wanted) * SELECTIVE_SHARE >= self.frequency(fieldname, text)
        docs, weights, counts, positions = [], [], [], []
        packed = True
        for sub, offset in self.searcher.subsearchers or [(self.searcher, 0)]:
            bounds.check()
            reader = sub.reader()
            local = None
            if not everywhere:
                size = reader.doc_count_all()
                lo, hi = np.searchsorted(wanted, [offset, offset + size])
                if lo == hi:
                    continue
                local = wanted[lo:hi] - offset
            packed = packed and is_packed(reader)
            found = _segment_positions(reader, fieldname, text, local)
            if found is not None:
                docs.append(found.docs + offset)
                weights.append(found.weights)
                assert found.counts is not None and found.positions is not None
                counts.append(found.counts)
                positions.append(np.asarray(found.positions, dtype=np.uint32))
        if not docs:
            empty = np.zeros(0, dtype=np.int64)
            return TermPositions(empty, empty, empty, empty.astype(np.uint32))
        all_counts = np.concatenate(counts)
        result = TermPositions(np.concatenate(docs), np.cumsum(all_counts) - all_counts,
                               all_counts, np.concatenate(positions))
        if everywhere:
            self._cache.put(self._generation, key, result)
        if packed:
            # The weights came with the positions: ranking the phrase's matches needs no
            # second pass over the same blocks (for "the", 72 MB at a million articles).
            listed = (result.docs, np.concatenate(weights))
            if everywhere:
                self._cache.put(self._generation, ("docs", fieldname, _bytes(text)), listed)
            else:
                self._cache.put(self._generation, ("docs among", fieldname, _bytes(text)),
                                (np.asarray(wanted), *listed))
        return result

    def frequency(self, fieldname: str, text: str | bytes) -> int:
        """How many postings the term has (deleted documents too, until a merge drops
        them), from the term dictionary: as many as get() would read."""
        return sum(sub.reader().doc_frequency(fieldname, text)
                   for sub, _ in self.searcher.subsearchers or [(self.searcher, 0)])

    def weights_among(self, fieldname: str, text: str | bytes, candidates: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """The term's documents and weights, at least for those of `candidates` (sorted)
        that have it: the whole list, or what a phrase's position check read for a set of
        documents that holds all of them."""
        key = ("docs", fieldname, _bytes(text))
        known = self._cache.get(self._generation, key)
        if known is not None:
            return known
        partial = self._cache.get(self._generation, ("docs among", fieldname, _bytes(text)))
        if partial is not None:
            wanted, docs, weights = partial
            if len(among(candidates, wanted)) == len(candidates):
                return docs, weights
        return self.get(fieldname, text)

    def in_range(self, parsed: query.NumericRange) -> np.ndarray:
        """Documents whose numeric column value lies in the range, read from the column:
        Whoosh's own range over its tiered terms also matched undated articles (0) for
        ranges open at the top (date:[2020 TO])."""
        key = ("column", parsed.fieldname)
        known = self._cache.get(self._generation, key)
        if known is None:
            parts = self.searcher.subsearchers or [(self.searcher, 0)]
            arrays = [numeric_column(sub.reader(), parsed.fieldname) for sub, _ in parts]
            known = (np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64),)
            self._cache.put(self._generation, key, known)
        values = known[0]
        keep = np.ones(len(values), dtype=bool)
        if parsed.start is not None:
            keep &= values > parsed.start if parsed.startexcl else values >= parsed.start
        if parsed.end is not None:
            keep &= values < parsed.end if parsed.endexcl else values <= parsed.end
        return np.flatnonzero(keep)

    def get(self, fieldname: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        key = ("docs", fieldname, _bytes(text))
        known = self._cache.get(self._generation, key)
        if known is None:
            known = self._read(fieldname, text)
            self._cache.put(self._generation, key, known)
        return known

    def _read(self, fieldname: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        parts = self.searcher.subsearchers or [(self.searcher, 0)]
        docs, weights = [], []
        for sub, offset in parts:
            bounds.check()
            reader = sub.reader()
            if is_packed(reader):
                found = read_term(reader, fieldname, text, positions=False)
                if found is not None:
                    docs.append(found.docs + offset)
                    weights.append(found.weights)
                continue
            if (fieldname, text) not in reader:
                continue
            matcher = _leaf(reader.postings(fieldname, text))
            if not isinstance(matcher, whoosh3.W3LeafMatcher):
                while matcher.is_active():
                    docs.append(np.array([matcher.id() + offset]))
                    weights.append(np.array([matcher.weight()]))
                    matcher.next()
                continue
            # A segment of Whoosh's own format 3 (an index written before the packed
            # codec): each block stores document numbers as deltas and weights as an
            # array, one number for all, or nothing for all ones.
            while not matcher._atend:
                bounds.check()
                if matcher._data is None:
                    matcher._read_data()
                ids, block_weights = matcher._data[0], matcher._data[1]
                docs.append(np.cumsum(np.asarray(ids, dtype=np.int64)) + offset)
                if block_weights is None or isinstance(block_weights, float):
                    weights.append(np.full(len(ids), block_weights or 1.0))
                else:
                    weights.append(np.asarray(block_weights, dtype=np.float64))
                matcher._next_block()
        if not docs:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(docs), np.concatenate(weights)


def _segment_positions(reader, fieldname: str, text: str | bytes,  # noqa: ANN001
                       wanted: np.ndarray | None) -> Postings | None:
    """A term's documents and positions in one segment (all, or at least `wanted`)."""
    if is_packed(reader):
        return read_term(reader, fieldname, text, positions=True, wanted=wanted)
    if (fieldname, text) not in reader:
        return None
    # Whoosh's format 3: a pickled list per posting, unpickled for the wanted ones only.
    matcher = _leaf(reader.postings(fieldname, text))
    ids, values = [], []
    while matcher.is_active():
        bounds.check()
        ids.append(matcher.id())
        values.append(matcher.value())
        matcher.next()
    docs = np.asarray(ids, dtype=np.int64)
    if wanted is not None:
        keep = np.flatnonzero(np.isin(docs, wanted))
        docs, values = docs[keep], [values[i] for i in keep.tolist()]
    decoded = [_decode_positions(value) for value in values]
    counts = np.fromiter(map(len, decoded), dtype=np.int64, count=len(decoded))
    flat = np.fromiter(itertools.chain.from_iterable(decoded), dtype=np.int64,
                       count=int(counts.sum()))
    return Postings(docs, np.ones(len(docs)), counts, flat)


def _bytes(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text


def _footprint(value: object) -> int:
    """How many bytes a cached posting list holds: its arrays."""
    if isinstance(value, TermPositions):
        return sum(array.nbytes for array in (value.docs, value.starts, value.counts,
                                              value.positions))
    assert isinstance(value, tuple)
    return sum(array.nbytes for array in value)


def _leaf(matcher):  # noqa: ANN001, ANN202 - Whoosh matchers
    """The on-disk posting reader under Whoosh's wrapper that hides deleted documents (they
    are masked out later, with every other filter)."""
    while not isinstance(matcher, whoosh3.W3LeafMatcher) and hasattr(matcher, "child"):
        matcher = matcher.child
    return matcher


def _matching(postings: _Postings, parsed: query.Query) -> np.ndarray:
    """Document numbers matching a query, as a sorted array.

    Term lists come from their posting blocks as arrays, and AND, OR and NOT become array
    operations: far faster than walking Whoosh's matchers one document at a time. Phrases,
    ranges and anything else fall back to Whoosh's own matching."""
    searcher = postings.searcher
    kind = type(parsed)
    if kind is query.Term:
        return postings.docs(parsed.fieldname, parsed.text)
    if isinstance(parsed, query.Prefix | query.Wildcard | query.FuzzyTerm):
        arrays = [postings.docs(parsed.fieldname, text)
                  for text in parsed._btexts(searcher.reader())]
        return np.unique(np.concatenate(arrays)) if arrays else np.zeros(0, dtype=np.int64)
    if kind is query.Or:
        arrays = [_matching(postings, child) for child in parsed.children()]
        return np.unique(np.concatenate(arrays)) if arrays else np.zeros(0, dtype=np.int64)
    if kind is query.And:
        children = list(parsed.children())
        wanted = [c for c in children if not isinstance(c, query.Not)]
        unwanted = [c.query for c in children if isinstance(c, query.Not)]
        if wanted:
            result = _matching(postings, wanted[0])
            for child in wanted[1:]:
                if not len(result):
                    break
                result = np.intersect1d(result, _matching(postings, child), assume_unique=True)
            for child in unwanted:
                result = np.setdiff1d(result, _matching(postings, child), assume_unique=True)
            return result
    if kind is query.AndNot:
        return np.setdiff1d(_matching(postings, parsed.a), _matching(postings, parsed.b),
                            assume_unique=True)
    if kind is query.NumericRange:
        return postings.in_range(parsed)
    if kind is query.Phrase and _has_positions(searcher, parsed.fieldname):
        return _phrase_docnums(postings, parsed)
    return np.fromiter(searcher.docs_for_query(parsed), dtype=np.int64)


def _has_positions(searcher: Searcher, fieldname: str) -> bool:
    return isinstance(searcher.schema[fieldname].format, formats.Positions)


def _phrase_docnums(postings: _Postings, phrase: query.Phrase) -> np.ndarray:
    """Documents with the phrase's words in order, each at most `slop` positions after the
    one before (1: side by side). Candidates come from the rarest word's document array,
    narrowed by each other word's positions among them; only they have their positions
    looked at, as arrays."""
    words, field = phrase.words, phrase.fieldname
    if len(words) == 1:
        return postings.docs(field, words[0])
    # From the rarest word: a common word ("the") is then read only in the blocks that hold
    # the candidates, positions and weights in one pass, and never as a whole list.
    order = sorted(range(len(words)), key=lambda i: postings.frequency(field, words[i]))
    candidates = postings.docs(field, words[order[0]])
    places: dict[int, TermPositions] = {}
    for i in order[1:]:
        if not len(candidates):
            return candidates
        places[i] = postings.positions(field, words[i], candidates)
        candidates = np.intersect1d(candidates, places[i].docs, assume_unique=True)
    if not len(candidates):
        return candidates
    places[order[0]] = postings.positions(field, words[order[0]], candidates)
    return in_sequence(candidates, [places[i] for i in range(len(words))],
                       max(phrase.slop, 1))


def _decode_positions(value: bytes) -> list[int]:
    # Whoosh's Positions format: a 4-byte count, then the pickled list of deltas (whose
    # final STOP opcode Whoosh may have trimmed).
    pickled = value[_INT_SIZE:] if value.endswith(b".") else value[_INT_SIZE:] + b"."
    return list(itertools.accumulate(pickle.loads(pickled)))


# BM25 as Whoosh computes it (whoosh.scoring.BM25F with its defaults), over arrays.
_B, _K1 = 0.75, 1.2


def _rank(postings: _Postings, columns: DocColumns, parsed: query.Query,
          candidates: np.ndarray, count: int) -> np.ndarray:
    """The `count` best of `candidates` (sorted document numbers) by BM25 over the query's
    positive terms; ties in document order."""
    return _best(candidates, _scores(postings, columns, parsed, candidates), count)


def _scores(postings: _Postings, columns: DocColumns, parsed: query.Query,
            candidates: np.ndarray) -> np.ndarray:
    """BM25 of each of `candidates` (sorted document numbers) over the query's positive
    terms. A document's score does not depend on the other candidates, so the scores of all
    matches serve every filtered subset of them."""
    searcher = postings.searcher
    reader = searcher.reader()
    scores = np.zeros(len(candidates))
    size = max(searcher.doc_count_all(), 1)
    for fieldname, text in _scored_terms(parsed, reader):
        docs, weights = postings.weights_among(fieldname, text, candidates)
        if not len(docs):
            continue
        where = np.searchsorted(candidates, docs)
        inside = where < len(candidates)
        inside[inside] = candidates[where[inside]] == docs[inside]
        # Every posting counts, as in Whoosh's doc_frequency (deleted documents too, until a
        # merge drops them), without a second lookup of the term per segment.
        idf = math.log(size / (postings.frequency(fieldname, text) + 1)) + 1
        lengths = columns.lengths(fieldname)[docs[inside]]
        average = searcher.avg_field_length(fieldname) or 1.0
        tf = weights[inside]
        scores[where[inside]] += idf * tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * lengths
                                                                       / average))
    return scores


def _best(candidates: np.ndarray, scores: np.ndarray, count: int) -> np.ndarray:
    """The `count` of `candidates` with the highest `scores`, best first; ties in document
    order."""
    best = np.arange(len(candidates))
    if count < len(candidates):
        # The `count` best, ties at the cut taken in document order, so that every page is
        # a slice of one and the same ranking.
        cut = np.partition(scores, len(scores) - count)[len(scores) - count]
        above = np.flatnonzero(scores > cut)
        level = np.flatnonzero(scores == cut)
        best = np.concatenate([above, level[:count - len(above)]])
    best = best[np.lexsort((best, -scores[best]))]
    return candidates[best]


def _scored_terms(parsed: query.Query, reader) -> set[tuple[str, str | bytes]]:  # noqa: ANN001
    terms = set()
    for node, negated in _clauses(parsed):
        if negated:
            continue
        for leaf in node.leaves():
            if isinstance(leaf, query.NumericRange):
                continue
            for fieldname, text in leaf.expanded_terms(reader, phrases=True):
                if fieldname in ("title", "body", "byline", "outlet_text"):
                    terms.add((fieldname, text))
    return terms
