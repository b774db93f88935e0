"""Story keys of 32 bits: each stored key keeps its top 32 bits

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00

A key was a band's 8-byte hash as a signed 64-bit integer; it is now its first 4 bytes, so
`key >> 32` (an arithmetic shift on SQLite and PostgreSQL alike) turns an old key into the
one archive.stories.story_keys computes today, and no body has to be read again. In SQLite a
key then takes 4 bytes instead of 8 in the table and again in its index on article_id
(docs/performance.md, "Size"). Two bands of one article may now share a key: the copy keeps
one row of each (key, article_id).

The rows are rewritten through a temporary table inside the migration's transaction: the
key is the primary key, and shifting it in place could meet a row not yet shifted.
The downgrade computes the 64-bit keys again from the bodies, which is slow on a big archive
but loses nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Articles whose keys the downgrade computes per statement: memory stays flat.
BATCH = 500


def upgrade() -> None:
    op.execute("CREATE TEMPORARY TABLE story_keys_32 AS "
               "SELECT DISTINCT key >> 32 AS key, article_id FROM story_keys")
    op.execute("DELETE FROM story_keys")
    op.execute("INSERT INTO story_keys (key, article_id) "
               "SELECT key, article_id FROM story_keys_32 ORDER BY key, article_id")
    op.execute("DROP TABLE story_keys_32")


def downgrade() -> None:
    # Only the downgrade needs archive's own code: the band hashes the keys were made of.
    from archive.stories import MIN_SHINGLES, band_digests, shingles

    bind = op.get_bind()
    op.execute("DELETE FROM story_keys")
    last = 0
    while True:
        rows = bind.execute(sa.text("SELECT id, body FROM articles WHERE id > :last "
                                    "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        keys = []
        for article_id, body in rows:
            grams = shingles(body)
            if len(grams) >= MIN_SHINGLES:
                keys += [{"key": key, "article_id": article_id} for key in dict.fromkeys(
                    int.from_bytes(digest, "big", signed=True) for digest in band_digests(grams))]
        if keys:
            bind.execute(sa.text("INSERT INTO story_keys (key, article_id) "
                                 "VALUES (:key, :article_id)"), keys)
        last = rows[-1][0]
