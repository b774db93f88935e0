"""Writing articles to the database and reading them back for the index and for search."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive.document import Extracted, RawDocument, word_count
from archive.index import IndexDoc
from archive.models import Article, Outlet, Source, utcnow


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_hash(body: str) -> str:
    """Hash of the body with case and spacing normalised: equal for exact duplicates."""
    return sha256(" ".join(body.lower().split()).encode("utf-8"))


def source_exists(session: Session, digest: str) -> bool:
    return session.scalar(select(Source.id).where(Source.sha256 == digest)) is not None


def body_exists(session: Session, digest: str) -> bool:
    found = session.scalar(select(Article.id).where(Article.body_hash == digest).limit(1))
    return found is not None


class OutletCache:
    """Outlet ids by name, created on first use within the session's transaction."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def id_for(self, session: Session, name: str | None) -> int | None:
        if not name:
            return None
        if name not in self._ids:
            outlet_id = session.scalar(select(Outlet.id).where(Outlet.name == name))
            if outlet_id is None:
                outlet = Outlet(name=name)
                session.add(outlet)
                session.flush()
                outlet_id = outlet.id
            self._ids[name] = outlet_id
        return self._ids[name]

    def forget(self) -> None:
        """After a rollback, ids handed out inside it may not exist."""
        self._ids.clear()


def add_article(session: Session, raw: RawDocument, article: Extracted, *, digest: str,
                hash_of_body: str, run_id: int | None, outlets: OutletCache,
                cleaner_version: str) -> Article:
    source = Source(
        ingest_run_id=run_id, uri=raw.uri, format=raw.format, sha256=digest,
        size_bytes=len(raw.data), encoding=article.encoding, content=raw.data,
        supplied=dict(raw.hints),
    )
    row = Article(
        source=source,
        url=article.url,
        title=article.title,
        byline=article.byline,
        outlet_id=outlets.id_for(session, article.outlet),
        published_date=article.published.value if article.published else None,
        date_precision=article.published.precision if article.published else None,
        language=article.language,
        body=article.body,
        word_count=word_count(article.body),
        body_hash=hash_of_body,
        cleaner_version=cleaner_version,
        provenance=article.provenance,
    )
    session.add(row)
    return row


def index_docs(session: Session, ids: Sequence[int]) -> list[IndexDoc]:
    """What the index needs for these articles, read from the database."""
    rows = session.execute(
        select(Article.id, Article.title, Article.body, Outlet.name, Article.published_date,
               Article.language, Article.byline, Article.story_id)
        .outerjoin(Outlet, Article.outlet_id == Outlet.id)
        .where(Article.id.in_(ids))
    )
    return [IndexDoc(id=r[0], title=r[1] or "", body=r[2], outlet=r[3], published=r[4],
                     language=r[5], byline=r[6], story=r[7]) for r in rows]


def mark_indexed(session: Session, ids: Iterable[int]) -> None:
    ids = list(ids)
    for start in range(0, len(ids), 500):
        session.execute(update(Article).where(Article.id.in_(ids[start:start + 500]))
                        .values(indexed_at=utcnow()))


def unindexed_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Article.id).where(Article.indexed_at.is_(None))
                                .order_by(Article.id)))


def all_ids(session: Session) -> Iterator[int]:
    return iter(session.scalars(select(Article.id).order_by(Article.id)))


def article_count(session: Session) -> int:
    return session.scalar(select(func.count(Article.id))) or 0
