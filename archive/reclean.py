"""`archive reclean`: run the current cleaner over every stored raw input again.

Articles whose text or metadata come out different are updated and re-indexed; an input
the current cleaner can no longer read keeps its stored article (nothing is lost) and is
reported. Story membership is kept; story keys are recomputed from the new text.

This is also how an archive stored by an older version is repaired: dates and outlets are
derived again, each article goes to the outlet a fresh ingest would give it (outlets an
older matching rule wrongly joined are split, ones it kept apart are merged), and outlets
no article names any more are removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import delete, exists, func, insert, select, update

from archive import boilerplate, store
from archive.document import RawDocument, word_count
from archive.extract import CLEANER_VERSION
from archive.ingest import Prepared, extract_all
from archive.instance import Archive
from archive.maintenance import index_rows
from archive.models import Article, BoilerplateLine, Outlet, Source, StoryKey
from archive.site_evidence import file_by_site
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
    # Of those, the ones whose articles now belong to another outlet of the same name
    # ("edition.example.com" and "Example"): (removed, kept).
    outlets_merged: list[tuple[str, str]] = field(default_factory=list)
    # Outlets created for articles that had been filed under another one (a dry run counts
    # the ones it would create).
    outlets_added: list[str] = field(default_factory=list)

    @property
    def dates_changed(self) -> int:
        return self.field_changes["date"]

    @property
    def articles_moved(self) -> int:
        """Articles now filed under another outlet."""
        return self.field_changes["outlet"]


def reclean(archive: Archive, *, dry_run: bool = False, jobs: int = 1,
            progress: Callable[[int, int], None] | None = None) -> RecleanReport:
    """Re-extract every article from its raw input; hold `archive.writing()` unless dry_run."""
    report = RecleanReport()
    with archive.sessions() as session:
        ids = list(session.scalars(select(Article.id).order_by(Article.id)))
        learned = boilerplate.learned(session)
    # Each article goes where a fresh ingest would put it, stored outlet names included.
    outlets = store.OutletCache(regroup=True)
    would_add: set[str] = set()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        with archive.sessions() as session:
            rows = session.execute(
                select(Article.id, Source.uri, store.raw_input, Source.format, Source.supplied)
                .join(Source, Source.id == Article.source_id).where(Article.id.in_(chunk))
                .order_by(Article.id)).all()
        raws = [RawDocument(uri, content, fmt, dict(supplied or {}))
                for _, uri, content, fmt, supplied in rows]
        extracted = extract_all(raws, jobs, learned, archive.outlet_table)
        results = {row[0]: result for row, (_, result) in zip(rows, extracted, strict=True)}
        changed_ids = _apply(archive, results, report, outlets, dry_run, would_add)
        if changed_ids and not dry_run:
            index_rows(archive, changed_ids, replace=True)
        report.articles += len(rows)
        if progress:
            progress(min(start + BATCH, len(ids)), len(ids))
    if dry_run:
        report.outlets_added = sorted(would_add)
    else:
        report.outlets_added = list(outlets.created)
        removed = _remove_unused_outlets(archive)
        report.outlets_merged, report.outlets_removed = _merged(archive, removed)
    return report


def outdated(archive: Archive) -> int:
    """How many articles an older version of the cleaner made (their dates and outlets may
    be ones this version reads differently); `archive reclean` brings them up to date."""
    with archive.sessions() as session:
        return session.scalar(select(func.count()).select_from(Article)
                              .where(Article.cleaner_version != CLEANER_VERSION)) or 0


def _merged(archive: Archive, removed: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Split removed outlets into those merged into a kept one of the same key, and the rest."""
    with archive.sessions() as session:
        kept: dict[str, str] = {}
        for name in session.scalars(select(Outlet.name).order_by(Outlet.id)):
            kept.setdefault(store.outlet_key(name), name)
    merged = [(name, kept[store.outlet_key(name)]) for name in removed
              if store.outlet_key(name) in kept]
    gone = [name for name in removed if store.outlet_key(name) not in kept]
    return merged, gone


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
           outlets: store.OutletCache, dry_run: bool, would_add: set[str]) -> list[int]:
    changed_ids = []
    recleaned = []
    with archive.sessions() as session, session.begin():
        archive.confirm_writer(session)  # PostgreSQL: still alone, as recleaning must be
        stored = {a.id: a for a in session.scalars(
            select(Article).where(Article.id.in_(list(results))))}
        done = [article_id for article_id, result in results.items()
                if not isinstance(result, str)]
        filed = file_by_site(session, [cast(Prepared, results[i]) for i in done])
        results = {**results, **dict(zip(done, filed, strict=True))}
        for article_id, result in results.items():
            if isinstance(result, str):
                report.failures.append((article_id, result))
                continue
            article = stored[article_id]
            recleaned.append(article_id)
            new = result.article
            published = new.published
            # The outlet changes when the article belongs under another outlet row, not when
            # a spelling of the same outlet comes out ("The Hill" for a row named "Hill").
            outlet_id = outlets.id_for(session, new.outlet, create=not dry_run)
            if outlet_id is None and new.outlet:
                would_add.add(new.outlet)
                outlet_id = -1  # an outlet the dry run would create: a change all the same
            after = {"title": new.title, "body": new.body, "byline": new.byline,
                     "outlet": outlet_id, "language": new.language, "url": new.url,
                     "date": (published.value, published.precision) if published else None}
            before = {"title": article.title, "body": article.body, "byline": article.byline,
                      "outlet": article.outlet_id, "language": article.language,
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
            article.outlet_id = outlet_id
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
        if not dry_run and recleaned:
            # Unchanged articles were checked by this version too: `archive db upgrade`
            # stops asking for a reclean.
            session.execute(update(Article).where(Article.id.in_(recleaned))
                            .values(cleaner_version=CLEANER_VERSION))
    return changed_ids
