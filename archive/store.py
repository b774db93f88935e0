"""Writing articles to the database in batches, and reading them back for the index."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Bundle, Session

from archive import rawcontent
from archive.document import Extracted, RawDocument, word_count
from archive.index import IndexDoc
from archive.models import Article, IngestError, Outlet, Source, StoryKey, utcnow
from archive.outlets import matching_key

# SQLite allows a limited number of parameters per statement.
CHUNK = 500


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_hash(body: str) -> str:
    """Hash of the body with case and spacing normalised: equal for exact duplicates."""
    return sha256(" ".join(body.lower().split()).encode("utf-8"))


class _RawInput(Bundle[bytes]):
    """A source's raw input in a select, as the bytes that were ingested: every reader of
    `sources.content` goes through this (or rawcontent.unpack), never the stored bytes."""

    def create_row_processor(self, query, procs, labels):  # noqa: ANN001, ANN201 - SQLAlchemy's
        def unpacked(row):  # noqa: ANN001, ANN202
            content, compression, size = (proc(row) for proc in procs)
            return rawcontent.unpack(content, compression, size)
        return unpacked


raw_input = _RawInput("raw_input", Source.content, Source.compression, Source.size_bytes)


def known_sources(session: Session, digests: Sequence[str]) -> set[str]:
    """Which of these raw-input hashes are stored already."""
    return _known(session, Source.sha256, digests)


def known_bodies(session: Session, digests: Sequence[str]) -> set[str]:
    """Which of these body hashes belong to a stored article already."""
    return _known(session, Article.body_hash, digests)


def bodies_stored_elsewhere(session: Session, digests: Sequence[str], ours: set[int]
                            ) -> dict[str, int]:
    """Of these body hashes, those an article outside `ours` has, with its story's id."""
    found: dict[str, tuple[int, int]] = {}
    unique = list(dict.fromkeys(digests))
    for start in range(0, len(unique), CHUNK):
        for digest, article_id, story in session.execute(
                select(Article.body_hash, Article.id, Article.story_id)
                .where(Article.body_hash.in_(unique[start:start + CHUNK]))):
            if article_id not in ours and (digest not in found or article_id < found[digest][0]):
                found[digest] = (article_id, story or article_id)
    return {digest: story for digest, (_, story) in found.items()}


def _known(session: Session, column, digests: Sequence[str]) -> set[str]:  # noqa: ANN001
    found: set[str] = set()
    unique = list(dict.fromkeys(digests))
    for start in range(0, len(unique), CHUNK):
        found.update(session.scalars(select(column).where(column.in_(unique[start:start + CHUNK]))))
    return found


class OutletCache:
    """Outlet ids by name, created on first use within the session's transaction. A name
    that only differs in case, spacing, a leading "The" or by being the outlet's bare
    domain joins the outlet stored first, so one outlet's articles are not split across
    facets.

    `regroup`: stored names, too, join the first outlet stored under their key. Reclean
    uses it, so that outlets an older matching key kept apart come together."""

    def __init__(self, *, regroup: bool = False) -> None:
        self._by_name: dict[str, int] = {}
        self._by_key: dict[str, int] | None = None
        self._regroup = regroup
        self._last_id = 0  # the newest outlet read
        self.created: list[str] = []  # names of the outlets this cache added

    def id_for(self, session: Session, name: str | None, *, create: bool = True) -> int | None:
        """The outlet's id; None for no name, or when it is new and `create` is false."""
        if not name:
            return None
        if self._by_key is None:
            self._by_key = {}
            self._read(session)
        if name not in self._by_name:
            key = outlet_key(name)
            if key not in self._by_key:
                # Another writer (PostgreSQL) may have stored it since: read what is new.
                self._read(session)
            if name in self._by_name:
                return self._by_name[name]
            if key not in self._by_key:
                if not create:
                    return None
                outlet = Outlet(name=name)
                session.add(outlet)
                session.flush()
                self._by_key[key] = outlet.id
                self.created.append(name)
            self._by_name[name] = self._by_key[key]
        return self._by_name[name]

    def _read(self, session: Session) -> None:
        """Outlets stored after the last read (all at first)."""
        assert self._by_key is not None
        for outlet_id, stored in session.execute(select(Outlet.id, Outlet.name)
                                                 .where(Outlet.id > self._last_id)
                                                 .order_by(Outlet.id)):
            self._by_key.setdefault(outlet_key(stored), outlet_id)
            if not self._regroup:
                self._by_name.setdefault(stored, outlet_id)
            self._last_id = outlet_id

    def forget(self) -> None:
        """After a rollback, ids handed out inside it may not exist."""
        self._by_name.clear()
        self._by_key = None
        self._last_id = 0
        self.created.clear()


def outlet_key(name: str) -> str:
    return matching_key(name) or name  # names of punctuation only stay apart


@dataclass(frozen=True, slots=True)
class NewArticle:
    """Everything one new row pair (source + article) needs."""

    raw: RawDocument
    sha256: str
    article: Extracted
    body_hash: str
    story_keys: tuple[int, ...]
    # The raw input packed for `sources.content` (by the extraction worker, off the main
    # process); packed at writing when None.
    stored: rawcontent.Stored | None = None


def next_ids(session: Session, count: int) -> tuple[list[int], list[int]]:
    """Ids for `count` new sources and articles; choosing them up front lets a batch be
    written in a few bulk statements. On SQLite safe because one writer holds the archive's
    lock; on PostgreSQL, where several may write, they come from the tables' sequences."""
    if session.get_bind().dialect.name == "postgresql":
        return _sequence_ids(session, "sources", count), _sequence_ids(session, "articles", count)
    source_start = (session.scalar(select(func.max(Source.id))) or 0) + 1
    article_start = (session.scalar(select(func.max(Article.id))) or 0) + 1
    return (list(range(source_start, source_start + count)),
            list(range(article_start, article_start + count)))


def _sequence_ids(session: Session, table: str, count: int) -> list[int]:
    if not count:
        return []
    return list(session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": table, "n": count}))


def write_batch(session: Session, new: Sequence[NewArticle], *, ids: Sequence[int],
                source_ids: Sequence[int], stories: Sequence[int], outlet_ids: Sequence[int | None],
                run_id: int | None, cleaner_version: str,
                errors: Sequence[tuple[str, str]] = (), indexed: bool = False,
                sources_written: bool = False) -> None:
    """Insert sources, articles, story keys and errors of one batch (inside a transaction);
    `indexed`: the articles are searchable once committed (nothing to index after);
    `sources_written`: claim_sources wrote the sources already."""
    now = utcnow()
    if new:
        if not sources_written:
            session.execute(insert(Source), _source_rows(session, new, source_ids, run_id, now))
        session.execute(insert(Article), [
            _article_row(item.article, article_id, source_id, outlet_id, story, item.body_hash,
                         cleaner_version, now, now if indexed else None)
            for item, article_id, source_id, outlet_id, story
            in zip(new, ids, source_ids, outlet_ids, stories, strict=True)])
        keys = [{"key": key, "article_id": article_id}
                for item, article_id in zip(new, ids, strict=True)
                for key in dict.fromkeys(item.story_keys)]
        if keys:
            session.execute(insert(StoryKey), keys)
    if errors:
        session.execute(insert(IngestError), [
            {"ingest_run_id": run_id, "uri": uri, "reason": reason, "created_at": now}
            for uri, reason in errors])


def claim_sources(session: Session, new: Sequence[NewArticle], source_ids: Sequence[int],
                  run_id: int | None) -> list[bool]:
    """PostgreSQL, several writers: insert the batch's raw inputs, but none that another
    writer stored, or is storing (the unique hash makes this wait for its commit); whether
    each was this batch's to store."""
    rows = _source_rows(session, new, source_ids, run_id, utcnow())
    claimed = set(session.connection().scalars(
        postgresql.insert(Source).on_conflict_do_nothing(index_elements=["sha256"])
        .returning(Source.id), rows)) if rows else set()
    return [source_id in claimed for source_id in source_ids]


def remove_articles(session: Session, ids: Sequence[int]) -> None:
    """Delete articles written earlier in this transaction, with their sources and keys."""
    if not ids:
        return
    source_ids = list(session.scalars(select(Article.source_id).where(Article.id.in_(ids))))
    session.execute(delete(StoryKey).where(StoryKey.article_id.in_(ids)))
    session.execute(delete(Article).where(Article.id.in_(ids)))
    session.execute(delete(Source).where(Source.id.in_(source_ids)))


def _source_rows(session: Session, new: Sequence[NewArticle], source_ids: Sequence[int],
                 run_id: int | None, now: object) -> list[dict[str, object]]:
    compress = compresses(session.get_bind())
    return [{"id": source_id, "ingest_run_id": run_id, "uri": item.raw.uri,
             "format": item.raw.format, "sha256": item.sha256, "size_bytes": len(item.raw.data),
             "encoding": item.article.encoding, **_stored(item, compress),
             "supplied": dict(item.raw.hints), "ingested_at": now}
            for source_id, item in zip(source_ids, new, strict=True)]


def compresses(bind: Engine | Connection) -> bool:
    """Whether raw inputs are stored compressed: in SQLite only. PostgreSQL compresses large
    values itself (TOAST) and has no sqlar_uncompress for the sources_text view."""
    return bind.dialect.name == "sqlite"


def _stored(item: NewArticle, compress: bool) -> dict[str, object]:
    """`content` and `compression` of a new source row (see `compresses`)."""
    if not compress:
        return {"content": item.raw.data, "compression": rawcontent.NONE}
    stored = item.stored or rawcontent.pack(item.raw.data)
    return {"content": stored.content, "compression": stored.compression}


def _article_row(article: Extracted, article_id: int, source_id: int, outlet_id: int | None,
                 story: int, hash_of_body: str, cleaner_version: str, now: object,
                 indexed_at: object = None) -> dict[str, object]:
    published = article.published
    return {
        "id": article_id, "source_id": source_id, "url": article.url, "title": article.title,
        "byline": article.byline, "outlet_id": outlet_id,
        "published_date": published.value if published else None,
        "date_precision": published.precision if published else None,
        "language": article.language, "body": article.body,
        "word_count": word_count(article.body), "body_hash": hash_of_body,
        "cleaner_version": cleaner_version, "story_id": story,
        "provenance": article.provenance, "created_at": now, "indexed_at": indexed_at,
    }


def index_docs(session: Session, ids: Sequence[int]) -> list[IndexDoc]:
    """What the index needs for these articles, read from the database."""
    docs: list[IndexDoc] = []
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Article.id, Article.title, Article.body, Outlet.name, Article.published_date,
                   Article.language, Article.byline, Article.story_id)
            .outerjoin(Outlet, Article.outlet_id == Outlet.id)
            .where(Article.id.in_(ids[start:start + CHUNK])))
        docs.extend(IndexDoc(id=r[0], title=r[1] or "", body=r[2], outlet=r[3], published=r[4],
                             language=r[5], byline=r[6], story=r[7]) for r in rows)
    return docs


def mark_indexed(session: Session, ids: Iterable[int]) -> None:
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        session.execute(update(Article).where(Article.id.in_(ids[start:start + CHUNK]))
                        .values(indexed_at=utcnow()))


def still_unindexed(session: Session, ids: Sequence[int]) -> list[int]:
    """Those of these articles not yet marked indexed, in order."""
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(session.scalars(select(Article.id).where(
            Article.id.in_(ids[start:start + CHUNK]), Article.indexed_at.is_(None))))
    return [article_id for article_id in ids if article_id in found]


def unindexed_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Article.id).where(Article.indexed_at.is_(None))
                                .order_by(Article.id)))


def all_ids(session: Session) -> Iterator[int]:
    return iter(session.scalars(select(Article.id).order_by(Article.id)))
