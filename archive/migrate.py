"""`archive migrate-to`: move a SQLite archive's database into PostgreSQL.

Every table of the schema is copied in foreign-key order with its ids kept, a few hundred
rows per transaction, in key order. A run that stops (Ctrl-C, a crash, a lost server) leaves
a prefix of each table in the target, so the next run copies only the rows past the last
key there. At the end each table's row count and a hash over its rows (the raw inputs'
sha256, the articles' body_hash, the keys of the rest, in key order) are compared on both
sides. The Whoosh index in the instance folder stays valid: it names articles by id.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, func, inspect, or_, select, text
from sqlalchemy.sql.elements import ColumnElement

from archive import db, dburl, phrase_index, writers
from archive.models import Base

logger = logging.getLogger(__name__)

BATCH_ROWS = 500
# Rows read at a time when comparing or hashing (reads only, no transaction held open).
SCAN_ROWS = 5000
PROGRESS_SECONDS = 2.0
# Per table, the column that tells one archive's row from another's under the same id: a
# target row that differs there is a conflict, and the verification hashes it beside the
# keys. The other tables (story_keys, boilerplate_lines) are all key.
HASHED = {"sources": "sha256", "articles": "body_hash", "ingest_runs": "started_at",
          "outlets": "name", "ingest_errors": "uri"}
# Tables of the SQLite file that are not copied: derived (full text) or bookkeeping.
NOT_COPIED_PREFIXES = ("articles_fts", "sqlite_", "alembic_version")

# Called after each committed batch with (table, rows copied so far in this run); the
# tests stop a migration part-way through with it.
after_batch: Callable[[str, int], None] | None = None


class MigrationError(Exception):
    """The migration cannot start or go on; the message says why (password hidden)."""


@dataclass
class TableReport:
    name: str
    copied: int = 0
    source_rows: int = 0
    target_rows: int = 0
    source_hash: str = ""
    target_hash: str = ""

    @property
    def equal(self) -> bool:
        return (self.source_rows == self.target_rows
                and self.source_hash == self.target_hash)


@dataclass
class Report:
    tables: list[TableReport] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(table.equal for table in self.tables)


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(Base.metadata.sorted_tables)


def target_engine(url: str) -> Engine:
    """An engine for the target, refusing what is not a reachable PostgreSQL database."""
    try:
        parsed = dburl.parse(url)
    except ValueError as exc:
        raise MigrationError(str(exc)) from None
    if parsed.get_backend_name() != "postgresql":
        raise MigrationError(f"{dburl.shown(url)} is not a PostgreSQL database: migrate-to "
                             "moves an archive into PostgreSQL (postgresql://user@host/dbname)")
    try:
        engine = db.make_engine(url)
    except ImportError as exc:
        raise MigrationError(f"the PostgreSQL driver is not installed ({exc}); install "
                             "newsarchive-search[postgres]") from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        raise MigrationError(f"cannot reach the database {dburl.shown(url)}: "
                             f"{db.reason(exc)}") from None
    return engine


def prepare_target(engine: Engine) -> None:
    """Create or upgrade the target's schema with the project's migrations."""
    try:
        if db.needs_upgrade(engine):
            db.upgrade(engine)
    except Exception as exc:
        raise MigrationError(f"cannot create the archive's tables in "
                             f"{dburl.shown(engine.url)}: {db.reason(exc)}") from None


def unknown_tables(source: Engine) -> list[str]:
    """Tables of the source that the schema does not know (they would not be copied)."""
    known = {table.name for table in tables()}
    return sorted(name for name in inspect(source).get_table_names()
                  if name not in known and not name.startswith(NOT_COPIED_PREFIXES))


def _key(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def _after(table: Table, last: Sequence[Any] | None) -> ColumnElement[bool] | None:
    """Rows whose key comes after `last` (keyset paging), or None for all."""
    if last is None:
        return None
    columns = _key(table)
    if len(columns) == 1:
        return columns[0] > last[0]
    # (a, b) > (x, y) spelt out: the same on every database.
    first, second = columns
    return or_(first > last[0], and_(first == last[0], second > last[1]))


def _pages(connection: Connection, table: Table, columns: Sequence[Any],
           limit: int, start: Sequence[Any] | None = None) -> Iterator[Sequence[Any]]:
    """The rows of `table` in key order, `limit` at a time, memory flat; each row starts
    with the key columns."""
    keys = _key(table)
    width = len(keys)
    last = start
    while True:
        query = select(*keys, *columns).order_by(*keys).limit(limit)
        condition = _after(table, last)
        if condition is not None:
            query = query.where(condition)
        rows = connection.execute(query).all()
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][:width])


def last_key(connection: Connection, table: Table) -> tuple[Any, ...] | None:
    keys = _key(table)
    row = connection.execute(select(*keys).order_by(*(k.desc() for k in keys)).limit(1)
                             ).first()
    return tuple(row) if row is not None else None


def conflicts(source: Engine, target: Engine) -> list[str]:
    """What the target holds that differs from the source under the same id (a raw input
    with another sha256, an article with another body_hash, another outlet, ingest run or
    error), or that the source does not hold at all."""
    found = []
    for table in tables():
        column_name = HASHED.get(table.name)
        if column_name is None:
            continue
        column = table.c[column_name]
        with source.connect() as src, target.connect() as dst:
            for rows in _pages(dst, table, [column], SCAN_ROWS):
                ids = [row[0] for row in rows]
                theirs = dict(src.execute(select(table.c.id, column)
                                          .where(table.c.id.in_(ids))).all())
                different = [row[0] for row in rows if theirs.get(row[0]) != row[1]]
                if different:
                    preview = ", ".join(map(str, different[:5]))
                    found.append(f"{table.name} {preview}{' …' if len(different) > 5 else ''}"
                                 f" (different {column_name} or not in this archive)")
                    break
    return found


def copy_table(source: Engine, target: Engine, table: Table, *, batch_rows: int = BATCH_ROWS,
               progress: Callable[[str], None] = lambda _line: None) -> int:
    """Copy the rows of `table` past the last key already in the target; how many."""
    with target.connect() as dst:
        start = last_key(dst, table)
    columns = [column for column in table.columns if not column.primary_key]
    keys = _key(table)
    names = [column.name for column in (*keys, *columns)]
    with source.connect() as src:
        condition = _after(table, start)
        counting = select(func.count()).select_from(table)
        total = src.scalar(counting if condition is None else counting.where(condition)) or 0
    copied = 0
    shown_at = time.monotonic()
    if total:
        resumed = "" if start is None else f" (going on after key {', '.join(map(str, start))})"
        progress(f"{table.name}: copying {total} row(s){resumed}")
    with source.connect() as src:
        for rows in _pages(src, table, columns, batch_rows, start):
            with target.begin() as dst:
                dst.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])
            copied += len(rows)
            if after_batch is not None:
                after_batch(table.name, copied)
            if time.monotonic() - shown_at >= PROGRESS_SECONDS:
                shown_at = time.monotonic()
                progress(f"{table.name}: {copied} of {total}")
    if total:
        progress(f"{table.name}: {copied} of {total} copied")
    return copied


def set_sequences(target: Engine) -> None:
    """Each id sequence past the largest id copied, so new rows get new ids."""
    with target.begin() as connection:
        for table in tables():
            if "id" not in table.c or not table.c.id.primary_key:
                continue
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))


def table_digest(engine: Engine, table: Table) -> tuple[int, str]:
    """Row count and sha256 over the keys (and the hashed column) in key order."""
    digest = hashlib.sha256()
    count = 0
    extra = [table.c[HASHED[table.name]]] if table.name in HASHED else []
    with engine.connect() as connection:
        for rows in _pages(connection, table, extra, SCAN_ROWS):
            for row in rows:
                digest.update(("\t".join(map(str, row)) + "\n").encode())
            count += len(rows)
    return count, digest.hexdigest()


def migrate(source: Engine, target: Engine, *, batch_rows: int = BATCH_ROWS,
            progress: Callable[[str], None] = lambda _line: None) -> Report:
    """Copy what the target lacks, then compare both sides. The caller holds the source
    archive's writer lock; this takes the target's (exclusive) for the copy."""
    prepare_target(target)
    found = conflicts(source, target)
    if found:
        raise MigrationError(
            f"the database {dburl.shown(target.url)} already holds a different archive ("
            + "; ".join(found) + "): migrate into an empty database")
    report = Report()
    try:
        lock = writers.writer_lock(target, shared=False, wait=False,
                                   where=f"the database {dburl.shown(target.url)}")
        # A whole archive is a bulk load: the index of phrase pairs is built once at the end
        # (a run that stops leaves it to the next run, or to `archive optimize`).
        with lock, phrase_index.deferred(target, True) as deferral:
            for table in tables():
                report.tables.append(TableReport(table.name, copy_table(
                    source, target, table, batch_rows=batch_rows, progress=progress)))
            set_sequences(target)
            deferral.build(progress)
    except writers.WriterBusy as exc:
        raise MigrationError(str(exc)) from None
    progress("verifying: counts and hashes of every table on both sides")
    for entry, table in zip(report.tables, tables(), strict=True):
        entry.source_rows, entry.source_hash = table_digest(source, table)
        entry.target_rows, entry.target_hash = table_digest(target, table)
    return report
