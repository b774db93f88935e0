"""PostgreSQL: a RUM index on articles.search_vector in place of the GIN index, and the
archive's generation, a counter that every change of what searches see moves on

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:00:00

PostgreSQL only; nothing on SQLite (its search engine is Whoosh in the instance folder).

- The RUM index (extension `rum`, Debian's `postgresql-15-rum`) keeps each word's positions
  and weights beside its articles, so it answers `title:`/`body:` words, phrases and
  proximity without reading any article's vector (GIN must read the vector of every
  candidate to check a weight or a position: a TOASTed value of about 3 pages), and
  `ORDER BY search_vector <=> query LIMIT k` returns the best matches by rank (ts_rank's
  weights) from the index. It serves `@@` for SQL users as GIN did, under the same name.
  The extension is not trusted (PostgreSQL's rule for index methods): unless it is already
  in the database, the upgrade creates it, which needs a superuser; without the package or
  the right, the upgrade stops and says what to do.
- `search_state.generation`: the PostgreSQL search engine keeps results per process (paging,
  facet clicks) keyed by this number, which moves on when a transaction that changed what
  a search reads commits: articles written, changed (not merely marked indexed) or
  deleted, outlets renamed or removed, and the vocabulary updated (the engine bumps it
  itself). A deferred trigger bumps it once per transaction, at its commit, so writers take
  the counter's row lock only for that moment (a lock taken earlier could meet another
  writer's row locks in the other order: a deadlock).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Changes of these columns of articles change what a search finds or counts; indexed_at
# (marked after indexing) and the rest do not.
SEARCHED_COLUMNS = ("title", "byline", "body", "outlet_id", "published_date", "language",
                    "story_id", "search_vector")

BUMP = """
CREATE OR REPLACE FUNCTION search_state_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: the setting lives until its end.
    IF current_setting('archive.generation_bumped', TRUE) IS DISTINCT FROM
            CAST(pg_current_xact_id() AS text) THEN
        UPDATE search_state SET generation = generation + 1;
        PERFORM set_config('archive.generation_bumped', CAST(pg_current_xact_id() AS text),
                           TRUE);
    END IF;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Only the upgrade needs archive's own code: the message for a server without RUM.
    from archive.db import require_extension

    require_extension(bind, "rum", "postgresql-15-rum")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
    op.execute("CREATE INDEX ix_articles_search_vector ON articles "
               "USING rum (search_vector rum_tsvector_ops)")
    op.execute("CREATE TABLE search_state (generation bigint NOT NULL)")
    op.execute("INSERT INTO search_state (generation) VALUES (1)")
    op.execute(BUMP)
    columns = ", ".join(SEARCHED_COLUMNS)
    op.execute(f"CREATE CONSTRAINT TRIGGER articles_search_state AFTER INSERT OR DELETE OR "
               f"UPDATE OF {columns} ON articles DEFERRABLE INITIALLY DEFERRED "
               "FOR EACH ROW EXECUTE FUNCTION search_state_bump()")
    op.execute("CREATE CONSTRAINT TRIGGER outlets_search_state AFTER DELETE OR UPDATE OF name "
               "ON outlets DEFERRABLE INITIALLY DEFERRED "
               "FOR EACH ROW EXECUTE FUNCTION search_state_bump()")
    # TRUNCATE has no row triggers; it is rare enough to bump at once.
    op.execute("CREATE TRIGGER articles_truncated_search_state AFTER TRUNCATE ON articles "
               "FOR EACH STATEMENT EXECUTE FUNCTION search_state_bump()")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS articles_truncated_search_state ON articles")
    op.execute("DROP TRIGGER IF EXISTS articles_search_state ON articles")
    op.execute("DROP TRIGGER IF EXISTS outlets_search_state ON outlets")
    op.execute("DROP FUNCTION IF EXISTS search_state_bump()")
    op.execute("DROP TABLE IF EXISTS search_state")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
    op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
    # The extension stays: creating it needed a superuser, who may have other uses for it.
