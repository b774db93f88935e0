"""PostgreSQL: article rows kept narrow, their larger values stored apart (TOAST)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:00:00

PostgreSQL only; nothing on SQLite.

A search counts its matches by outlet, date and language, so it reads the row of every
article it matches (archive.index.pgsearch). Bodies and vectors are stored apart already,
but each row still held its provenance, title, address and hashes inline: about 1 KB, so a
search that matched most of the archive read most of the table. With `toast_tuple_target`
at 128 bytes PostgreSQL compresses or moves a row's larger values out of line until the rest
fits, and a row takes about 200 bytes; reading a page of results reads those values back
for its ten articles only.

Rows written before this migration keep their layout until they are rewritten:
`VACUUM FULL articles` (which locks the table while it runs) narrows them all at once.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE articles SET (toast_tuple_target = 128)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE articles RESET (toast_tuple_target)")
