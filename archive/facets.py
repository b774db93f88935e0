"""Filters, facet counts, story collapsing, date sorting and histograms over per-document arrays.

The index hands over one value per document (outlet, date, language, story) as numpy arrays,
once per searcher; every search then filters and counts in bulk instead of visiting each
match in Python. Nothing here knows which engine produced the arrays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Granularity = Literal["day", "week", "month"]
# Dates are YYYYMMDD integers, 0 when unknown.
UNKNOWN = 0
_LAST = np.iinfo(np.int32).max
_EPOCH = dt.date(1970, 1, 1)


@dataclass(slots=True)
class Histogram:
    """Matching articles per period, with all archived articles per period for shares."""

    granularity: Granularity
    starts: list[dt.date] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    undated: int = 0


def day_key(value: dt.date) -> int:
    return value.year * 10000 + value.month * 100 + value.day


class Codes:
    """Strings stored as small integer codes, with the table to turn them back."""

    def __init__(self, codes: np.ndarray, names: list[str]) -> None:
        self.codes = codes
        self.names = names

    @classmethod
    def of(cls, values: list[str], table: dict[str, int] | None = None) -> np.ndarray:
        """Codes for `values`, extending `table` (name -> code) with names not yet in it."""
        table = {} if table is None else table
        return np.fromiter((table.setdefault(v, len(table)) for v in values), dtype=np.int32,
                           count=len(values))

    def mask(self, wanted: tuple[str, ...]) -> np.ndarray:
        codes = [self.names.index(name) for name in wanted if name in self.names]
        return np.isin(self.codes, codes)

    def count(self, selected: np.ndarray) -> list[tuple[str, int]]:
        counts = np.bincount(self.codes[selected], minlength=len(self.names))
        pairs = [(self.names[code], int(n)) for code, n in enumerate(counts) if n]
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))


class DocColumns:
    """Per-document values of one index generation, indexed by document number."""

    def __init__(self, live: np.ndarray, outlets: Codes, dates: np.ndarray,
                 languages: Codes, stories: np.ndarray) -> None:
        self.live = live
        self.outlet = outlets
        self.language = languages
        self.date = dates.astype(np.int32)
        self.story = stories.astype(np.int64)
        self.year = self.date // 10000
        self.month = self.date // 100  # YYYYMM
        dated = self.date > 0
        years = np.where(dated, self.year, 1970)
        months = np.where(dated, self.date // 100 % 100, 1)
        days = np.where(dated, self.date % 100, 1)
        epoch_months = ((years - 1970) * 12 + months - 1).astype("datetime64[M]")
        self.day_number = (epoch_months.astype("datetime64[D]").astype(np.int64) + days - 1)
        self._undated_last = np.where(dated, self.date, _LAST)
        self._first_copies: np.ndarray | None = None
        # Per-document field lengths, for ranking (filled by the index).
        self.field_lengths: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.live)

    def lengths(self, fieldname: str) -> np.ndarray:
        return self.field_lengths[fieldname]

    # --- masks ---------------------------------------------------------------------------

    def select(self, docnums: np.ndarray | None) -> np.ndarray:
        """A mask of live documents among docnums (None: every live document)."""
        if docnums is None:
            return self.live.copy()
        chosen = np.zeros(len(self.live), dtype=bool)
        chosen[docnums] = True
        return chosen & self.live

    def outlet_mask(self, outlets: tuple[str, ...]) -> np.ndarray:
        return self.outlet.mask(outlets) if outlets else self.live

    def language_mask(self, languages: tuple[str, ...]) -> np.ndarray:
        return self.language.mask(languages) if languages else self.live

    def date_mask(self, start: dt.date | None, end: dt.date | None) -> np.ndarray:
        mask = self.live.copy()
        if start:
            mask &= self.date >= day_key(start)
        if end:
            mask &= (self.date <= day_key(end)) & (self.date > UNKNOWN)
        return mask

    def first_copies(self) -> np.ndarray:
        """One document per story in the whole index (computed once per generation)."""
        if self._first_copies is None:
            self._first_copies = self.story_representatives(self.live)
        return self._first_copies

    def story_representatives(self, selected: np.ndarray) -> np.ndarray:
        """One document per story among `selected`: its earliest-dated copy."""
        docnums = np.flatnonzero(selected)
        if not len(docnums):
            return selected
        order = np.lexsort((docnums, self._undated_last[docnums], self.story[docnums]))
        ordered = docnums[order]
        stories = self.story[ordered]
        first = np.ones(len(ordered), dtype=bool)
        first[1:] = stories[1:] != stories[:-1]
        chosen = np.zeros(len(self.live), dtype=bool)
        chosen[ordered[first]] = True
        return chosen

    # --- counts --------------------------------------------------------------------------

    def count_outlets(self, selected: np.ndarray) -> list[tuple[str, int]]:
        return self.outlet.count(selected)

    def count_languages(self, selected: np.ndarray) -> list[tuple[str, int]]:
        return self.language.count(selected)

    def count_years(self, selected: np.ndarray) -> list[tuple[int, int]]:
        years, counts = np.unique(self.year[selected], return_counts=True)
        return sorted(((int(y), int(n)) for y, n in zip(years, counts, strict=True)),
                      key=lambda pair: -pair[0])

    def count_months(self, selected: np.ndarray) -> list[tuple[int, int]]:
        """(YYYYMM, count) for dated documents, newest first."""
        months, counts = np.unique(self.month[selected & (self.date > UNKNOWN)],
                                   return_counts=True)
        return [(int(m), int(n)) for m, n in zip(months[::-1], counts[::-1], strict=True)]

    # --- order ---------------------------------------------------------------------------

    def by_date(self, selected: np.ndarray, newest_first: bool) -> np.ndarray:
        """Selected document numbers by date; undated last; ties in ingest order."""
        docnums = np.flatnonzero(selected)
        if newest_first:
            keys = self.date[docnums].astype(np.int64)
            return docnums[np.lexsort((docnums, -keys))]
        return docnums[np.lexsort((docnums, self._undated_last[docnums]))]

    # --- histogram -----------------------------------------------------------------------

    def histogram(self, selected: np.ndarray, start: dt.date | None = None,
                  end: dt.date | None = None, *, stories: bool = False) -> Histogram:
        """Counts per day, week or month (chosen from the span), with archive totals (of
        stories, when `selected` holds one copy per story)."""
        dated = selected & (self.date > UNKNOWN)
        undated = int((selected & (self.date == UNKNOWN)).sum())
        if not dated.any() and not (start and end):
            return Histogram("month", undated=undated)
        days = self.day_number[dated]
        first = _ordinal(start) if start else int(days.min())
        last = _ordinal(end) if end else int(days.max())
        span = last - first + 1
        granularity: Granularity = "day" if span <= 92 else "week" if span <= 730 else "month"
        bucket = self._bucket_of(granularity)
        population = self.first_copies() if stories else self.live
        all_dated = population & (self.date > UNKNOWN)
        low, high = bucket(np.array([first]))[0], bucket(np.array([last]))[0]
        in_range = (bucket(self.day_number) >= low) & (bucket(self.day_number) <= high)
        size = int(high - low + 1)
        counts = np.bincount(bucket(self.day_number[dated & in_range]) - low, minlength=size)
        totals = np.bincount(bucket(self.day_number[all_dated & in_range]) - low, minlength=size)
        starts = [_bucket_start(granularity, low + i) for i in range(size)]
        return Histogram(granularity, starts, counts[:size].tolist(), totals[:size].tolist(),
                         undated)

    @staticmethod
    def _bucket_of(granularity: Granularity):  # noqa: ANN205 - a numpy function
        if granularity == "day":
            return lambda days: days
        if granularity == "week":
            return lambda days: (days + 3) // 7  # weeks from Monday (1970-01-01 was a Thursday)
        return lambda days: (days.astype("datetime64[D]").astype("datetime64[M]")
                             .astype(np.int64))


def histogram_of_days(days: dict[dt.date, int], undated: int,
                      totals: Callable[[dt.date, dt.date], dict[dt.date, int]],
                      start: dt.date | None = None, end: dt.date | None = None) -> Histogram:
    """DocColumns.histogram from counts per day (an engine that counts in its database):
    `days` the matches per day, `totals(first, last)` the archive's articles (or stories)
    per day between two dates. The same periods, granularity and counts."""
    if not days and not (start and end):
        return Histogram("month", undated=undated)
    first = _ordinal(start) if start else min(_ordinal(d) for d in days)
    last = _ordinal(end) if end else max(_ordinal(d) for d in days)
    span = last - first + 1
    granularity: Granularity = "day" if span <= 92 else "week" if span <= 730 else "month"
    bucket = DocColumns._bucket_of(granularity)
    low, high = (int(b) for b in bucket(np.array([first, last], dtype=np.int64)))
    size = high - low + 1
    # Every day of the first and the last period, not only those inside start..end.
    opening = _bucket_start(granularity, low)
    closing = _bucket_start(granularity, high + 1) - dt.timedelta(days=1)

    def per_period(counted: dict[dt.date, int]) -> list[int]:
        if not counted:
            return [0] * size
        numbers = np.array([_ordinal(d) for d in counted], dtype=np.int64)
        periods = bucket(numbers) - low
        inside = (periods >= 0) & (periods < size)
        weights = np.array(list(counted.values()), dtype=np.int64)
        return np.bincount(periods[inside], weights[inside], minlength=size)[:size].astype(
            np.int64).tolist()

    starts = [_bucket_start(granularity, low + i) for i in range(size)]
    return Histogram(granularity, starts, per_period(days),
                     per_period(totals(opening, closing)), undated)


def _ordinal(value: dt.date) -> int:
    return (value - _EPOCH).days


def _bucket_start(granularity: Granularity, bucket: int) -> dt.date:
    if granularity == "day":
        return _EPOCH + dt.timedelta(days=int(bucket))
    if granularity == "week":
        return _EPOCH + dt.timedelta(days=int(bucket) * 7 - 3)
    return dt.date(1970 + int(bucket) // 12, int(bucket) % 12 + 1, 1)
