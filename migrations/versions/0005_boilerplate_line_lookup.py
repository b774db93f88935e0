"""Boilerplate lines looked up by line: which outlets' pages share a dump's lines

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_boilerplate_lines_line_hash"), "boilerplate_lines", ["line_hash"])


def downgrade() -> None:
    op.drop_index(op.f("ix_boilerplate_lines_line_hash"), table_name="boilerplate_lines")
