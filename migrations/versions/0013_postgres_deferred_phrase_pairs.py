"""PostgreSQL: whether a bulk ingest deferred the index of phrase pairs to its end

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 20:00:00

PostgreSQL only; nothing on SQLite.

Adding each article's phrase pairs (migration 0012) to the index as it is stored halves
the ingest at a million articles; building the index once over all of them is far cheaper.
`archive ingest --bulk` drops the index and builds it again when it ends
(archive/phrase_index.py). `search_state.phrase_index_deferred` records that the index is
missing for that reason rather than by the owner's choice (docs/deploy.md), so that after
an interrupted bulk ingest the next ingest, `archive optimize` or `archive check` knows to
build it, and an owner's dropped index stays dropped.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_state ADD COLUMN IF NOT EXISTS phrase_index_deferred "
               "boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_state DROP COLUMN IF EXISTS phrase_index_deferred")
