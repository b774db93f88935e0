"""Boilerplate learned from the archive: counts of short lines per outlet

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "boilerplate_lines",
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("line_hash", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlets.id"],
                                name=op.f("fk_boilerplate_lines_outlet_id_outlets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("outlet_id", "line_hash", name=op.f("pk_boilerplate_lines")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("boilerplate_lines")
