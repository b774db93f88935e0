"""Raw inputs stored compressed: sources.compression, and the view sources_text; rows
not yet indexed found by a partial index instead of a full index of indexed_at

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00

The upgrade only changes the schema, so it is quick and all-or-nothing: rows stored before
it keep their bytes as they are (compression NULL) and stay readable. archive compresses
them afterwards in committed batches (maintenance.compress_stored, run by `archive db upgrade`
and `archive ingest`), which a crash or Ctrl-C can stop at any row without loss: one
transaction over a million rows would hold the whole rewrite in the write-ahead log.

SQLite only for the view: it calls sqlar_uncompress, which the sqlite3 shell has and
archive registers on its own connections. PostgreSQL compresses large values itself
(TOAST), so archive stores them as they are there and no view is needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEW = """
CREATE VIEW sources_text AS
SELECT id, ingest_run_id, uri, format, sha256, size_bytes, encoding, supplied, ingested_at,
       raw AS content, CAST(raw AS TEXT) AS content_text
FROM (SELECT id, ingest_run_id, uri, format, sha256, size_bytes, encoding, supplied,
             ingested_at,
             CASE WHEN compression = 'zlib' THEN sqlar_uncompress(content, size_bytes)
                  ELSE content END AS raw
      FROM sources)
"""
# Rows inflated per statement by the downgrade: memory stays flat on a large archive.
BATCH = 500


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no default) changes no row: instant on SQLite and
    # PostgreSQL alike, and no batch-mode copy that would drop what later migrations rely on.
    op.add_column("sources", sa.Column("compression", sa.String(length=8), nullable=True))
    # The rows still to compress, found without scanning the table (empty once done).
    op.create_index(op.f("ix_sources_uncompressed"), "sources", ["id"],
                    sqlite_where=sa.text("compression IS NULL"),
                    postgresql_where=sa.text("compression IS NULL"))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(VIEW)
    # Only `indexed_at IS NULL` is ever looked up: index those rows alone.
    op.drop_index(op.f("ix_articles_indexed_at"), table_name="articles")
    op.create_index(op.f("ix_articles_unindexed"), "articles", ["id"],
                    sqlite_where=sa.text("indexed_at IS NULL"),
                    postgresql_where=sa.text("indexed_at IS NULL"))


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index(op.f("ix_articles_unindexed"), table_name="articles")
    op.create_index(op.f("ix_articles_indexed_at"), "articles", ["indexed_at"])
    op.drop_index(op.f("ix_sources_uncompressed"), table_name="sources")
    if bind.dialect.name != "sqlite":
        op.drop_column("sources", "compression")
        return
    from archive.rawcontent import unpack

    op.execute("DROP VIEW IF EXISTS sources_text")
    # Older versions read content as it is: inflate every compressed row first.
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, content, compression, size_bytes FROM sources "
            "WHERE compression = 'zlib' AND id > :last ORDER BY id LIMIT :batch"),
            {"last": last, "batch": BATCH}).all()
        if not rows:
            break
        bind.execute(sa.text("UPDATE sources SET content = :content, compression = NULL "
                             "WHERE id = :id"),
                     [{"id": row.id, "content": unpack(row.content, row.compression,
                                                       row.size_bytes)} for row in rows])
        last = rows[-1].id
    op.execute("ALTER TABLE sources DROP COLUMN compression")
