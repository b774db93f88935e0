"""Full-text search in SQL (FTS5) and convenience views for people who query the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:40:00

On SQLite the full text is an FTS5 table kept in step by triggers. On PostgreSQL it is a
`search_vector` tsvector column of `articles`, with a GIN index, filled by a trigger (not a
generated column: PostgreSQL recomputes those on every update, and marking rows indexed
must not re-analyse their text). The views are the same SQL on both.
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
# PostgreSQL: words weighted by field (title A, byline B, body D) for ts_rank, stemmed as
# English like the web search. A tsvector holds at most 1 MB, so only the first
# PG_FTS_BODY_CHARS characters of a body are analysed.
PG_FTS_BODY_CHARS = 200_000
PG_FUNCTION = f"""
CREATE FUNCTION articles_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(NEW.byline, '')), 'B')
        || setweight(to_tsvector('english', left(NEW.body, {PG_FTS_BODY_CHARS})), 'D');
    RETURN NEW;
END
$$"""
PG_TRIGGER = """
CREATE TRIGGER articles_search_vector BEFORE INSERT OR UPDATE OF title, byline, body
ON articles FOR EACH ROW EXECUTE FUNCTION articles_search_vector()"""
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
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _upgrade_postgresql()
    if dialect != "sqlite":
        return
    op.execute(FTS)
    for sql in TRIGGERS.values():
        op.execute(sql)
    # Existing archives: index the articles already stored.
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def _upgrade_postgresql() -> None:
    op.execute("ALTER TABLE articles ADD COLUMN search_vector tsvector")
    op.execute(PG_FUNCTION)
    op.execute(PG_TRIGGER)
    # Existing rows (none in a new archive): touching the text runs the trigger.
    op.execute("UPDATE articles SET title = title")
    op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("DROP TRIGGER IF EXISTS articles_search_vector ON articles")
        op.execute("DROP FUNCTION IF EXISTS articles_search_vector()")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
