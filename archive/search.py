"""Search as users see it: ranked ids from the index, articles and snippets from the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from archive.index import Fragment, SearchHits, SearchRequest
from archive.instance import Archive
from archive.models import Article, Outlet

# A body with no highlighted passage (the query matched only the title) opens with this much.
LEAD_CHARS = 240


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    title: Fragment  # the title with matching words marked
    outlet: str | None
    published: dt.date | None
    date_precision: str | None
    url: str | None
    snippet: list[Fragment]
    word_count: int

    @property
    def plain_title(self) -> str:
        return "".join(text for text, _ in self.title)

    @property
    def date_label(self) -> str:
        return format_date(self.published, self.date_precision)


@dataclass(frozen=True, slots=True)
class SearchPage:
    request: SearchRequest
    total: int
    hits: list[Hit]
    outlet_counts: list[tuple[str, int]]
    year_counts: list[tuple[int, int]]

    @property
    def has_next(self) -> bool:
        return self.request.offset + len(self.hits) < self.total


def search(archive: Archive, request: SearchRequest) -> SearchPage:
    """Run a search; raises archive.index.QueryError for a query that cannot run."""
    found: SearchHits = archive.index.search(request)
    with archive.sessions() as session:
        rows = session.execute(
            select(Article.id, Article.title, Outlet.name, Article.published_date,
                   Article.date_precision, Article.url, Article.body, Article.word_count)
            .outerjoin(Outlet, Article.outlet_id == Outlet.id)
            .where(Article.id.in_(found.ids))
        ).all()
    by_id = {row.id: row for row in rows}
    hits = []
    for article_id in found.ids:  # the index's rank order
        row = by_id.get(article_id)
        if row is None:
            continue  # removed from the database since it was indexed; `archive check` says so
        title = row.title or "(untitled)"
        marked_title = archive.index.highlight(request.text, "title", title, top=1, whole=True)
        snippet = archive.index.highlight(request.text, "body", row.body)
        hits.append(Hit(
            id=row.id,
            title=marked_title[0] if marked_title else [(title, False)],
            outlet=row.name,
            published=row.published_date,
            date_precision=row.date_precision,
            url=row.url,
            snippet=snippet or [[(_lead(row.body), False)]],
            word_count=row.word_count,
        ))
    return SearchPage(request, found.total, hits, found.outlet_counts, found.year_counts)


def _lead(body: str) -> str:
    if len(body) <= LEAD_CHARS:
        return body
    cut = body.rfind(" ", 0, LEAD_CHARS)
    return body[: cut if cut > 0 else LEAD_CHARS] + " …"


def format_date(value: dt.date | None, precision: str | None) -> str:
    """A date as precisely as it is known: 2022-03-20, 2022-03, 2022, or "date unknown"."""
    if value is None:
        return "date unknown"
    if precision == "year":
        return str(value.year)
    if precision == "month":
        return value.strftime("%Y-%m")
    return value.isoformat()
