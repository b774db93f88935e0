"""Keeping the index true to the database: check, repair, rebuild."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from archive import phrase_index, rawcontent, store, writers
from archive.document import word_count
from archive.index import SCHEMA_VERSION, IndexDoc, SearchIndex
from archive.instance import Archive
from archive.models import Article, IngestError, IngestRun, Source, StoryKey
from archive.stories import key_rows, match_batch, resolve, stories_of, story_keys

# Articles per index commit when (re)indexing rows that are already stored: big commits are
# much faster in Whoosh, and 5,000 bodies fit easily in memory.
INDEX_BATCH = 5000
# Articles whose stories are computed per transaction after an upgrade.
STORY_BATCH = 1000
# Raw inputs stored before compression existed, compressed per transaction after the
# upgrade: at most this many rows and (beyond the first) this many bytes of them at a time.
COMPRESS_ROWS = 500
COMPRESS_BYTES = 32 << 20
Progress = Callable[[int, int], None]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class CheckReport:
    articles: int
    indexed: int
    missing_from_index: list[int] = field(default_factory=list)
    unknown_to_database: list[int] = field(default_factory=list)
    not_marked: list[int] = field(default_factory=list)
    # Raw inputs whose bytes no longer match their sha256: damage no repair can undo.
    damaged_sources: list[int] = field(default_factory=list)
    # Articles whose body changed (e.g. edited in SQL) since its hash was taken.
    stale_body_hashes: list[int] = field(default_factory=list)
    # Ingest runs that died without finishing, with the articles each stored: news, not a
    # fault (what they stored is whole and kept).
    unfinished_runs: list[tuple[int, int]] = field(default_factory=list)
    # PostgreSQL: the index of phrase pairs, held back by a bulk ingest that did not finish,
    # is still to be built (searches find phrases without it, more slowly).
    phrase_index_left: bool = False

    @property
    def consistent(self) -> bool:
        return not (self.missing_from_index or self.unknown_to_database or self.not_marked
                    or self.damaged_sources or self.stale_body_hashes)


def check(archive: Archive) -> CheckReport:
    """Compare the database's articles with the index's documents id by id, and verify the
    stored hashes of every raw input and every body."""
    with archive.sessions() as session:
        db_ids = set(store.all_ids(session))
        unmarked = store.unindexed_ids(session)
        damaged = [source_id for source_id, digest, content, compression, size
                   in session.execute(select(Source.id, Source.sha256, Source.content,
                                             Source.compression, Source.size_bytes)
                                      .execution_options(yield_per=500))
                   if not _intact(content, compression, size, digest)]
        stale = [article_id for article_id, digest, body in session.execute(
            select(Article.id, Article.body_hash, Article.body).execution_options(yield_per=500))
            if store.body_hash(body) != digest]
        unfinished = [(run_id, articles) for run_id, articles, _ in unfinished_runs(session)]
    index_ids = archive.index.ids()
    return CheckReport(
        articles=len(db_ids),
        indexed=len(index_ids),
        # Rows not yet marked are expected to be missing; they are reported as such below.
        missing_from_index=sorted(db_ids - index_ids - set(unmarked)),
        unknown_to_database=sorted(index_ids - db_ids),
        not_marked=unmarked,
        damaged_sources=damaged,
        stale_body_hashes=stale,
        unfinished_runs=unfinished,
        phrase_index_left=phrase_index.left_to_build(archive.engine),
    )


def _intact(content: bytes, compression: str | None, size: int, digest: str) -> bool:
    """Whether a stored raw input still reads back to the bytes its sha256 was taken of."""
    try:
        return store.sha256(rawcontent.unpack(content, compression, size)) == digest
    except rawcontent.DamagedContent:
        return False


def unfinished_runs(session: Session) -> list[tuple[int, int, int]]:
    """Ingest runs still marked running, with the articles and failures each stored. Only
    for a holder of `archive.writing()`: then none of them runs, they died unfinished
    (on PostgreSQL, where several ingests run at once: those no live process claims)."""
    live = writers.live_runs(session)
    articles = (select(func.count(Article.id)).join(Source, Article.source_id == Source.id)
                .where(Source.ingest_run_id == IngestRun.id).scalar_subquery())
    failures = (select(func.count(IngestError.id))
                .where(IngestError.ingest_run_id == IngestRun.id).scalar_subquery())
    rows = session.execute(select(IngestRun.id, articles, failures)
                           .where(IngestRun.status == "running").order_by(IngestRun.id))
    return [(run_id, stored, failed) for run_id, stored, failed in rows if run_id not in live]


def repair(archive: Archive, report: CheckReport) -> None:
    """Make the index match the database (which is the truth). Hold `archive.writing()`."""
    if report.unknown_to_database:
        archive.index.delete(report.unknown_to_database)
    if report.stale_body_hashes:
        with archive.sessions() as session, session.begin():
            for article in session.scalars(select(Article).where(
                    Article.id.in_(report.stale_body_hashes))):
                article.body_hash = store.body_hash(article.body)
                article.word_count = word_count(article.body)
    todo = sorted(set(report.missing_from_index) | set(report.not_marked)
                  | set(report.stale_body_hashes))
    index_rows(archive, todo, replace=True)


def reindex(archive: Archive, progress: Progress | None = None) -> int:
    """Rebuild the index from scratch from the database. Hold `archive.writing()`."""
    with archive.sessions() as session, session.begin():
        # Unmark first: if the rebuild dies half-way, the next ingest or repair finishes it.
        session.execute(update(Article).values(indexed_at=None))
        ids = list(store.all_ids(session))
    archive.reset_index()
    index_rows(archive, ids, replace=False, progress=progress)
    tidy_index(archive)
    return len(ids)


def optimize(archive: Archive) -> int:
    """After a big load: the index merged into one segment, SQLite's full-text index merged
    and the database's query planner statistics refreshed. Returns the index's segment count."""
    segments = tidy_index(archive, everything=True)
    # An index a bulk ingest held back and never built (it was interrupted).
    phrase_index.build_if_deferred(archive.engine)
    with archive.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
            connection.exec_driver_sql("PRAGMA optimize")
        elif connection.dialect.name == "postgresql":
            # The planner's statistics (autovacuum does this too, but only after a while).
            connection.exec_driver_sql("ANALYZE")
    return segments


def tidy_index(archive: Archive, *, everything: bool = False) -> int:
    """Merge full tiers of index segments (or everything into one); returns how many are
    left."""
    with archive.index_turn():
        return archive.index.merge_segments(everything=everything)


def prepare(archive: Archive, progress: Progress | None = None) -> list[str]:
    """Bring an archive up to date before writing to it: stories for articles that have
    none (after an upgrade), a rebuilt index when it is missing or from another version,
    and rows a crash left unindexed. Returns what was done, for the user."""
    done = []
    compressed = compress_stored(archive)
    if compressed.rows:
        done.append(compressed.summary())
    assigned = assign_stories(archive)
    if assigned:
        done.append(f"grouped {assigned} article(s) into stories")
    if not archive.index_is_current():
        older = (None if archive.search_engine == "postgresql"
                 else SearchIndex.stored_version(archive.paths.index_dir))
        count = reindex(archive, progress)
        if count and archive.search_engine == "postgresql":
            done.append(f"built the search vocabulary of {count} articles in PostgreSQL")
        elif count and older is not None:
            done.append(f"rebuilt the search index ({count} articles): it was written by "
                        f"another version of archive (index format {older}; now "
                        f"{SCHEMA_VERSION})")
        elif count:
            done.append(f"rebuilt the search index ({count} articles)")
    repaired = repair_unindexed(archive)
    if repaired:
        done.append(f"indexed {repaired} article(s) left unindexed by an interrupted run")
    return done


@dataclass(frozen=True, slots=True)
class Compressed:
    """What compress_stored did: rows rewritten, their bytes before and after."""

    rows: int = 0
    before: int = 0
    after: int = 0

    def summary(self) -> str:
        return (f"compressed {self.rows} stored raw input(s), {self.before / 1e6:.1f} MB -> "
                f"{self.after / 1e6:.1f} MB (the database file keeps its size, and later "
                "ingests reuse the space, until `sqlite3 archive.db VACUUM` gives it back)")


def compress_stored(archive: Archive) -> Compressed:
    """Compress the raw inputs stored before compression existed (after migration 0006).

    Each batch is its own transaction and rows are picked by `compression IS NULL` (a
    partial index finds them), so an interrupted run loses at most one batch's work and the
    next one goes on where it stopped; memory holds one batch. SQLite only: PostgreSQL
    compresses large values itself, and rows there are read as they are."""
    if not store.compresses(archive.engine):
        return Compressed()
    done = Compressed()
    last = 0
    while True:
        with archive.sessions() as session, session.begin():
            ids = _next_uncompressed(session, last)
            if not ids:
                return done
            rows = session.execute(select(Source.id, Source.content)
                                   .where(Source.id.in_(ids)).order_by(Source.id)).all()
            packed = [(source_id, content, rawcontent.pack(content))
                      for source_id, content in rows]
            session.execute(update(Source), [
                {"id": source_id, "content": stored.content, "compression": stored.compression}
                for source_id, _, stored in packed])
        done = Compressed(done.rows + len(rows),
                          done.before + sum(len(content) for _, content, _ in packed),
                          done.after + sum(len(stored.content) for _, _, stored in packed))
        last = ids[-1]
        logger.info("compressed %d stored raw inputs so far (%.1f MB -> %.1f MB)", done.rows,
                    done.before / 1e6, done.after / 1e6)


def _next_uncompressed(session: Session, after: int) -> list[int]:
    """Ids of the next batch of uncompressed rows after id `after`, bounded by their size."""
    candidates = session.execute(
        select(Source.id, Source.size_bytes)
        .where(Source.compression.is_(None), Source.id > after)
        .order_by(Source.id).limit(COMPRESS_ROWS)).all()
    ids: list[int] = []
    total = 0
    for source_id, size in candidates:
        if ids and total + size > COMPRESS_BYTES:
            break
        ids.append(source_id)
        total += size
    return ids


def assign_stories(archive: Archive) -> int:
    """Story ids and keys for articles stored before stories existed, oldest first, so the
    first copy of each story keeps its id as the story's."""
    with archive.sessions() as session:
        todo = list(session.scalars(select(Article.id).where(Article.story_id.is_(None))
                                    .order_by(Article.id)))
    for start in range(0, len(todo), STORY_BATCH):
        with archive.sessions() as session, session.begin():
            rows = session.execute(select(Article.id, Article.body).where(
                Article.id.in_(todo[start:start + STORY_BATCH])).order_by(Article.id)).all()
            keys = [story_keys(body) for _, body in rows]
            matches = match_batch(session, [(body, k) for (_, body), k in zip(rows, keys,
                                                                             strict=True)])
            stored = stories_of(session, [m[1] for m in matches if m and m[0] == "stored"])
            ids = [article_id for article_id, _ in rows]
            for article_id, story in zip(ids, resolve(matches, ids, stored), strict=True):
                # indexed_at: the index must learn the story too.
                session.execute(update(Article).where(Article.id == article_id)
                                .values(story_id=story, indexed_at=None))
            new_keys = [row for article_id, k in zip(ids, keys, strict=True)
                        for row in key_rows(article_id, k)]
            if new_keys:
                session.execute(insert(StoryKey), new_keys)
    return len(todo)


def repair_unindexed(archive: Archive) -> int:
    """Index rows a crash left committed but unmarked; returns how many."""
    with archive.sessions() as session:
        ids = store.unindexed_ids(session)
    # replace: the crash may have come after the index commit and before the marking.
    index_rows(archive, ids, replace=True)
    return len(ids)


def index_rows(archive: Archive, ids: list[int], *, replace: bool,
               progress: Progress | None = None, batch: int = INDEX_BATCH) -> None:
    """Index stored articles, then mark them indexed: the order that survives crashes.

    Without `replace`, rows marked meanwhile are left out: on PostgreSQL another writer's
    catch-up may have indexed them (with replace) while they waited here."""
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        with archive.index_turn():
            with archive.sessions() as session:
                if not replace and archive.concurrent_writers:
                    chunk = store.still_unindexed(session, chunk)
                docs = store.index_docs(session, chunk) if archive.index.reads_documents \
                    else [IndexDoc(article_id, "", "", None, None, None) for article_id in chunk]
            if chunk:  # (another writer may have indexed them all)
                archive.index.add(docs, replace=replace)
                with archive.sessions() as session, session.begin():
                    store.mark_indexed(session, chunk)
        if progress:
            progress(min(start + batch, len(ids)), len(ids))
