"""Search as users see it: ranked ids from the index, articles and snippets from the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from archive.facets import Histogram
from archive.index import Explanation, Fragment, SearchHits, SearchRequest, deadline
from archive.instance import Archive
from archive.models import Article, Outlet

# A body with no highlighted passage (the query matched only the title) opens with this much.
LEAD_CHARS = 240
# "Did you mean" is offered when a query finds fewer than this many articles.
SUGGEST_BELOW = 3
# Significant terms are computed from this many of the best matches.
SIGNIFICANT_SAMPLE = 200


@dataclass(frozen=True, slots=True)
class Copy:
    """Another article of the same story."""

    id: int
    outlet: str | None
    published: dt.date | None


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
    language: str | None = None
    story_id: int | None = None
    # The story's other copies (other outlets or other pages of the same outlet).
    copies: list[Copy] = field(default_factory=list)

    @property
    def plain_title(self) -> str:
        return "".join(text for text, _ in self.title)

    @property
    def date_label(self) -> str:
        return format_date(self.published, self.date_precision)

    @property
    def other_outlets(self) -> list[str]:
        """Outlets that also carried this story, each once, in the order found."""
        names = dict.fromkeys(c.outlet for c in self.copies if c.outlet and c.outlet != self.outlet)
        return list(names)


@dataclass(frozen=True, slots=True)
class SearchPage:
    request: SearchRequest
    total: int
    hits: list[Hit]
    outlet_counts: list[tuple[str, int]]
    year_counts: list[tuple[int, int]]
    month_counts: list[tuple[int, int]] = field(default_factory=list)
    language_counts: list[tuple[str, int]] = field(default_factory=list)
    histogram: Histogram | None = None
    suggestion: str | None = None  # a corrected query, when this one found little
    notes: list[str] = field(default_factory=list)  # why the results may be partial

    @property
    def has_next(self) -> bool:
        return self.request.offset + len(self.hits) < self.total


def search(archive: Archive, request: SearchRequest, *, suggest: bool = True) -> SearchPage:
    """Run a search; raises archive.index.QueryError for a query that cannot run (and its
    SearchTimeout for one that ran out of time)."""
    with deadline(archive.index.deadline_seconds):
        found: SearchHits = archive.index.search(request)
        hits = _load_hits(archive, request.text, found.ids)
        suggestion = None
        if suggest and request.text and found.total < SUGGEST_BELOW:
            suggestion = archive.index.suggest(
                request.text, lambda article_id: _body(archive, article_id))
    return SearchPage(request, found.total, hits, found.outlet_counts, found.year_counts,
                      found.month_counts, found.language_counts, found.histogram, suggestion,
                      found.notes)


def _body(archive: Archive, article_id: int) -> str | None:
    with archive.sessions() as session:
        return session.scalar(select(Article.body).where(Article.id == article_id))


def _load_hits(archive: Archive, text: str, ids: list[int]) -> list[Hit]:
    with archive.sessions() as session:
        rows = session.execute(
            select(Article.id, Article.title, Outlet.name, Article.published_date,
                   Article.date_precision, Article.url, Article.body, Article.word_count,
                   Article.language, Article.story_id)
            .outerjoin(Outlet, Article.outlet_id == Outlet.id)
            .where(Article.id.in_(ids))
        ).all()
        copies = _copies(session, {row.story_id for row in rows if row.story_id})
    by_id = {row.id: row for row in rows}
    marker = archive.index.highlighter(text)
    hits = []
    for article_id in ids:  # the index's rank order
        row = by_id.get(article_id)
        if row is None:
            continue  # removed from the database since it was indexed; `archive check` says so
        title = row.title or "(untitled)"
        marked_title = marker.passages("title", title, whole=True)
        snippet = marker.passages("body", row.body)
        hits.append(Hit(
            id=row.id,
            title=marked_title[0] if marked_title else Fragment([(title, False)]),
            outlet=row.name,
            published=row.published_date,
            date_precision=row.date_precision,
            url=row.url,
            snippet=snippet or [_lead(row.body)],
            word_count=row.word_count,
            language=row.language,
            story_id=row.story_id,
            copies=[c for c in copies.get(row.story_id, []) if c.id != row.id],
        ))
    return hits


def _copies(session, story_ids: set[int]) -> dict[int, list[Copy]]:  # noqa: ANN001
    """Every article of these stories that has more than one, oldest first."""
    if not story_ids:
        return {}
    shared = (select(Article.story_id).where(Article.story_id.in_(story_ids))
              .group_by(Article.story_id).having(func.count() > 1))
    rows = session.execute(
        select(Article.story_id, Article.id, Outlet.name, Article.published_date)
        .outerjoin(Outlet, Article.outlet_id == Outlet.id)
        .where(Article.story_id.in_(shared))
        .order_by(Article.story_id, Article.published_date, Article.id)
    )
    found: dict[int, list[Copy]] = defaultdict(list)
    for story_id, article_id, outlet, published in rows:
        found[story_id].append(Copy(article_id, outlet, published))
    return found


def _lead(body: str) -> Fragment:
    lead = Fragment([(body, False)])
    if len(body) > LEAD_CHARS:
        cut = body.rfind(" ", 0, LEAD_CHARS)
        lead = Fragment([(body[: cut if cut > 0 else LEAD_CHARS], False)])
        lead.cut_end = True
    return lead


def explain(archive: Archive, text: str) -> Explanation:
    """How the index understood a query (raises QueryError like search does)."""
    return archive.index.explain(text)


def more_like_this(archive: Archive, article_id: int, *, limit: int = 5) -> list[Hit]:
    """Articles about the same things as this one, not counting copies of its story."""
    body = _body(archive, article_id)
    if body is None:
        return []
    return _load_hits(archive, "", archive.index.more_like(article_id, body, limit=limit))


def significant_terms(archive: Archive, request: SearchRequest, *, top: int = 12
                      ) -> list[tuple[str, float]]:
    """Words that set the best matches of a search apart from the archive as a whole."""
    if not request.text.strip():
        return []
    sample = dataclasses.replace(request, offset=0, limit=SIGNIFICANT_SAMPLE, sort="relevance",
                                 histogram=False)
    ids = archive.index.search(sample).ids
    with archive.sessions() as session:
        bodies = list(session.scalars(select(Article.body).where(Article.id.in_(ids))))
    return archive.index.significant_terms(bodies, exclude=request.text, top=top)


def format_date(value: dt.date | None, precision: str | None) -> str:
    """A date as precisely as it is known: 2022-03-20, 2022-03, 2022, or "date unknown"."""
    if value is None:
        return "date unknown"
    if precision == "year":
        return str(value.year)
    if precision == "month":
        return value.strftime("%Y-%m")
    return value.isoformat()
