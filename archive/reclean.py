"""`archive reclean`: run the current cleaner over every stored raw input again.

Articles whose text or metadata come out different are updated and re-indexed; an input
the current cleaner can no longer read keeps its stored article (nothing is lost) and is
reported. Story membership is kept; story keys are recomputed from the new text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, insert, select

from archive import boilerplate, store
from archive.document import RawDocument, word_count
from archive.extract import CLEANER_VERSION
from archive.ingest import Prepared, extract_all
from archive.instance import Archive
from archive.maintenance import index_rows
from archive.models import Article, BoilerplateLine, Outlet, Source, StoryKey
from archive.stories import key_rows

BATCH = 500
# Fields compared between the stored article and the new extraction, as users name them.
FIELDS = ("title", "body", "date", "outlet", "byline", "language", "url")


@dataclass(slots=True)
class RecleanReport:
    articles: int = 0
    changed: int = 0
    field_changes: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (article id, reason)
    examples: list[tuple[int, list[str]]] = field(default_factory=list)  # first few changes
    # Outlets no article names any more (junk an older extractor stored), removed from the
    # archive; a dry run leaves them and lists none.
    outlets_removed: list[str] = field(default_factory=list)


def reclean(archive: Archive, *, dry_run: bool = False, jobs: int = 1,
            progress: Callable[[int, int], None] | None = None) -> RecleanReport:
    """Re-extract every article from its raw input; hold `archive.writing()` unless dry_run."""
    report = RecleanReport()
    with archive.sessions() as session:
        ids = list(session.scalars(select(Article.id).order_by(Article.id)))
        learned = boilerplate.learned(session)
    outlets = store.OutletCache()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        with archive.sessions() as session:
            rows = session.execute(
                select(Article.id, Source.uri, Source.content, Source.format, Source.supplied)
                .join(Source, Source.id == Article.source_id).where(Article.id.in_(chunk))
                .order_by(Article.id)).all()
        raws = [RawDocument(uri, content, fmt, dict(supplied or {}))
                for _, uri, content, fmt, supplied in rows]
        extracted = extract_all(raws, jobs, learned, archive.outlet_table)
        results = {row[0]: result for row, (_, result) in zip(rows, extracted, strict=True)}
        changed_ids = _apply(archive, results, report, outlets, dry_run)
        if changed_ids and not dry_run:
            index_rows(archive, changed_ids, replace=True)
        report.articles += len(rows)
        if progress:
            progress(min(start + BATCH, len(ids)), len(ids))
    if not dry_run:
        report.outlets_removed = _remove_unused_outlets(archive)
    return report


def _remove_unused_outlets(archive: Archive) -> list[str]:
    """Drop outlets that no article names, so the outlet facet loses them; their learned
    boilerplate goes with them (it was learned from pages that were never theirs)."""
    with archive.sessions() as session, session.begin():
        unused = select(Outlet.id).where(~exists().where(Article.outlet_id == Outlet.id))
        names = list(session.scalars(select(Outlet.name).where(Outlet.id.in_(unused))
                                     .order_by(Outlet.name)))
        if names:
            session.execute(delete(BoilerplateLine)
                            .where(BoilerplateLine.outlet_id.in_(unused)))
            session.execute(delete(Outlet).where(Outlet.id.in_(unused)))
    return names


def _apply(archive: Archive, results: dict[int, Prepared | str], report: RecleanReport,
           outlets: store.OutletCache, dry_run: bool) -> list[int]:
    changed_ids = []
    with archive.sessions() as session, session.begin():
        stored = {a.id: a for a in session.scalars(
            select(Article).where(Article.id.in_(list(results))))}
        # Keyed by int | None: an article without an outlet looks up None and finds none.
        names: dict[int | None, str] = dict(
            session.execute(select(Outlet.id, Outlet.name)).all())
        for article_id, result in results.items():
            if isinstance(result, str):
                report.failures.append((article_id, result))
                continue
            article = stored[article_id]
            new = result.article
            published = new.published
            after = {"title": new.title, "body": new.body, "byline": new.byline,
                     "outlet": new.outlet, "language": new.language, "url": new.url,
                     "date": (published.value, published.precision) if published else None}
            before = {"title": article.title, "body": article.body, "byline": article.byline,
                      "outlet": names.get(article.outlet_id), "language": article.language,
                      "url": article.url,
                      "date": (article.published_date, article.date_precision)
                      if article.published_date else None}
            differences = [name for name in FIELDS if after[name] != before[name]]
            if not differences:
                continue
            report.changed += 1
            report.field_changes.update(differences)
            if len(report.examples) < 10:
                report.examples.append((article_id, differences))
            if dry_run:
                continue
            article.title, article.body, article.byline = new.title, new.body, new.byline
            article.language, article.url = new.language, new.url
            article.outlet_id = outlets.id_for(session, new.outlet)
            article.published_date = published.value if published else None
            article.date_precision = published.precision if published else None
            article.word_count = word_count(new.body)
            article.body_hash = result.body_hash
            article.provenance = new.provenance
            article.cleaner_version = CLEANER_VERSION
            article.indexed_at = None
            session.execute(delete(StoryKey).where(StoryKey.article_id == article_id))
            if result.story_keys:
                session.execute(insert(StoryKey), key_rows(article_id, result.story_keys))
            changed_ids.append(article_id)
    return changed_ids
