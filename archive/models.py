"""The database schema: plain table and column names, for people who query it with SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so that migrations can drop and alter constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Outlet(Base):
    """A publisher: newspaper, broadcaster, agency, blog."""

    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)

    articles: Mapped[list[Article]] = relationship(back_populates="outlet")


class IngestRun(Base):
    """One `archive ingest` invocation and what came of it."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # running -> completed | interrupted (the process died; found by the next run)
    status: Mapped[str] = mapped_column(String(20), default="running")
    arguments: Mapped[str] = mapped_column(Text, default="")
    articles_added: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_skipped: Mapped[int] = mapped_column(Integer, default=0)
    files_failed: Mapped[int] = mapped_column(Integer, default=0)

    errors: Mapped[list[IngestError]] = relationship(back_populates="ingest_run")


class Source(Base):
    """One raw input exactly as it was ingested, so articles can be re-cleaned later."""

    __tablename__ = "sources"
    # Rows stored before compression existed (migration 0006), which maintenance compresses
    # after the upgrade: empty once it has, so finding them never scans the table.
    __table_args__ = (Index("ix_sources_uncompressed", "id",
                            sqlite_where=text("compression IS NULL"),
                            postgresql_where=text("compression IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ingest_run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"), index=True)
    uri: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Size of the input as read (not as stored): sqlar_uncompress needs it.
    size_bytes: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(40))
    # The input in sqlar's format: compressed when that is smaller. Read it only through
    # archive.rawcontent.unpack, or in SQL through the view sources_text.
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # "zlib", "none", or NULL: stored before compression existed, as is (rawcontent.py).
    compression: Mapped[str | None] = mapped_column(String(8))
    # Values supplied beside the content (JSON: url, outlet, date ... from a manifest or flags).
    supplied: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    article: Mapped[Article | None] = relationship(back_populates="source")


class Article(Base):
    """A clean article with its metadata; `body` is what search indexes."""

    __tablename__ = "articles"
    # Only rows not yet searchable are ever looked up by indexed_at: a partial index holds
    # just those (a full one kept a timestamp of every article a second time).
    __table_args__ = (Index("ix_articles_unindexed", "id",
                            sqlite_where=text("indexed_at IS NULL"),
                            postgresql_where=text("indexed_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), unique=True)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    byline: Mapped[str | None] = mapped_column(Text)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"), index=True)
    # ISO text in SQLite (YYYY-MM-DD), so ORDER BY and strftime() work. With precision
    # "month" or "year" the day (and month) are set to 01 and mean "unknown".
    published_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    date_precision: Mapped[str | None] = mapped_column(String(5))
    language: Mapped[str | None] = mapped_column(String(12), index=True)
    body: Mapped[str] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer)
    # sha256 of the body with case and whitespace normalised: finds exact duplicates.
    body_hash: Mapped[str] = mapped_column(String(64), index=True)
    cleaner_version: Mapped[str] = mapped_column(String(20))
    # The story this article belongs to: the id of its first-ingested copy (its own id when
    # no other article carries the same text). NULL only until an upgrade computes it.
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # What the cleaner removed and where each metadata value came from (JSON).
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Set once the search index holds this row; NULL means "not yet searchable".
    indexed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    source: Mapped[Source] = relationship(back_populates="article")
    outlet: Mapped[Outlet | None] = relationship(back_populates="articles")


class StoryKey(Base):
    """Band keys of an article's MinHash signature: articles sharing one may be copies."""

    __tablename__ = "story_keys"
    __table_args__ = {"sqlite_with_rowid": False}

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True)


class BoilerplateLine(Base):
    """How many of an outlet's stored text dumps contain a short line (see boilerplate.py)."""

    __tablename__ = "boilerplate_lines"
    __table_args__ = {"sqlite_with_rowid": False}

    outlet_id: Mapped[int] = mapped_column(
        ForeignKey("outlets.id", ondelete="CASCADE"), primary_key=True)
    # Indexed on its own too: site_evidence.py asks which outlets know a dump's lines.
    line_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False,
                                           index=True)
    line: Mapped[str] = mapped_column(Text)  # lower-cased, spaces collapsed
    articles: Mapped[int] = mapped_column(Integer)


class IngestError(Base):
    """An input that could not become an article, and why."""

    __tablename__ = "ingest_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id"), index=True)
    uri: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    ingest_run: Mapped[IngestRun] = relationship(back_populates="errors")
