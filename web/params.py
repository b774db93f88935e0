"""The search page's state, read from and written back to the URL query string."""

from __future__ import annotations

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
# Ten million results deep: past any real archive. Deeper pages are refused, because the
# index ranks every hit up to the page it returns.
MAX_PAGE = 1_000_000
MAX_QUERY_CHARS = 1_000
MAX_OUTLETS = 50
MAX_OUTLET_CHARS = 200
SORT_ALIASES = {"date": "newest"}  # as `archive search --sort date`
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
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str | None = None  # None: the default for the query
    page: int = 1

    @property
    def effective_sort(self) -> str:
        if self.sort == "relevance" and not self.q:
            return "newest"  # relevance means nothing without words to rank by
        return self.sort or ("relevance" if self.q else "newest")

    @property
    def offset(self) -> int:
        return (self.page - 1) * PER_PAGE

    def request(self) -> SearchRequest:
        return SearchRequest(text=self.q, outlets=self.outlets, date_from=self.date_from,
                             date_to=self.date_to, sort=self.effective_sort,  # type: ignore[arg-type]
                             offset=self.offset, limit=PER_PAGE)

    @property
    def filtered(self) -> bool:
        return bool(self.outlets or self.date_from or self.date_to)

    def pairs(self) -> list[tuple[str, str]]:
        """Query-string pairs in a stable order, defaults left out."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        pairs.extend(("outlet", name) for name in self.outlets)
        if self.date_from:
            pairs.append(("from", self.date_from.isoformat()))
        if self.date_to:
            pairs.append(("to", self.date_to.isoformat()))
        if self.sort:
            pairs.append(("sort", self.sort))
        if self.page != 1:
            pairs.append(("page", str(self.page)))
        return pairs

    def query_string(self) -> str:
        pairs = self.pairs()
        return "?" + urlencode(pairs) if pairs else ""

    def but(self, **changes: object) -> SearchState:
        """A copy with changes; any change other than the page starts again at page 1."""
        changes.setdefault("page", 1)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    # --- facets ---------------------------------------------------------------------------

    def outlet_active(self, name: str) -> bool:
        return name in self.outlets

    def toggle_outlet(self, name: str) -> SearchState:
        if name in self.outlets:
            return self.but(outlets=tuple(o for o in self.outlets if o != name))
        return self.but(outlets=(*self.outlets, name))

    @property
    def active_year(self) -> int | None:
        """The year the date range covers exactly, if it does (set by a year facet)."""
        start, end = self.date_from, self.date_to
        if start and end and start.year == end.year and (start.month, start.day) == (1, 1) \
                and (end.month, end.day) == (12, 31):
            return start.year
        return None

    def toggle_year(self, year: int) -> SearchState:
        if self.active_year == year:
            return self.but(date_from=None, date_to=None)
        return self.but(date_from=dt.date(year, 1, 1), date_to=dt.date(year, 12, 31))


def parse_state(args: MultiDict[str, str]) -> SearchState:
    """The state a query string asks for; raises BadParameter naming what is wrong."""
    q = _clean(args.get("q", ""))
    if len(q) > MAX_QUERY_CHARS:
        raise BadParameter("q", f"the query is {len(q):,} characters long; the limit is "
                                f"{MAX_QUERY_CHARS:,}")
    # Names are kept as given ("" is the unknown outlet), control characters aside.
    outlets = tuple(dict.fromkeys(_CONTROL.sub(" ", name) for name in args.getlist("outlet")))
    if len(outlets) > MAX_OUTLETS:
        raise BadParameter("outlet", f"at most {MAX_OUTLETS} outlets can be chosen at once")
    for name in outlets:
        if len(name) > MAX_OUTLET_CHARS:
            raise BadParameter("outlet", f"an outlet name is longer than {MAX_OUTLET_CHARS} "
                                         "characters")
    date_from = _day(args, "from")
    date_to = _day(args, "to")
    if date_from and date_to and date_from > date_to:
        raise BadParameter("to", f"the end date {date_to} is before the start date {date_from}")
    return SearchState(q=q, outlets=outlets, date_from=date_from, date_to=date_to,
                       sort=_sort(args), page=_page(args))


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


def _page(args: MultiDict[str, str]) -> int:
    value = args.get("page", "").strip()
    if not value:
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise BadParameter("page", f"{_shorten(value)!r} is not a page number from 1 to "
                                   f"{MAX_PAGE:,}")
    return int(value)


def _shorten(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


@dataclass(frozen=True, slots=True)
class PageLink:
    number: int | None  # None: a gap ("…") between page numbers
    current: bool = False


def page_count(total: int) -> int:
    return max(1, math.ceil(total / PER_PAGE))


def page_links(current: int, last: int, *, around: int = 2) -> Iterator[PageLink]:
    """First, last and a few pages either side of the current one, with gaps between."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    previous = 0
    for number in shown:
        if number - previous > 1:
            yield PageLink(None)
        yield PageLink(number, number == current)
        previous = number
