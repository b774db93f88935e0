"""`archive stats`: what the archive holds, by outlet and by year."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import extract, func, select

from archive.instance import Archive
from archive.models import Article, IngestError, IngestRun, Outlet, Source


@dataclass(frozen=True, slots=True)
class Stats:
    articles: int
    sources: int
    outlets: list[tuple[str | None, int]]
    years: list[tuple[int | None, int]]
    runs: int
    last_run_errors: int


def collect(archive: Archive) -> Stats:
    with archive.sessions() as session:
        articles = session.scalar(select(func.count(Article.id))) or 0
        sources = session.scalar(select(func.count(Source.id))) or 0
        outlets = session.execute(
            select(Outlet.name, func.count(Article.id))
            .select_from(Article).outerjoin(Outlet, Article.outlet_id == Outlet.id)
            .group_by(Outlet.name).order_by(func.count(Article.id).desc(), Outlet.name)
        ).all()
        year = extract("year", Article.published_date)
        years = session.execute(
            select(year, func.count(Article.id)).group_by(year).order_by(year.desc())
        ).all()
        runs = session.scalar(select(func.count(IngestRun.id))) or 0
        last_run = session.scalar(select(func.max(IngestRun.id)))
        errors = session.scalar(select(func.count(IngestError.id))
                                .where(IngestError.ingest_run_id == last_run)) or 0
    return Stats(
        articles=articles,
        sources=sources,
        outlets=[(name, count) for name, count in outlets],
        years=[(int(y) if y else None, count) for y, count in years],
        runs=runs,
        last_run_errors=errors,
    )
