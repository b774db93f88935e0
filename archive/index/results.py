"""One search worked out in pieces that later requests for the same query share.

- found: the query's matching live documents (sorted numbers) and what its patterns left
  out; per query. A facet click or another sort starts from here, no posting list read.
- stories: the earliest copy of each story among them; per query.
- scores: the BM25 score of every match; per query (a document's score does not depend on
  which other documents are candidates, so filters and story mode take a subset).
- ranked: the total and the first KEPT_RANKS documents in order; per query, filters, sort
  and story mode. Page 2, 3 ... are slices of it; a deeper page is ranked again from the
  kept scores, and kept no longer.
- counts (facets) and histogram: per query, filters and story mode.

A request takes each piece it needs from the cache (archive/index/cache.py) or works it out
there; with and without the cache, a request gets the same answer from the same code.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from whoosh import query

from archive.facets import DocColumns, Histogram
from archive.index.cache import Generation, ResultCache
from archive.index.postings import _best, _Postings, _scores
from archive.index.types import SearchRequest

# Documents of a ranking kept for later pages (100 pages of 10; stand-out words read the 200
# best). A request deeper than this (an export, page 101) is ranked from the kept scores.
KEPT_RANKS = 1000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Found:
    docnums: np.ndarray | None  # sorted; None: every live document (a query for everything)
    notes: tuple[str, ...]  # what the query's patterns and fuzzy terms left out


@dataclass(frozen=True, slots=True)
class Ranked:
    total: int
    docnums: np.ndarray  # the first of the order (all of them when there are few)

    @property
    def complete(self) -> bool:
        return len(self.docnums) == self.total


@dataclass(frozen=True, slots=True)
class Counts:
    outlets: tuple[tuple[str, int], ...]
    years: tuple[tuple[int, int], ...]
    months: tuple[tuple[int, int], ...]
    languages: tuple[tuple[str, int], ...]


def query_key(parsed: query.Query | None) -> bytes | None:
    """The same bytes for queries that search the same ("Strikes  Harbour" and "strike
    harbour": case, spacing and word endings typed otherwise), or None for one that cannot
    be told apart safely, which is then not kept. The parsed tree without where each word
    stood in the typed text, pickled: Whoosh's own hashes collide (an OR of a word in title
    and body hashes alike whatever the word), and pickling leaves out no attribute."""
    if parsed is None:
        return b""
    try:
        return pickle.dumps(_canonical(parsed), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


# Attributes of parsed queries that say where a word was typed, not what is searched.
_PLACES = frozenset({"startchar", "endchar", "char_ranges"})


def _canonical(node: object) -> object:
    if isinstance(node, query.Query):
        return (type(node).__module__, type(node).__qualname__,
                tuple((name, _canonical(value)) for name, value in sorted(vars(node).items())
                      if name not in _PLACES))
    if isinstance(node, list | tuple):
        return tuple(_canonical(item) for item in node)
    return node


class SearchPieces:
    """One request's pieces of one search, read through one reader."""

    def __init__(self, cache: ResultCache, generation: Generation, columns: DocColumns,
                 postings: _Postings, parsed: query.Query | None, request: SearchRequest,
                 find: Callable[[], Found], *, remember: bool = True) -> None:
        self._cache = cache
        self._generation = generation
        self._columns = columns
        self._postings = postings
        self._parsed = parsed
        self._request = request
        self._find = find
        self._remember = remember
        self._query = query_key(parsed)
        # Filters as sets: the order outlets were ticked in changes nothing.
        self._filters: tuple[Hashable, ...] = (
            tuple(sorted(set(request.outlets))), tuple(sorted(set(request.languages))),
            request.date_from, request.date_to)
        # Each piece is taken once per request (so that the cache's counts are per request).
        self._found: Found | None = None
        self._scores: np.ndarray | None = None
        self._masks: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._selected: np.ndarray | None = None

    def _get(self, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        if self._query is None:
            return compute()
        return self._cache.get(self._generation, (key[0], self._query, *key[1:]), compute,
                               remember=self._remember)

    # --- per query -------------------------------------------------------------------------

    def found(self) -> Found:
        if self._found is None:
            self._found = self._get(("found",), self._find)
        return self._found

    def matched(self) -> np.ndarray | None:
        """The documents a search counts: the matches, or in story mode one per story."""
        found = self.found()
        if not self._request.one_per_story:
            return found.docnums
        return self._get(("stories",), lambda: _frozen(np.flatnonzero(
            self._columns.story_representatives(self._columns.select(found.docnums)))))

    def scores(self) -> np.ndarray:
        """BM25 of each match, in the order of found().docnums."""
        found = self.found().docnums
        assert self._parsed is not None and found is not None
        parsed = self._parsed
        if self._scores is None:
            self._scores = self._get(("scores",), lambda: _frozen(
                _scores(self._postings, self._columns, parsed, found)))
        return self._scores

    # --- per query and filters -------------------------------------------------------------

    def ranking(self, end: int) -> Ranked:
        """The total and the order at least `end` deep (or all of it)."""
        sort = self._request.sort
        if sort == "relevance" and self._parsed is None:
            sort = "newest"  # without words there is nothing to rank by relevance
        key = ("ranked", self._request.one_per_story, self._filters, sort)
        if end <= KEPT_RANKS:
            return self._get(key, lambda: self._rank(sort, KEPT_RANKS))
        kept = None if self._query is None else self._cache.peek(
            self._generation, (key[0], self._query, *key[1:]))
        if isinstance(kept, Ranked) and kept.complete:
            return kept
        return self._rank(sort, end)

    def counts(self) -> Counts:
        return self._get(("counts", self._request.one_per_story, self._filters), self._count)

    def histogram(self) -> Histogram:
        request = self._request
        return self._get(("histogram", request.one_per_story, self._filters),
                         lambda: self._columns.histogram(
                             self._selection(), request.date_from, request.date_to,
                             stories=request.one_per_story))

    def _rank(self, sort: str, count: int) -> Ranked:
        selected = self._selection()
        if sort == "relevance":
            candidates = np.flatnonzero(selected)
            found = self.found().docnums
            assert found is not None
            scores = self.scores()[np.searchsorted(found, candidates)]
            ordered = _best(candidates, scores, count)
        else:
            ordered = self._columns.by_date(selected, newest_first=sort == "newest")[:count]
        # A copy: a slice would keep the whole order alive behind the few kept.
        return Ranked(int(selected.sum()), _frozen(ordered.astype(np.int32)))

    def _count(self) -> Counts:
        matched, outlet_ok, language_ok, date_ok = self._filter_masks()
        columns = self._columns
        # Each facet ignores its own filter, so that more outlets (or another year) can be
        # added: outlets ignore the outlet filter, years and months the dates, languages
        # the language filter.
        undated_range = matched & outlet_ok & language_ok
        return Counts(
            outlets=tuple(columns.count_outlets(matched & language_ok & date_ok)),
            years=tuple(columns.count_years(undated_range)),
            months=tuple(columns.count_months(undated_range)),
            languages=tuple(columns.count_languages(matched & outlet_ok & date_ok)))

    def _filter_masks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._masks is None:
            request, columns = self._request, self._columns
            self._masks = (columns.select(self.matched()), columns.outlet_mask(request.outlets),
                           columns.language_mask(request.languages),
                           columns.date_mask(request.date_from, request.date_to))
        return self._masks

    def _selection(self) -> np.ndarray:
        if self._selected is None:
            matched, outlet_ok, language_ok, date_ok = self._filter_masks()
            self._selected = matched & outlet_ok & language_ok & date_ok
        return self._selected


def _frozen(array: np.ndarray) -> np.ndarray:
    """The array made read-only: it is shared by every request that takes it from the cache."""
    array.flags.writeable = False
    return array


def copied(histogram: Histogram) -> Histogram:
    """A histogram of the caller's own (the kept one is shared)."""
    return Histogram(histogram.granularity, list(histogram.starts), list(histogram.counts),
                     list(histogram.totals), histogram.undated)

