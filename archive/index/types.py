"""What goes in and out of the index: requests, results, documents, errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from archive.facets import Histogram

Sort = Literal["relevance", "newest", "oldest"]
SORTS: tuple[Sort, ...] = ("relevance", "newest", "oldest")
UNKNOWN_YEAR = 0  # the year facet value of articles whose date is unknown


class QueryError(ValueError):
    """A query the index cannot run; the message tells the user what to change."""


class IndexMissing(Exception):
    """There is no usable index where one was expected; `archive reindex` builds it."""


@dataclass(frozen=True, slots=True)
class IndexDoc:
    id: int
    title: str
    body: str
    outlet: str | None
    published: dt.date | None
    language: str | None
    byline: str | None = None
    story: int | None = None  # the id of the story's first copy; its own id when alone


@dataclass(frozen=True, slots=True)
class SearchRequest:
    text: str = ""
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: Sort = "relevance"
    offset: int = 0
    limit: int = 10
    # One result per story (its earliest copy); counts then count stories.
    one_per_story: bool = False
    histogram: bool = False


@dataclass(slots=True)
class SearchHits:
    total: int
    ids: list[int]
    # Counts over all matches, most frequent first. Each facet ignores its own filter, so
    # more outlets (or another year) can be added: outlets ignore the outlet filter, years
    # and months the date filter, languages the language filter.
    outlet_counts: list[tuple[str, int]] = field(default_factory=list)
    year_counts: list[tuple[int, int]] = field(default_factory=list)
    month_counts: list[tuple[int, int]] = field(default_factory=list)  # (YYYYMM, n)
    language_counts: list[tuple[str, int]] = field(default_factory=list)
    histogram: Histogram | None = None
    # Why the results may be partial (a pattern's expansion cut to its commonest words).
    notes: list[str] = field(default_factory=list)


class Fragment(list):
    """One passage of a snippet: (text, is_match) pieces. cut_start/cut_end say whether the
    passage begins or ends inside the text (so the reader should see an ellipsis)."""

    cut_start: bool = False
    cut_end: bool = False
    start: int = 0  # offsets of the passage in the text
    end: int = 0


@dataclass(frozen=True, slots=True)
class Clause:
    """One part of a query as the index understood it."""

    kind: str  # term, phrase, prefix, wildcard, fuzzy, date range, all
    field: str
    typed: str  # what the user wrote (as well as it can be recovered)
    searched: str  # what is looked up: stems, expansions
    matches: int
    negated: bool = False
    expansions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Explanation:
    query: str  # the parsed query in Whoosh's notation
    clauses: list[Clause]
    total: int
    notes: list[str] = field(default_factory=list)
