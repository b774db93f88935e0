"""PostgreSQL: the search engine inside the database (search.engine = "postgresql"): stop
words kept in articles.search_vector, and a vocabulary of its words

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:00:00

PostgreSQL only; nothing on SQLite (its search engine is Whoosh in the instance folder).

- The text search configuration `archive_english` is PostgreSQL's `english` with a Snowball
  dictionary that keeps stop words, as the Whoosh index does: phrases such as "no limits"
  or "the west" then mean the same on both engines, and `the` alone finds articles. The
  trigger reads `<`, `>`, `/` and `-` as spaces (PostgreSQL's parser would skip "<Total
  SA>" as a markup tag, keep "equipment/systems" as one file name and make three words
  of "night-shift").
  Queries written with `english` (docs/schema.md) still work: they drop their stop words.
- `search_words`: each word of the vectors (a lexeme) with the number of articles holding
  it. Prefix-free patterns (`t?am`), fuzzy terms, "did you mean", "more like this" and
  stand-out words look words up there; a tsvector cannot be listed by word. Each index
  commit adds its articles' words (archive.index.pgsearch), `archive reindex` rebuilds it,
  so the counts are exact after a rebuild and an upper bound after re-indexing articles.

The upgrade recomputes every article's vector (a rewrite of `articles`: on a large archive
it takes a while and doubles the table's size until vacuumed).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0002, with the configuration that keeps stop words, and angle brackets, slashes and
# hyphens read as spaces: PostgreSQL's parser takes "<Total Compagnie>" for a markup tag and
# skips it, "Equipment/systems" for a file name, one token, and "night-shift" for three
# (night-shift, night, shift: a position more than the Whoosh index, which sees two words).
PG_BODY_CHARS = 200_000
FUNCTION = f"""
CREATE OR REPLACE FUNCTION articles_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('archive_english',
                              translate(coalesce(NEW.title, ''), '<>/-', '    ')), 'A')
        || setweight(to_tsvector('archive_english',
                                 translate(coalesce(NEW.byline, ''), '<>/-', '    ')), 'B')
        || setweight(to_tsvector('archive_english',
                                 translate(left(NEW.body, {PG_BODY_CHARS}), '<>/-', '    ')), 'D');
    RETURN NEW;
END
$$"""
OLD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION articles_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(NEW.byline, '')), 'B')
        || setweight(to_tsvector('english', left(NEW.body, {PG_BODY_CHARS})), 'D');
    RETURN NEW;
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # No StopWords option: the dictionary stems every word, none is dropped.
    op.execute("CREATE TEXT SEARCH DICTIONARY archive_english_stem "
               "(TEMPLATE = snowball, Language = english)")
    op.execute("CREATE TEXT SEARCH CONFIGURATION archive_english (COPY = english)")
    op.execute("ALTER TEXT SEARCH CONFIGURATION archive_english "
               "ALTER MAPPING REPLACE english_stem WITH archive_english_stem")
    op.execute(FUNCTION)
    op.execute("UPDATE articles SET title = title")  # the trigger recomputes each vector
    op.execute("CREATE TABLE search_words (word text PRIMARY KEY, articles integer NOT NULL)")
    # Patterns look words up by their start (LIKE 'tr%'), whatever the database's collation.
    op.execute("CREATE INDEX ix_search_words_pattern ON search_words (word text_pattern_ops)")
    op.execute("INSERT INTO search_words (word, articles) "
               "SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM articles')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS search_words")
    op.execute(OLD_FUNCTION)
    op.execute("UPDATE articles SET title = title")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS archive_english")
    op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS archive_english_stem")
