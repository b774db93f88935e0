"""Full-text search in SQL (FTS5) and convenience views for people who query the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:40:00

The FTS5 table and its triggers are SQLite-only; on another database this migration
creates the views alone (PostgreSQL would use a tsvector column instead).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# External-content FTS5: the text lives once, in `articles`; the index follows it through
# triggers. content="articles" (with double quotes) is also how Datasette finds it.
FTS = """
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, byline, body,
    content="articles", content_rowid="id",
    tokenize="porter unicode61 remove_diacritics 2"
)
"""
TRIGGERS = {
    "articles_fts_insert": """
        CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, byline, body)
            VALUES (new.id, new.title, new.byline, new.body);
        END""",
    "articles_fts_delete": """
        CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, byline, body)
            VALUES ('delete', old.id, old.title, old.byline, old.body);
        END""",
    # Only when the text changes: marking rows indexed must not rewrite the FTS index.
    "articles_fts_update": """
        CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, byline, body ON articles
        BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, byline, body)
            VALUES ('delete', old.id, old.title, old.byline, old.body);
            INSERT INTO articles_fts(rowid, title, byline, body)
            VALUES (new.id, new.title, new.byline, new.body);
        END""",
}
VIEWS = {
    "article_overview": """
        CREATE VIEW article_overview AS
        SELECT a.id, a.published_date, a.date_precision, o.name AS outlet, a.title,
               a.byline, a.language, a.word_count, a.url, s.uri AS source_uri,
               s.format AS source_format, s.ingested_at
        FROM articles a
        JOIN sources s ON s.id = a.source_id
        LEFT JOIN outlets o ON o.id = a.outlet_id""",
    "articles_per_outlet_month": """
        CREATE VIEW articles_per_outlet_month AS
        SELECT o.name AS outlet, substr(CAST(a.published_date AS TEXT), 1, 7) AS month,
               count(*) AS articles
        FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id
        WHERE a.date_precision IN ('day', 'month')
        GROUP BY o.name, substr(CAST(a.published_date AS TEXT), 1, 7)""",
    "ingest_failures": """
        CREATE VIEW ingest_failures AS
        SELECT r.id AS ingest_run_id, r.started_at, e.uri, e.reason
        FROM ingest_errors e JOIN ingest_runs r ON r.id = e.ingest_run_id""",
}


def upgrade() -> None:
    for sql in VIEWS.values():
        op.execute(sql)
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(FTS)
    for sql in TRIGGERS.values():
        op.execute(sql)
    # Existing archives: index the articles already stored.
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
