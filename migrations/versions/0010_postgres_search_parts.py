"""PostgreSQL: indexes that match title and body words without reading the articles'
vectors, and the archive's generation, a counter that every change of what searches see
moves on

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00

PostgreSQL only; nothing on SQLite (its search engine is Whoosh in the instance folder).

- Two GIN indexes on parts of `articles.search_vector`: `ts_filter(search_vector, '{a,d}')`
  (title and body, what a search's words look in unless told otherwise) and
  `ts_filter(search_vector, '{a}')` (titles). The GIN index on the whole vector cannot tell
  the parts apart, so a word in `title:` or in the default title and body (`'tram':AD`)
  made PostgreSQL read and decompress every candidate's vector to check its weights (a
  TOASTed value of about 3 pages): most of a search's time. Matched against the right part
  without weights, a word, an AND, an OR are answered by the index alone. The titles' index
  also finds the matches a search ranks first (archive.index.pgsearch).
- `search_state.generation`: the PostgreSQL search engine keeps results per process (paging,
  facet clicks) keyed by this number, which moves on when a transaction that changed what
  a search reads commits: articles written, changed (not merely marked indexed) or
  deleted, outlets renamed or removed, and the vocabulary updated (the engine bumps it
  itself). A deferred trigger bumps it once per transaction, at its commit, so writers take
  the counter's row lock only for that moment (a lock taken earlier could meet another
  writer's row locks in the other order: a deadlock).

Building the two indexes reads every vector once (19,999 articles: about 3 s each).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The indexed parts of the vector; archive.index.pgsearch writes the same expressions, which
# the planner must find identical to use the indexes.
TEXT = "ts_filter(search_vector, '{a,d}')"
TITLE = "ts_filter(search_vector, '{a}')"
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
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_articles_search_text ON articles USING gin ({TEXT})")
    op.execute(f"CREATE INDEX ix_articles_search_title ON articles USING gin ({TITLE})")
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
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS articles_truncated_search_state ON articles")
    op.execute("DROP TRIGGER IF EXISTS articles_search_state ON articles")
    op.execute("DROP TRIGGER IF EXISTS outlets_search_state ON outlets")
    op.execute("DROP FUNCTION IF EXISTS search_state_bump()")
    op.execute("DROP TABLE IF EXISTS search_state")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_title")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_text")
