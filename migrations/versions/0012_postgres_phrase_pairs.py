"""PostgreSQL: an index of the adjacent word pairs with a function word, which answers
phrases such as "would be" without reading each candidate's vector

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 12:00:00

PostgreSQL only; nothing on SQLite (its search engine is Whoosh in the instance folder).

A phrase is matched by PostgreSQL in each candidate's vector (the GIN index has no
positions), and the candidates of a phrase of common words are most of the archive: at a
million articles `"would be"` read 365,590 vectors (about 3 pages each) in 5 s. The
function `archive_phrase_pairs(vector)` lists the pairs of lexemes at adjacent positions of
the title, or of the body (`'{a,d}'`, positions as in the vector; none across the two),
of which one is a function word
("the growth", "would be", "system with"); a GIN index over it finds a two-word phrase of
that kind exactly, from the index alone (archive.index.pgsearch), and narrows a longer one.
About 320 pairs an article, about 0.5 ms to list them: at a million articles the upgrade
took 1,221 s (with other work running) and the index 1.1 GB; writes wait meanwhile.

The function words are fixed here (the index must not change meaning): English articles,
pronouns, prepositions, conjunctions and auxiliaries, as stemmed by `archive_english`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION_WORDS = (
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can did do does doing down during each few for from "
    "further had has have having he her here hers him his how i if in into is it its itself "
    "just me more most my no nor not now of off on once only or other our out over own same "
    "she should so some such than that the their them then there these they this those "
    "through to too under until up very was we were what when where which while who whom why "
    "will with would you your"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    stems = sorted(row[0] for row in bind.execute(sa.text(
        "SELECT DISTINCT lexeme FROM unnest(to_tsvector('archive_english', :words))"),
        {"words": FUNCTION_WORDS}))
    listed = ", ".join("'" + stem.replace("'", "''") + "'" for stem in stems)
    op.execute(f"""
        CREATE OR REPLACE FUNCTION archive_phrase_pairs(vector tsvector) RETURNS text[]
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            WITH at AS (SELECT w.lexeme, o.p, o.weight
                        FROM unnest(ts_filter(vector, '{{a,d}}')) AS w,
                             unnest(w.positions, w.weights) AS o(p, weight))
            SELECT coalesce(array_agg(DISTINCT first.lexeme || ' ' || second.lexeme), '{{}}')
            FROM at AS first JOIN at AS second
                ON second.p = first.p + 1 AND second.weight = first.weight
            WHERE first.lexeme = ANY(ARRAY[{listed}]::text[])
               OR second.lexeme = ANY(ARRAY[{listed}]::text[])
        $$""")
    op.execute("CREATE INDEX IF NOT EXISTS ix_articles_phrase_pairs ON articles "
               "USING gin (archive_phrase_pairs(search_vector))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_articles_phrase_pairs")
    op.execute("DROP FUNCTION IF EXISTS archive_phrase_pairs(tsvector)")
