"""Results kept between requests: bounded, per index generation, each worked out once.

Paging through a search or clicking one of its facets asks the index the same query again.
What such requests share (a query's matches, their scores, a ranking, facet counts, a
histogram) is kept here, per process, keyed by the index generation it was read from: a
commit makes a new generation, so nothing read before it can answer a request after it.

When several requests want the same missing piece at once (a link shared with a class, a
client that retries), one of them works it out and the others wait for its answer, none of
them longer than its own search deadline.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import sys
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np
from whoosh.searching import Searcher

from archive.index import bounds
from archive.index.types import QueryError

# What results of one index may take in memory, roughly (arrays by their size, facet lists by
# an estimate per item), and how many pieces at most: the web process of a million articles
# stays under its 800 MB with this beside the posting-list cache's 64 MB.
RESULT_CACHE_BYTES = 64 * 1024 * 1024
RESULT_CACHE_ENTRIES = 2048
# No single piece may take more than this share of the budget: the scores of a query that
# matches most of a big archive would otherwise push every other query's results out.
LARGEST_SHARE = 0.25
# Generations recently replaced: a request still reading one of them may finish after the
# commit, and what it worked out must not be kept (nor push out the new generation's).
_RETIRED_KEPT = 16

T = TypeVar("T")
# The table of contents' number and the segments it lists. The number alone is not enough:
# `archive reindex` in another process starts a new index whose numbers count from 0 again.
Generation = tuple[int, tuple[str, ...]]
# What a piece is (its kind first: "found", "ranked", ...), and that with its generation.
Key = tuple[Hashable, ...]
_Full = tuple[Hashable, Key]


def generation_of(searcher: Searcher) -> Generation:
    """The index generation a searcher reads."""
    number = searcher.reader().generation()
    parts = [sub for sub, _ in searcher.subsearchers] if searcher.subsearchers else [searcher]
    segments = tuple(segment.segment_id() for segment in
                     (sub.reader().segment() for sub in parts) if segment is not None)
    return (-1 if number is None else number, segments)


class _Pending:
    """A piece one request is working out, for others that want it meanwhile."""

    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class ResultCache:
    """Pieces of search results, least recently used first out, within a byte and an entry
    budget; for the generation being read now (older ones are dropped when a new one comes).
    `counts` says what happened, per kind of piece: "found hit", "ranked miss", ..."""

    def __init__(self, budget: int = RESULT_CACHE_BYTES,
                 entries: int = RESULT_CACHE_ENTRIES) -> None:
        self.budget = budget
        self.max_entries = entries
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._entries: OrderedDict[_Full, tuple[Any, int]] = OrderedDict()
        self._pending: dict[_Full, _Pending] = {}
        self._generation: Hashable | None = None
        self._retired: deque[Hashable] = deque(maxlen=_RETIRED_KEPT)
        self._used = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def used(self) -> int:
        """Bytes the kept pieces take, as estimated."""
        return self._used

    def peek(self, generation: Hashable, key: Key) -> Any:
        """The kept piece, or None; never works anything out."""
        with self._lock:
            kept = self._entries.get((generation, key))
            if kept is None:
                return None
            self._entries.move_to_end((generation, key))
            self.counts[f"{key[0]} hit"] += 1
            return kept[0]

    def get(self, generation: Hashable, key: Key, compute: Callable[[], T],
            *, remember: bool = True) -> T:
        """The piece for `key` (its first item names the kind): kept, being worked out by
        another request (then waited for, within the current deadline), or worked out here
        by `compute` and kept, unless `remember` is false."""
        full = (generation, key)
        while True:
            with self._lock:
                kept = self._entries.get(full)
                if kept is not None:
                    self._entries.move_to_end(full)
                    self.counts[f"{key[0]} hit"] += 1
                    return kept[0]
                pending = self._pending.get(full)
                if pending is None:
                    self.counts[f"{key[0]} miss"] += 1
                    pending = _Pending()
                    if remember:  # an export reads once: nobody else waits for it
                        self._pending[full] = pending
                    owner = True
                else:
                    self.counts[f"{key[0]} wait"] += 1
                    owner = False
            if owner:
                return self._work(full, pending, compute, remember)
            while not pending.done.wait(bounds.remaining()):
                bounds.check()  # past this request's deadline: SearchTimeout
            if pending.error is None:
                return pending.value
            if isinstance(pending.error, QueryError) and not isinstance(
                    pending.error, bounds.SearchTimeout):
                # The same query fails the same way for everyone (each gets its own copy:
                # one exception raised in several threads would collect all their tracebacks).
                raise copy.copy(pending.error).with_traceback(None) from None
            # The one working it out ran out of its own time (or failed otherwise): this
            # request has its own deadline, so it tries for itself.

    def _work(self, full: _Full, pending: _Pending, compute: Callable[[], T],
              remember: bool) -> T:
        try:
            value = compute()
        except BaseException as exc:
            pending.error = exc
            with self._lock:
                self._forget(full, pending)
            pending.done.set()
            raise
        pending.value = value
        try:
            with self._lock:
                self._forget(full, pending)
                if remember:
                    self._keep(full, value)
        finally:
            pending.done.set()  # whatever happens here, nobody waits in vain
        return value

    def _forget(self, full: _Full, pending: _Pending) -> None:
        if self._pending.get(full) is pending:
            del self._pending[full]

    def _keep(self, full: _Full, value: object) -> None:
        generation = full[0]
        if generation != self._generation:
            if generation in self._retired:
                self.counts[f"{full[1][0]} stale"] += 1
                return
            if self._generation is not None:
                self._retired.append(self._generation)
            self._generation = generation
            self._entries.clear()
            self._used = 0
        size = approximate_size(value)
        if size > self.budget * LARGEST_SHARE or full in self._entries:
            return
        self._entries[full] = (value, size)
        self._used += size
        while self._used > self.budget or len(self._entries) > self.max_entries:
            (_, dropped_key), (_, dropped) = self._entries.popitem(last=False)
            self._used -= dropped
            self.counts[f"{dropped_key[0]} evicted"] += 1


def approximate_size(value: object) -> int:
    """Bytes a kept value holds, roughly as CPython and numpy lay it out."""
    if isinstance(value, np.ndarray):
        return value.nbytes + 112
    if isinstance(value, str | bytes):
        return 49 + len(value)
    if value is None or isinstance(value, int | float | dt.date):
        return 32
    if isinstance(value, list | tuple):
        return 56 + 8 * len(value) + sum(approximate_size(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 56 + sum(approximate_size(getattr(value, field.name))
                        for field in dataclasses.fields(value))
    return sys.getsizeof(value)
