"""PostgreSQL: a role that may only read, for `archive sql` to run statements as

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 00:00:00

PostgreSQL only; nothing on SQLite (`archive sql` guards a SQLite archive with an authorizer).

`archive_sql_reader_<database>`, NOLOGIN, may read every table and view of the archive
(and, through default privileges, the tables later migrations add); the upgrading role is
made a member so that it may switch to it. Created only when the upgrading role may create
roles (a superuser, or CREATEROLE); otherwise nothing is created and `archive sql` decides
at run time whether the connected role may run statements as itself (docs/deploy.md).
`archive db upgrade` repeats these steps each time (archive/sql_role.py), which is why the
migration calls the same code rather than a copy of it.

The downgrade revokes what was granted and drops the role when it may.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from archive import sql_role

    sql_role.ensure(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from archive import sql_role

    sql_role.remove(op.get_bind())
