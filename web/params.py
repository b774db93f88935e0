"""The search state, read from and written back to the URL query string.

One parser serves the results page, the explain page, the exports, the Atom feed and the
JSON API, so a link copied from any of them means the same search everywhere.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from archive.index import SORTS, SearchRequest

PER_PAGE = 10
MAX_PER_PAGE = 100  # the API's largest page
# Ten million results deep: past any real archive. Deeper pages are refused, because the
# index ranks every hit up to the page it returns.
MAX_RESULTS_DEEP = 10_000_000
MAX_PAGE = MAX_RESULTS_DEEP // PER_PAGE
MAX_QUERY_CHARS = 1_000
MAX_OUTLETS = 50
MAX_OUTLET_CHARS = 200
MAX_LANGUAGES = 20
MAX_LANGUAGE_CHARS = 12  # the width of the language column
SORT_ALIASES = {"date": "newest"}  # as `archive search --sort date`
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadParameter(ValueError):
    """A query-string parameter that cannot be used; names it and says what would work."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True, slots=True)
class SearchState:
    q: str = ""
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str | None = None  # None: the default for the query
    stories: bool = False  # one result per story
    share: bool = False  # the chart shows shares of the archive instead of counts
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def effective_sort(self) -> str:
        if self.sort == "relevance" and not self.q:
            return "newest"  # relevance means nothing without words to rank by
        return self.sort or ("relevance" if self.q else "newest")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def request(self, *, histogram: bool = False) -> SearchRequest:
        return SearchRequest(text=self.q, outlets=self.outlets, languages=self.languages,
                             date_from=self.date_from, date_to=self.date_to,
                             sort=self.effective_sort,  # type: ignore[arg-type]
                             offset=self.offset, limit=self.per_page,
                             one_per_story=self.stories, histogram=histogram)

    @property
    def filtered(self) -> bool:
        return bool(self.outlets or self.languages or self.date_from or self.date_to)

    @property
    def unit(self) -> str:
        """What one result is: an article, or a story with all its copies."""
        return "story" if self.stories else "article"

    def pairs(self, *, page: bool = True) -> list[tuple[str, str]]:
        """Query-string pairs in a stable order, defaults left out."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        pairs.extend(("outlet", name) for name in self.outlets)
        pairs.extend(("language", code) for code in self.languages)
        if self.date_from:
            pairs.append(("from", self.date_from.isoformat()))
        if self.date_to:
            pairs.append(("to", self.date_to.isoformat()))
        if self.sort:
            pairs.append(("sort", self.sort))
        if self.stories:
            pairs.append(("stories", "1"))
        if self.share:
            pairs.append(("share", "1"))
        if page and self.page != 1:
            pairs.append(("page", str(self.page)))
        if page and self.per_page != PER_PAGE:
            pairs.append(("per_page", str(self.per_page)))
        return pairs

    def query_string(self, *, page: bool = True) -> str:
        pairs = self.pairs(page=page)
        return "?" + urlencode(pairs) if pairs else ""

    def but(self, **changes: object) -> SearchState:
        """A copy with changes; any change other than the page starts again at page 1."""
        changes.setdefault("page", 1)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def with_dates(self, start: dt.date | None, end: dt.date | None) -> SearchState:
        return self.but(date_from=start, date_to=end)

    # --- facets ---------------------------------------------------------------------------

    def outlet_active(self, name: str) -> bool:
        return name in self.outlets

    def toggle_outlet(self, name: str) -> SearchState:
        if name in self.outlets:
            return self.but(outlets=tuple(o for o in self.outlets if o != name))
        return self.but(outlets=(*self.outlets, name))

    def toggle_language(self, code: str) -> SearchState:
        if code in self.languages:
            return self.but(languages=tuple(c for c in self.languages if c != code))
        return self.but(languages=(*self.languages, code))

    @property
    def active_year(self) -> int | None:
        """The year the date range covers exactly, if it does (set by a year facet)."""
        start, end = self.date_from, self.date_to
        if start and end and start.year == end.year and (start.month, start.day) == (1, 1) \
                and (end.month, end.day) == (12, 31):
            return start.year
        return None

    @property
    def active_month(self) -> int | None:
        """The month (YYYYMM) the date range covers exactly, if it does."""
        start, end = self.date_from, self.date_to
        if start and end and start.day == 1 and end == month_end(start):
            return start.year * 100 + start.month
        return None

    @property
    def drill_year(self) -> int | None:
        """The year whose months the year facet opens: a chosen year, or a chosen month's."""
        month = self.active_month
        return self.active_year or (month // 100 if month else None)

    def toggle_year(self, year: int) -> SearchState:
        if self.active_year == year:
            return self.but(date_from=None, date_to=None)
        return self.but(date_from=dt.date(year, 1, 1), date_to=dt.date(year, 12, 31))

    def toggle_month(self, month: int) -> SearchState:
        """Narrow to a month (YYYYMM); the chosen month again goes back to its year."""
        year, number = divmod(month, 100)
        if self.active_month == month:
            return self.toggle_year(year)
        first = dt.date(year, number, 1)
        return self.but(date_from=first, date_to=month_end(first))


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def parse_state(args: MultiDict[str, str], *, max_per_page: int = PER_PAGE) -> SearchState:
    """The state a query string asks for; raises BadParameter naming what is wrong.

    per_page is read only where max_per_page allows more than the default (the API)."""
    raw = args.get("q", "")
    # Measured as sent (as the OpenAPI document's maxLength is), before spaces are folded.
    if len(raw) > MAX_QUERY_CHARS:
        raise BadParameter("q", f"the query is {len(raw):,} characters long; the limit is "
                                f"{MAX_QUERY_CHARS:,}")
    q = _clean(raw)
    # Names are kept as given ("" is the unknown outlet), control characters aside.
    outlets = _values(args, "outlet", MAX_OUTLETS, MAX_OUTLET_CHARS)
    languages = _values(args, "language", MAX_LANGUAGES, MAX_LANGUAGE_CHARS)
    date_from = _day(args, "from")
    date_to = _day(args, "to")
    if date_from and date_to and date_from > date_to:
        raise BadParameter("to", f"the end date {date_to} is before the start date {date_from}")
    per_page = _per_page(args, max_per_page) if max_per_page > PER_PAGE else PER_PAGE
    return SearchState(q=q, outlets=outlets, languages=languages, date_from=date_from,
                       date_to=date_to, sort=_sort(args), stories=flag(args, "stories"),
                       share=flag(args, "share"), page=_page(args, per_page),
                       per_page=per_page)


def flag(args: MultiDict[str, str], name: str) -> bool:
    """A yes/no parameter: 1/0, true/false, yes/no, on/off; absent or empty is no."""
    value = args.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadParameter(name, f"{_shorten(value)!r} is not a yes/no value; use 1 or 0")


def _values(args: MultiDict[str, str], name: str, most: int, longest: int
            ) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(_CONTROL.sub(" ", value) for value in args.getlist(name)))
    if len(values) > most:
        raise BadParameter(name, f"at most {most} values can be chosen at once")
    for value in values:
        if len(value) > longest:
            raise BadParameter(name, f"a value is longer than {longest} characters")
    return values


def _clean(value: str) -> str:
    # NUL and other control characters cannot be part of a word; treat them as spaces.
    return " ".join(_CONTROL.sub(" ", value).split())


def _day(args: MultiDict[str, str], name: str) -> dt.date | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadParameter(name, f"{_shorten(value)!r} is not a date like 2022-03-31") from None


def _sort(args: MultiDict[str, str]) -> str | None:
    value = args.get("sort", "").strip().lower()
    if not value:
        return None
    value = SORT_ALIASES.get(value, value)
    if value not in SORTS:
        raise BadParameter("sort", f"{_shorten(value)!r} is not a sort order; use one of "
                                   + ", ".join(SORTS))
    return value


def _number(args: MultiDict[str, str], name: str, low: int, high: int, default: int) -> int:
    value = args.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise BadParameter(name, f"{_shorten(value)!r} is not a number from {low} to "
                                 f"{high:,}")
    return int(value)


def _page(args: MultiDict[str, str], per_page: int) -> int:
    return _number(args, "page", 1, MAX_RESULTS_DEEP // per_page, 1)


def _per_page(args: MultiDict[str, str], most: int) -> int:
    return _number(args, "per_page", 1, most, PER_PAGE)


def _shorten(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


@dataclass(frozen=True, slots=True)
class PageLink:
    number: int | None  # None: a gap ("…") between page numbers
    current: bool = False


def page_count(total: int, per_page: int = PER_PAGE) -> int:
    return max(1, math.ceil(total / per_page))


def page_links(current: int, last: int, *, around: int = 2) -> Iterator[PageLink]:
    """First, last and a few pages either side of the current one, with gaps between."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    previous = 0
    for number in shown:
        if number - previous > 1:
            yield PageLink(None)
        yield PageLink(number, number == current)
        previous = number
