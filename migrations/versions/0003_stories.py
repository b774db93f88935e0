"""Stories: a story id on every article and MinHash band keys to find copies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 15:46:37

Existing articles get their story ids and keys computed by archive after the upgrade
(maintenance.assign_stories), since that needs the article text and the MinHash code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "story_keys",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name=op.f("fk_story_keys_article_id_articles"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "article_id", name=op.f("pk_story_keys")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_story_keys_article_id"), "story_keys", ["article_id"])
    # Plain ADD/DROP COLUMN, not batch mode: rebuilding `articles` would drop the FTS
    # triggers that migration 0002 put on it.
    op.add_column("articles", sa.Column("story_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_articles_story_id"), "articles", ["story_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_articles_story_id"), table_name="articles")
    op.execute("ALTER TABLE articles DROP COLUMN story_id")
    op.drop_index(op.f("ix_story_keys_article_id"), table_name="story_keys")
    op.drop_table("story_keys")
