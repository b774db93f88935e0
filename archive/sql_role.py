"""The role `archive sql` runs a PostgreSQL archive's statements as.

`archive sql` connects as whoever the archive's URL names, often the role that owns the
archive and sometimes a superuser, whose query could read the server's files
(`pg_read_file`), run programs or stop other sessions. So each database gets a role of its
own that may do nothing but read the archive's tables and views: `archive_sql_reader_` and
the database's name, NOLOGIN, created by migration 0009 (and again by `archive db upgrade`)
when the upgrading role may create roles. `archive sql` switches to it (`SET LOCAL ROLE`)
inside its read-only transaction; a superuser who does so loses its powers until the
transaction ends (archive/sql_postgres.py).

One role per database, not one for the server: a role that could read every archive of a
server would let a member of it, which the owner of one archive is, read the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

PREFIX = "archive_sql_reader_"
# PostgreSQL cuts longer names to this many bytes (NAMEDATALEN - 1).
NAME_BYTES = 63
# The schemas whose tables and views the role may read: the archive's own, and the views
# over its shards (archive/shards.py). A shard's foreign tables are not among them: a
# postgres_fdw user mapping exists for the role that attached the shard, which the views
# run as, not for this role.
SCHEMAS = ("public", "shards")
# Predefined roles whose members reach past the database: the server's files and programs,
# other sessions. A statement that runs with any of them (or as a superuser, or a role with
# REPLICATION, which may drop the replication slots standbys depend on) is not run.
POWERFUL_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program",
                  "pg_signal_backend", "pg_signal_autovacuum_worker")

logger = logging.getLogger(__name__)


def role_name(database: str) -> str:
    """The reader role of the database `database`, cut as PostgreSQL would cut it."""
    name = (PREFIX + database).encode("utf-8")[:NAME_BYTES]
    # A multi-byte character cut in half is dropped whole, as PostgreSQL does.
    return name.decode("utf-8", errors="ignore")


# Whether the connected role may `SET ROLE` to :r. From PostgreSQL 16 a membership may
# lack that option (the ADMIN-only one a role's creator gets does), so ask for it there.
_MAY_SET_ROLE = """
SELECT pg_has_role(current_user, :r, CASE WHEN current_setting('server_version_num')::int
                                           >= 160000 THEN 'SET' ELSE 'MEMBER' END)
"""


@dataclass(frozen=True, slots=True)
class ReaderRole:
    name: str
    exists: bool
    # Why it was not created, when it does not exist.
    missing_because: str | None = None


def ensure(connection: Connection) -> ReaderRole:
    """Create this database's reader role if it is missing and the connected role may
    create roles; grant it reading either way (idempotent). Runs in the caller's
    transaction."""
    database, user, superuser, createrole = connection.execute(text(
        "SELECT current_database(), current_user, rolsuper, rolcreaterole FROM pg_roles "
        "WHERE rolname = current_user")).one()
    name = role_name(database)
    role = _quoted(name)
    if not _exists(connection, name):
        if not (superuser or createrole):
            logger.info("no role %s: %s may not create roles", name, user)
            return ReaderRole(name, False, f"{user} may not create roles")
        connection.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    grant(connection)
    # Tables a later migration adds are readable as soon as they exist.
    connection.execute(text(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}"))
    if not superuser and not connection.execute(text(_MAY_SET_ROLE), {"r": name}).scalar_one():
        # `SET ROLE` needs membership; a superuser needs none. Granting it needs CREATEROLE
        # (and, from PostgreSQL 16, the ADMIN option its creator gets): without them
        # `archive sql` runs as this role itself, which is fine for an ordinary role.
        try:
            with connection.begin_nested():
                connection.execute(text(f"GRANT {role} TO CURRENT_USER"))
        except DBAPIError as exc:
            logger.info("%s cannot become %s: %s", user, name, exc.orig)
    return ReaderRole(name, True)


def grant(connection: Connection) -> None:
    """Let this database's reader role, if there is one, read every table and view of the
    archive's schemas that the connected role may grant reading of. Views that are
    dropped and made again (the shards') need this each time."""
    database = connection.execute(text("SELECT current_database()")).scalar_one()
    name = role_name(database)
    if not _exists(connection, name):
        return
    role = _quoted(name)
    for schema, in connection.execute(text(
            "SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname = ANY(:s) "
            "AND has_schema_privilege(oid, 'USAGE WITH GRANT OPTION') ORDER BY nspname"),
            {"s": list(SCHEMAS)}):
        connection.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
    relations = _readable(connection)
    if relations:
        connection.execute(text(f"GRANT SELECT ON {', '.join(relations)} TO {role}"))


def remove(connection: Connection) -> None:
    """Undo ensure(): revoke what the role was granted here, and drop it if this role may
    (a role that still holds privileges in another database is kept)."""
    database, superuser, createrole = connection.execute(text(
        "SELECT current_database(), rolsuper, rolcreaterole FROM pg_roles "
        "WHERE rolname = current_user")).one()
    name = role_name(database)
    if not _exists(connection, name):
        return
    role = _quoted(name)
    connection.execute(text(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM {role}"))
    relations = _readable(connection)
    if relations:
        connection.execute(text(f"REVOKE SELECT ON {', '.join(relations)} FROM {role}"))
    for schema, in connection.execute(text(
            "SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname = ANY(:s) "
            "AND has_schema_privilege(oid, 'USAGE WITH GRANT OPTION') ORDER BY nspname"),
            {"s": list(SCHEMAS)}):
        connection.execute(text(f"REVOKE USAGE ON SCHEMA {schema} FROM {role}"))
    if superuser or createrole:
        try:
            with connection.begin_nested():
                connection.execute(text(f"DROP ROLE {role}"))
        except DBAPIError as exc:
            logger.info("role %s kept: %s", name, exc.orig)


def _readable(connection: Connection) -> list[str]:
    """The tables and views of SCHEMAS whose reading the connected role may grant."""
    return list(connection.execute(text(
        "SELECT c.oid::regclass::text FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(:s) AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION') ORDER BY 1"),
        {"s": list(SCHEMAS)}).scalars())


def _exists(connection: Connection, name: str) -> bool:
    return connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                              {"r": name}).first() is not None


def _quoted(name: str) -> str:
    # Quoted whatever the name holds: a database's name may have any character.
    return '"' + name.replace('"', '""') + '"'
